"""What a notification says, before any channel's format: the ``Notice`` the rules engine fires
(built by the lead's wiring from a decision), a ``Digest`` of several for one channel, and the
words both are written in (``Words``), shared by every format so that Slack, Teams, e-mail and a
webhook say the same thing.

A person must be able to act on a notice alone: who (name, company, title), why now (the trigger;
for MQL and SQL the score with its top rules and the BANT answers), what to do by when (the SLA due
time in the owner's time zone, attempts so far), and a link to the record in the CRM. Labels
(``Notice.labels``) replace the English words, so notices read in the language of the rules' labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_LABELS", "Digest", "Notice", "RuleHit", "Words", "digest_headline", "due_text", "words"]

# Every word a message uses; a notice's ``labels`` may replace any of them (same keys).
DEFAULT_LABELS: dict[str, str] = {
    "trigger.stage_mql": "New MQL",
    "trigger.stage_sql": "New SQL",
    "trigger.assigned": "Lead assigned to you",
    "trigger.sla_due_soon": "First touch due soon",
    "trigger.sla_breached": "SLA breached: no first touch yet",
    "trigger.sla_exhausted": "SLA attempts exhausted: lead recycled",
    "score": "Score",
    "top_rules": "Top rules",
    "bant": "BANT",
    "stage": "Stage",
    "owner": "Owner",
    "due": "First touch due",
    "attempts": "Attempts so far",
    "todo": "What to do",
    "todo.first_touch": "Make the first touch (call or e-mail) before the due time.",
    "todo.breached": "The first touch is overdue: call now, or reassign the lead.",
    "todo.exhausted": "No attempt reached the lead; it goes back to marketing.",
    "todo.review": "Review the lead in the CRM.",
    "open_record": "Open in CRM",
    "digest": "notices",
    "unknown": "(unknown)",
}


@dataclass(frozen=True)
class RuleHit:
    """One scoring rule that counted towards the score (its label or id, and its points)."""

    rule: str
    points: float


@dataclass(frozen=True)
class Notice:
    """One notification to send, under its exactly-once ``key`` (CONTRACT §8)."""

    key: str
    trigger: str  # stage_mql, stage_sql, assigned, sla_due_soon, sla_breached, sla_exhausted, ...
    recipients: tuple[str, ...]  # "owner:ID" and "channel:NAME", in the rules' order
    contact_id: str
    name: str | None = None
    email: str | None = None
    company: str | None = None
    title: str | None = None
    stage: str | None = None
    score: float | None = None
    top_rules: tuple[RuleHit, ...] = ()
    bant: Mapping[str, str] = field(default_factory=dict, hash=False)
    owner_id: str | None = None
    owner_name: str | None = None
    due_at: datetime | None = None
    timezone: str | None = None  # the owner's (else the rules') IANA zone the due time is shown in
    attempts: int | None = None
    attempts_max: int | None = None
    record_url: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Digest:
    """Several notices due for one channel in one run, sent as one message listing them."""

    channel: str
    notices: tuple[Notice, ...]

    @property
    def key(self) -> str:
        """A key of its own (its first and last notices'), for the outbox row that sends it."""
        return f"digest:{self.channel}:{self.notices[0].key}..{self.notices[-1].key}"


@dataclass(frozen=True)
class Words:
    """A notice's content as text, ready for any format (nothing escaped yet)."""

    headline: str  # "New SQL: Ada Lovelace (Acme)"
    who: str  # "Ada Lovelace · CTO · Acme"
    facts: tuple[tuple[str, str], ...]  # (label, value): score, top rules, BANT, owner, due, attempts
    todo: str
    link_label: str
    link: str | None


def _label(notice: Notice, key: str) -> str:
    return notice.labels.get(key) or DEFAULT_LABELS.get(key) or key


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def due_text(due_at: datetime, zone: str | None) -> str:
    """``2026-12-08 14:30 Europe/Madrid (Tue)``: the due time in the owner's own terms."""
    try:
        tz = ZoneInfo(zone) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = UTC, None
    local = due_at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {zone or 'UTC'} ({local:%a})"


def _todo(notice: Notice) -> str:
    key = {
        "sla_breached": "todo.breached",
        "sla_exhausted": "todo.exhausted",
    }.get(notice.trigger, "todo.first_touch" if notice.due_at else "todo.review")
    return _label(notice, key)


def words(notice: Notice) -> Words:
    """What ``notice`` says, in its labels' language."""
    unknown = _label(notice, "unknown")
    name = notice.name or notice.email or notice.contact_id or unknown
    trigger = _label(notice, f"trigger.{notice.trigger}")
    headline = f"{trigger}: {name}" + (f" ({notice.company})" if notice.company else "")
    who = " · ".join(p for p in (name, notice.title, notice.company) if p)
    facts: list[tuple[str, str]] = []
    if notice.score is not None:
        facts.append((_label(notice, "score"), _number(notice.score)))
    if notice.top_rules:
        hits = ", ".join(
            f"{h.rule} ({'+' if h.points >= 0 else ''}{_number(h.points)})" for h in notice.top_rules
        )
        facts.append((_label(notice, "top_rules"), hits))
    if notice.bant:
        facts.append((_label(notice, "bant"), "; ".join(f"{k}: {v}" for k, v in notice.bant.items())))
    if notice.stage:
        facts.append((_label(notice, "stage"), notice.stage))
    if notice.owner_name or notice.owner_id:
        facts.append((_label(notice, "owner"), notice.owner_name or notice.owner_id or unknown))
    if notice.due_at is not None:
        facts.append((_label(notice, "due"), due_text(notice.due_at, notice.timezone)))
    if notice.attempts is not None:
        of = f" / {notice.attempts_max}" if notice.attempts_max is not None else ""
        facts.append((_label(notice, "attempts"), f"{notice.attempts}{of}"))
    return Words(headline, who, tuple(facts), _todo(notice), _label(notice, "open_record"), notice.record_url)


def digest_headline(digest: Digest) -> str:
    """``12 notices for #sales-leads``, in the first notice's labels' language."""
    first = digest.notices[0]
    return f"{len(digest.notices)} {_label(first, 'digest')}: {digest.channel}"
