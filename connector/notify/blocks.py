"""Slack messages in Block Kit: a notice or a digest as ``{"text": ..., "blocks": [...]}``.

``text`` is the fallback Slack shows in notifications and to screen readers; the blocks are a
header, the contact, the facts as fields, what to do and a button to the record. Slack's limits are
kept (https://docs.slack.dev/reference/block-kit/blocks): 50 blocks a message, a header's 150
characters, 10 fields of 2,000, a section's 3,000; ``&``, ``<`` and ``>`` in any text a contact or
a CRM wrote are escaped, so a name cannot become a link or a mention.
"""

from __future__ import annotations

from typing import Any

from leadsync.notify.notice import Digest, Notice, Words, digest_headline, words

__all__ = ["MAX_BLOCKS", "slack_digest", "slack_notice"]

MAX_BLOCKS = 50
_DIGEST_ITEMS = MAX_BLOCKS - 3  # the header, the "and N more" line and a divider


def escape(text: str) -> str:
    """Slack's mrkdwn escaping (https://docs.slack.dev/messaging/formatting-message-text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": False}


def _md(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, limit), "verbatim": True}


def _link(w: Words) -> str:
    title = escape(w.headline)
    return f"<{escape(w.link)}|{title}>" if w.link else title


def slack_notice(notice: Notice) -> dict[str, Any]:
    """The chat.postMessage / incoming-webhook body (without ``channel``) for one notice."""
    w = words(notice)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(w.headline, 150)},
        {"type": "section", "text": _md(f"*{escape(w.who)}*")},
    ]
    if w.facts:
        fields = [_md(f"*{escape(label)}*\n{escape(value)}", 2000) for label, value in w.facts[:10]]
        blocks.append({"type": "section", "fields": fields})
    blocks.append({"type": "section", "text": _md(escape(w.todo))})
    if w.link:
        button = {"type": "button", "text": _plain(w.link_label, 75), "url": _cut(w.link, 3000)}
        blocks.append({"type": "actions", "elements": [button]})
    blocks.append({"type": "context", "elements": [_md(escape(notice.key), 2000)]})
    return {"text": _cut(f"{w.headline} · {w.todo}", 3000), "blocks": blocks}


def slack_digest(digest: Digest) -> dict[str, Any]:
    """One message listing a digest's notices, each a line with its link and what to do."""
    head = digest_headline(digest)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(head, 150)}, {"type": "divider"}]
    for notice in digest.notices[:_DIGEST_ITEMS]:
        w = words(notice)
        blocks.append({"type": "section", "text": _md(f"*{_link(w)}*\n{escape(w.todo)}")})
    rest = len(digest.notices) - _DIGEST_ITEMS
    if rest > 0:
        blocks.append({"type": "context", "elements": [_md(f"+{rest} …")]})
    return {"text": head, "blocks": blocks}
