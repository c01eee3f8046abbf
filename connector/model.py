"""The canonical records of CONTRACT.md §1 and the stages and reason codes of §2."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import msgspec

__all__ = [
    "BUILTIN_ACTIVITY_TYPES",
    "BUILTIN_REASONS",
    "CONTACT_ACTIVITY_TYPES",
    "CONTACT_FIELDS",
    "CONTACT_TEXT_FIELDS",
    "CONTACT_TIME_FIELDS",
    "SALES_ACTIVITY_TYPES",
    "STAGES",
    "Activity",
    "Contact",
    "Owner",
]

STAGES = ("lead", "mql", "sql", "opportunity", "customer", "nurture", "disqualified")

CONTACT_ACTIVITY_TYPES = frozenset(
    {
        "page_view",
        "form_submission",
        "content_download",
        "webinar_attended",
        "demo_request",
        "email_open",
        "email_click",
        "email_reply",
        "meeting_booked",
        "unsubscribe",
        "email_bounce",
    }
)
SALES_ACTIVITY_TYPES = frozenset({"call", "email_sent", "meeting"})
BUILTIN_ACTIVITY_TYPES = CONTACT_ACTIVITY_TYPES | SALES_ACTIVITY_TYPES

# Built-in reason codes with the label written to a CRM when the rules file gives none.
BUILTIN_REASONS: dict[str, str] = {
    "student": "Student",
    "competitor": "Competitor",
    "bad_contact_info": "Bad contact info",
    "no_budget": "No budget",
    "not_decision_maker": "Not the decision maker",
    "no_need": "No need",
    "bad_timing": "Bad timing",
    "lost_to_competitor": "Lost to competitor",
    "price": "Price",
    "no_response": "No response",
    "inactive": "Inactive",
    "unsubscribed": "Unsubscribed",
    "spam": "Spam",
    "duplicate": "Duplicate",
}

# The text fields of a contact (CONTRACT.md §1), in the order the contract lists them.
CONTACT_TEXT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "title",
    "company",
    "industry",
    "country",
    "city",
    "lead_source",
    "domain",
    "owner_id",
    "disqualification_reason",
)
CONTACT_TIME_FIELDS = ("stage_changed_at", "mql_at", "sql_at", "assigned_at")

# Canonical contact fields a condition may name (anything else is a key of `properties`).
CONTACT_FIELDS = (
    "id",
    *CONTACT_TEXT_FIELDS,
    "employees",
    "created_at",
    "stage",
    "score",
    *CONTACT_TIME_FIELDS,
)


@dataclass(slots=True)
class Contact:
    """A person in the CRM, as the CRM holds it now."""

    id: str
    created_at: datetime
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company: str | None = None
    industry: str | None = None
    country: str | None = None
    city: str | None = None
    lead_source: str | None = None
    domain: str | None = None
    employees: int | None = None
    stage: str | None = None
    stage_changed_at: datetime | None = None
    score: float | None = None
    owner_id: str | None = None
    disqualification_reason: str | None = None
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    assigned_at: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.domain is None and self.email and "@" in self.email:
            self.domain = self.email.rsplit("@", 1)[1].strip().lower() or None
        elif self.domain is not None:
            self.domain = self.domain.strip().lower() or None

    def get(self, name: str) -> Any:
        """The value of a canonical field, else of a key of ``properties`` (None when absent)."""
        if name in _FIELD_SET:
            value = getattr(self, name)
            if name == "stage" and value is None:
                return "lead"
            return value
        return self.properties.get(name)


_FIELD_SET = frozenset(CONTACT_FIELDS)


_Id = Annotated[str, msgspec.Meta(min_length=1)]
_Zoned = Annotated[datetime, msgspec.Meta(tz=True)]


class Activity(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Something a contact did, or a sales touch done to them.

    A msgspec struct, not a dataclass: ``leadsync evaluate`` decodes millions of them straight
    from JSON Lines (and from its spill files) in C. ``gc=False``: they hold no cycles, and the
    cyclic collector would otherwise rescan every one of them, again and again, while they load.
    An unknown key, an empty id or a timestamp without a zone fails the decoding (the
    constraints bind only there), so that the careful parser names it (``leadsync.jsonl``).
    """

    id: _Id
    contact_id: _Id
    type: str
    at: _Zoned
    owner_id: str | None = None
    properties: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        """A key of ``properties``, or ``owner_id`` (None when absent)."""
        if name == "owner_id":
            return self.owner_id
        return self.properties.get(name)


@dataclass(slots=True)
class Owner:
    """A sales user leads can be routed to."""

    id: str
    name: str | None = None
    email: str | None = None
    active: bool = True
    teams: list[str] = field(default_factory=list)
    capacity_per_day: int | None = None
