"""Generic webhook bodies: a notice or a digest as JSON, with the data a program needs (ids,
timestamps in UTC, the score and its rules) and the same words the chat messages use.

    {"type": "notice", "key": ..., "trigger": ..., "recipients": [...],
     "contact": {"id", "name", "email", "company", "title", "stage", "record_url"},
     "score": 130, "top_rules": [{"rule", "points"}], "bant": {...},
     "owner": {"id", "name"}, "sla": {"due_at", "timezone", "attempts", "attempts_max"},
     "text": {"headline", "todo"}}
    {"type": "digest", "key": ..., "channel": ..., "notices": [<notice>, ...]}
"""

from __future__ import annotations

from typing import Any

from leadsync.notify.notice import Digest, Notice, words
from leadsync.timeutil import format_ts

__all__ = ["webhook_digest", "webhook_notice"]


def webhook_notice(notice: Notice) -> dict[str, Any]:
    w = words(notice)
    contact = {
        "id": notice.contact_id,
        "name": notice.name,
        "email": notice.email,
        "company": notice.company,
        "title": notice.title,
        "stage": notice.stage,
        "record_url": notice.record_url,
    }
    sla = {
        "due_at": format_ts(notice.due_at),
        "timezone": notice.timezone,
        "attempts": notice.attempts,
        "attempts_max": notice.attempts_max,
    }
    return {
        "type": "notice",
        "key": notice.key,
        "trigger": notice.trigger,
        "recipients": list(notice.recipients),
        "contact": contact,
        "score": notice.score,
        "top_rules": [{"rule": h.rule, "points": h.points} for h in notice.top_rules],
        "bant": dict(notice.bant),
        "owner": {"id": notice.owner_id, "name": notice.owner_name},
        "sla": sla,
        "text": {"headline": w.headline, "todo": w.todo},
    }


def webhook_digest(digest: Digest) -> dict[str, Any]:
    return {
        "type": "digest",
        "key": digest.key,
        "channel": digest.channel,
        "notices": [webhook_notice(n) for n in digest.notices],
    }
