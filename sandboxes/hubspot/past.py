"""The demo portal's past: ``leadsync.sandboxes.kit.history``'s plan written as HubSpot keeps it.

Each planned contact is created at its time with its "Original Traffic Source"; its handoff sets the
lifecycle stage and the ``leadsync_*`` properties leadsync writes (``leadsync_mql_at``, the owner,
``leadsync_assigned_at``), later stages are moved as reps and workflows move them (nurture = Lead +
Bad Timing, disqualified = Other + Unqualified, with ``leadsync_reason``), and each sales touch is a
call or a one-to-one e-mail engagement associated with the contact, logged by its owner.
"""

from __future__ import annotations

import random
from datetime import datetime

from leadsync.sandboxes.hubspot.common import Record, iso_from_ms, ms_from_datetime
from leadsync.sandboxes.hubspot.data import CALL_DISPOSITIONS, analytics, contact_values
from leadsync.sandboxes.hubspot.store import Store
from leadsync.sandboxes.kit.history import Past, Source, Touch, past

__all__ = ["SOURCES", "seed_past"]

SOURCES = [
    Source("PAID_SOCIAL", 30, "empty"),
    Source("ORGANIC_SEARCH", 22, "fair"),
    Source("PAID_SEARCH", 16, "thin"),
    Source("EMAIL_MARKETING", 10, "fair"),
    Source("OFFLINE", 8, "good"),
    Source("REFERRALS", 7, "best"),
    Source("DIRECT_TRAFFIC", 7, "good"),
]
# What the demo's playbook (smarketing-2h) maps as an alias, as a rep types it.
ALIASES = {"no_response": "no contesta"}
_STEP = {
    "mql": {"lifecyclestage": "marketingqualifiedlead"},
    "sql": {"lifecyclestage": "salesqualifiedlead"},
    "opportunity": {"lifecyclestage": "opportunity"},
    "customer": {"lifecyclestage": "customer"},
    "nurture": {"lifecyclestage": "lead", "hs_lead_status": "BAD_TIMING"},
    "disqualified": {"lifecyclestage": "other", "hs_lead_status": "UNQUALIFIED"},
}


def seed_past(
    store: Store, rng: random.Random, count: int, now: datetime, owners: list[str], emails: set[str]
) -> None:
    """Add ``count`` contacts with the history ``kit.history.past`` plans for them."""
    for p in past(rng, count, now, SOURCES, len(owners), ALIASES):
        _contact(store, rng, p, owners, emails, now)


def _contact(
    store: Store, rng: random.Random, p: Past, owners: list[str], emails: set[str], now: datetime
) -> None:
    values = contact_values(rng, emails, "lead")
    created = ms_from_datetime(p.created_at)
    # What the contact did (visits, forms) happened before sales took it over.
    analytics(rng, values, created, ms_from_datetime(p.mql_at or p.stage_changed_at or now), "lead")
    values["hs_analytics_source"] = p.source
    rec = store.add("contacts", values, created, source="FORM")
    for at, stage in p.steps:
        ts = ms_from_datetime(at)
        change = dict(_STEP[stage])
        if stage == "mql" and p.owner is not None and p.mql_at is not None:
            stamp = iso_from_ms(ts)
            change.update(leadsync_mql_at=stamp, hubspot_owner_id=owners[p.owner], leadsync_assigned_at=stamp)
        elif stage == "sql":
            change["leadsync_sql_at"] = iso_from_ms(ts)
        if p.reason is not None and stage == p.stage:
            change["leadsync_reason"] = p.reason
        if stage == "nurture":  # back from a later stage: HubSpot needs the stage cleared first
            store.set_values(rec, {"lifecyclestage": ""}, ts, "CRM_UI", "userId:9100001")
        by_rep = stage in ("opportunity", "customer", "nurture", "disqualified")
        store.set_values(rec, change, ts, *(("CRM_UI", "userId:9100001") if by_rep else ("INTEGRATION", "")))
    for touch in p.touches:
        _touch(store, rec, touch, owners[p.owner or 0], values["firstname"])


def _touch(store: Store, contact: Record, touch: Touch, owner: str, first: str) -> None:
    ts = ms_from_datetime(touch.at)
    props = {"hs_timestamp": iso_from_ms(ts), "hubspot_owner_id": owner}
    if touch.kind == "call":
        outcome = "connected" if touch.connected else "no_answer"
        props.update(
            hs_call_disposition=CALL_DISPOSITIONS[outcome],
            hs_call_status="COMPLETED",
            hs_call_direction="OUTBOUND",
            hs_call_duration=str(420_000 if touch.connected else 15_000),
            hs_call_title=f"Call with {first}",
        )
    else:
        props.update(hs_email_direction="EMAIL", hs_email_status="SENT", hs_email_subject="Following up")
    kind = "calls" if touch.kind == "call" else "emails"
    engagement = store.add(kind, props, ts, source="CRM_UI")
    store.link(contact.id, kind, engagement.id)
