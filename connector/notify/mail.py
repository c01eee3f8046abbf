"""E-mail messages: a notice or a digest as ``multipart/alternative``, plain text first and HTML
second (mail readers show the last part they can), every value HTML-escaped, and the subject kept
on one line (a CR or LF in a contact's name cannot add a header).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from leadsync.notify.notice import Digest, Notice, Words, digest_headline, words

__all__ = ["email_digest", "email_notice"]

_STYLE = "font-family:sans-serif;font-size:14px;color:#222"
_DIGEST_ITEMS = 500  # a digest e-mail lists this many, then says how many more


def _one_line(text: str) -> str:
    return " ".join(text.split())[:250]


def _message(subject: str, sender: str, to: Sequence[str], text: str, body_html: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _one_line(subject)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    msg.set_content(text)
    msg.add_alternative(
        f'<!doctype html><html><body style="{_STYLE}">{body_html}</body></html>', subtype="html"
    )
    return msg


def _text(w: Words, key: str) -> str:
    lines = [w.headline, w.who, ""]
    lines += [f"{label}: {value}" for label, value in w.facts]
    lines += ["", w.todo]
    if w.link:
        lines.append(f"{w.link_label}: {w.link}")
    lines += ["", f"-- leadsync {key}"]
    return "\n".join(lines) + "\n"


def _link(w: Words, text: str) -> str:
    if not w.link:
        return html.escape(text)
    return f'<a href="{html.escape(w.link, quote=True)}">{html.escape(text)}</a>'


def _html(w: Words, key: str) -> str:
    rows = "".join(
        f'<tr><th align="left" style="padding-right:12px">{html.escape(label)}</th>'
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in w.facts
    )
    parts = [f"<h2>{html.escape(w.headline)}</h2>", f"<p><strong>{html.escape(w.who)}</strong></p>"]
    if rows:
        parts.append(f"<table>{rows}</table>")
    parts.append(f"<p><strong>{html.escape(w.todo)}</strong></p>")
    if w.link:
        parts.append(f"<p>{_link(w, w.link_label)}</p>")
    parts.append(f'<p style="color:#888;font-size:12px">leadsync {html.escape(key)}</p>')
    return "".join(parts)


def email_notice(notice: Notice, sender: str, to: Sequence[str]) -> EmailMessage:
    """One notice as an e-mail from ``sender`` to ``to``."""
    w = words(notice)
    return _message(w.headline, sender, to, _text(w, notice.key), _html(w, notice.key))


def email_digest(digest: Digest, sender: str, to: Sequence[str]) -> EmailMessage:
    """A digest as one e-mail listing its notices, each with what to do and its link."""
    head = digest_headline(digest)
    listed = [words(n) for n in digest.notices[:_DIGEST_ITEMS]]
    rest = len(digest.notices) - len(listed)
    text = [head, ""]
    for w in listed:
        text += [f"* {w.headline}", f"  {w.todo}"] + ([f"  {w.link}"] if w.link else [])
    items = "".join(f"<li>{_link(w, w.headline)}<br>{html.escape(w.todo)}</li>" for w in listed)
    more = f"+{rest} …" if rest > 0 else ""
    text.append(more)
    body_html = f"<h2>{html.escape(head)}</h2><ul>{items}</ul><p>{html.escape(more)}</p>"
    return _message(head, sender, to, "\n".join(text) + "\n", body_html)
