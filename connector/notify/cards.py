"""Microsoft Teams messages: Adaptive Cards (schema 1.4) in the message envelope a Teams Workflows
webhook takes (Office 365 connectors and their MessageCards are retired):

    {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
     "contentUrl": null, "content": {"type": "AdaptiveCard", "version": "1.4", ...}}]}

Text blocks render a subset of Markdown in Teams, so Markdown characters in what a contact or a
CRM wrote are escaped with a backslash: a company called ``*[x](http://evil)*`` shows as written.
"""

from __future__ import annotations

import re
from typing import Any

from leadsync.notify.notice import Digest, Notice, Words, digest_headline, words

__all__ = ["CARD_TYPE", "CARD_VERSION", "teams_digest", "teams_notice"]

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# The characters that make emphasis, code or a link ("[text](url)"); others are left as written.
_MARKDOWN = re.compile(r"([\\`*_\[\]~])")
_DIGEST_ITEMS = 50  # a Workflows message is at most 28 KB: 50 short entries stay well under it


def escape(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": escape(text), "wrap": True, **style}


def _envelope(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {"$schema": _SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if actions:
        card["actions"] = actions
    attachment = {"contentType": CARD_TYPE, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def _open(w: Words) -> list[dict[str, Any]]:
    return [{"type": "Action.OpenUrl", "title": w.link_label, "url": w.link}] if w.link else []


def teams_notice(notice: Notice) -> dict[str, Any]:
    """The Workflows webhook body for one notice."""
    w = words(notice)
    body = [
        _text(w.headline, size="Medium", weight="Bolder", style="heading"),
        _text(w.who, isSubtle=True, spacing="None"),
    ]
    if w.facts:
        facts = [{"title": escape(label), "value": escape(value)} for label, value in w.facts]
        body.append({"type": "FactSet", "facts": facts})
    body.append(_text(w.todo, weight="Bolder"))
    return _envelope(body, _open(w))


def teams_digest(digest: Digest) -> dict[str, Any]:
    """One card listing a digest's notices (a link to each record where there is one)."""
    body = [_text(digest_headline(digest), size="Medium", weight="Bolder", style="heading")]
    for notice in digest.notices[:_DIGEST_ITEMS]:
        w = words(notice)
        line = f"[{escape(w.headline)}]({w.link})" if w.link else escape(w.headline)
        body.append({"type": "TextBlock", "text": line, "wrap": True, "separator": True})
        body.append(_text(w.todo, isSubtle=True, spacing="None"))
    rest = len(digest.notices) - _DIGEST_ITEMS
    if rest > 0:
        body.append(_text(f"+{rest} …", isSubtle=True))
    return _envelope(body, [])
