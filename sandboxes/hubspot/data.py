"""Deterministic, realistic seed data for the HubSpot sandbox: owners, contacts, engagements.

Same ``seed`` and ``now`` → same portal, byte for byte. Contacts are ``leadsync.sandboxes.kit.people``
(five countries, shared company domains, some free mail, CEO to Student); lifecycle stages are mostly
lead/subscriber/empty; BANT answers, web analytics and conversions are filled on some. Many
contacts share a ``lastmodifieddate`` (bulk imports and workflow runs), so cursor tie-handling gets
exercised. Engagements (calls with HubSpot's disposition GUIDs, emails both ways, meetings, notes,
tasks) fall in the last 120 days and are associated to their contact.
"""

from __future__ import annotations

import random
from datetime import datetime

from leadsync.sandboxes.hubspot.common import iso_from_ms, ms_from_datetime
from leadsync.sandboxes.hubspot.schema import LIFECYCLE
from leadsync.sandboxes.hubspot.store import Store
from leadsync.sandboxes.kit.people import NEEDS, OWNER_NAMES, ascii_name, person, pick, weights, words

__all__ = ["CALL_DISPOSITIONS", "analytics", "contact_values", "seed_portal"]

DAY_MS = 86_400_000
# HubSpot's default call outcomes (hs_call_disposition values).
CALL_DISPOSITIONS = {
    "connected": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
    "no_answer": "73a0d17f-1163-4015-bdd5-ec830791da20",
    "left_voicemail": "b2cf5968-551e-4856-9783-52b3da59a7d0",
    "wrong_number": "17b47fee-58de-441e-a44c-c6300d46f273",
    "busy": "9d9162e7-6cf3-4944-bf63-4dff82258764",
    "left_live_message": "a4c4c377-d246-4b32-a13b-75a56a4cd0ff",
}


_STAGES = weights(
    "lead:38, subscriber:24, :14, marketingqualifiedlead:9, salesqualifiedlead:4, opportunity:5, customer:5, "
    "other:1"
)
_SOURCES = weights(
    "ORGANIC_SEARCH:30, PAID_SEARCH:12, EMAIL_MARKETING:10, SOCIAL_MEDIA:8, REFERRALS:10, DIRECT_TRAFFIC:15, "
    "OFFLINE:10, PAID_SOCIAL:5"
)
_PAGES = words(
    "/pricing /pricing / /product /blog/lead-scoring-guide /case-studies/logistics /integrations/hubspot "
    "/contact /webinars/pipeline-reviews /pricing?plan=enterprise"
)
_EVENTS = [
    "Newsletter signup",
    "Ebook download: CRM buyer's guide",
    "Case study download",
    "Demo request",
    "Webinar registration: Pipeline reviews",
    "Contact us",
    "Pricing request",
    "Free trial signup",
]
_DISPOSITION_W = weights(
    "connected:35, no_answer:30, left_voicemail:15, busy:7, wrong_number:5, left_live_message:8"
)
_TEAMS = [("101", "Enterprise"), ("102", "General"), ("103", "SMB")]
_VENDOR_SITE = "https://www.leadsync-demo.com"


def _owners(store: Store, rng: random.Random, count: int, now_ms: int) -> tuple[list[str], list[str]]:
    active: list[str] = []
    archived: list[str] = []
    for i in range(count):
        first, last = OWNER_NAMES[i % len(OWNER_NAMES)].split()
        oid, user_id = str(41_500_001 + i * 7), 9_100_001 + i
        gone = count >= 4 and i >= count - 2  # the last two have left the company
        team_id, team = _TEAMS[i % len(_TEAMS)]
        created = iso_from_ms(now_ms - rng.randint(400, 900) * DAY_MS)
        store.add_owner(
            {
                "id": oid,
                "email": f"{ascii_name(first)}.{ascii_name(last)}@leadsync-demo.com",
                "type": "PERSON",
                "firstName": first,
                "lastName": last,
                "userId": None if gone else user_id,
                "userIdIncludingInactive": user_id,
                "createdAt": created,
                "updatedAt": iso_from_ms(now_ms - rng.randint(1, 300) * DAY_MS),
                "archived": gone,
                "teams": [{"id": team_id, "name": team, "primary": True}],
            }
        )
        (archived if gone else active).append(oid)
    return active, archived


def contact_values(rng: random.Random, emails: set[str], stage: str) -> dict[str, str]:
    p = person(rng, emails)
    values = {
        "email": p.email,
        "firstname": p.first,
        "lastname": p.last,
        "jobtitle": p.title,
        "country": p.country,
        "city": p.city,
        "lifecyclestage": stage,
    }
    if p.with_company:
        values.update(company=p.company, industry=p.industry, numemployees=p.size)
    if p.with_website:
        values["website"] = f"https://www.{p.domain}"
    return values


def _engagement_stage(stage: str) -> int:
    order = ["", "subscriber", "lead", "other", "marketingqualifiedlead", "salesqualifiedlead", "opportunity"]
    return order.index(stage) if stage in order else 6


def analytics(rng: random.Random, values: dict[str, str], created: int, now_ms: int, stage: str) -> None:
    values["hs_analytics_source"] = pick(rng, _SOURCES)
    if rng.random() < 0.7:
        values["hs_analytics_last_url"] = _VENDOR_SITE + rng.choice(_PAGES)
        values["hs_analytics_last_visit_timestamp"] = iso_from_ms(rng.randint(created, now_ms))
    if rng.random() < (0.85 if _engagement_stage(stage) >= 4 else 0.55):
        first = rng.choice(_EVENTS[:3] + _EVENTS[4:])
        first_at = created + rng.randint(0, 3_600_000)
        recent, recent_at = first, first_at
        if rng.random() < 0.5:
            recent, recent_at = rng.choice(_EVENTS), rng.randint(first_at, now_ms)
        values.update(
            first_conversion_event_name=first,
            first_conversion_date=iso_from_ms(first_at),
            recent_conversion_event_name=recent,
            recent_conversion_date=iso_from_ms(recent_at),
        )


def _sales(
    rng: random.Random, values: dict[str, str], stage: str, owners: tuple[list[str], list[str]]
) -> None:
    level = _engagement_stage(stage)
    if level >= 2 and stage != "other":
        choices = [
            "NEW",
            "OPEN",
            "IN_PROGRESS",
            "ATTEMPTED_TO_CONTACT",
            "CONNECTED",
            "UNQUALIFIED",
            "BAD_TIMING",
            "",
        ]
        values["hs_lead_status"] = "OPEN_DEAL" if stage == "opportunity" else rng.choice(choices)
    active, archived = owners
    if active and rng.random() < (0.1, 0.1, 0.5, 0.2, 0.9, 0.95, 1.0)[level]:
        stale = archived and rng.random() < 0.03
        values["hubspot_owner_id"] = rng.choice(archived if stale else active)
    if rng.random() < (0.45 if level >= 4 else 0.15):
        values.update(
            budget_status=rng.choice(["approved", "estimating", "no_budget", "unknown"]),
            buying_role=rng.choice(
                ["economic_buyer", "technical_decision_maker", "decision_maker", "influencer", "end_user"]
            ),
            need=rng.choice(NEEDS),
            timeline=rng.choice(["this_quarter", "next_quarter", "this_year", "no_timeline"]),
        )


def _engagements(
    store: Store,
    rng: random.Random,
    contact: int,
    values: dict[str, str],
    created: int,
    now_ms: int,
    active: list[str],
) -> None:
    level = _engagement_stage(values.get("lifecyclestage", ""))
    count = rng.randint(0, 1) if level <= 1 else rng.randint(0, 3) if level <= 3 else rng.randint(2, 7)
    start = max(created, now_ms - 120 * DAY_MS)
    if start >= now_ms:
        return
    first = values["firstname"]
    for _ in range(count):
        ts = rng.randint(start, now_ms)
        owner = values.get("hubspot_owner_id") or (rng.choice(active) if active else "")
        kind = pick(rng, [("calls", 30), ("emails", 35), ("meetings", 10), ("notes", 15), ("tasks", 10)])
        props = {"hs_timestamp": iso_from_ms(ts), "hubspot_owner_id": owner}
        if kind == "calls":
            outcome = pick(rng, _DISPOSITION_W)
            long = outcome == "connected"
            props.update(
                hs_call_disposition=CALL_DISPOSITIONS[outcome],
                hs_call_status="COMPLETED",
                hs_call_direction="INBOUND" if rng.random() < 0.15 else "OUTBOUND",
                hs_call_duration=str(rng.randint(60_000, 1_800_000) if long else rng.randint(0, 30_000)),
                hs_call_title=f"Call with {first}",
            )
        elif kind == "emails":
            direction = pick(rng, [("EMAIL", 60), ("INCOMING_EMAIL", 35), ("FORWARDED_EMAIL", 5)])
            bounced = direction == "EMAIL" and rng.random() < 0.03
            props.update(
                hs_email_direction=direction,
                hs_email_status="BOUNCED" if bounced else "SENT",
                hs_email_subject=rng.choice(["Quick question", "Re: pricing", "Following up", "Demo"]),
            )
        elif kind == "meetings":
            outcome = pick(
                rng,
                [("COMPLETED", 70), ("NO_SHOW", 8), ("CANCELED", 7), ("RESCHEDULED", 5), ("SCHEDULED", 10)],
            )
            if outcome == "SCHEDULED":
                ts = now_ms + rng.randint(1, 14) * DAY_MS
            props.update(
                hs_timestamp=iso_from_ms(ts),
                hs_meeting_start_time=iso_from_ms(ts),
                hs_meeting_end_time=iso_from_ms(ts + 1_800_000),
                hs_meeting_outcome=outcome,
                hs_meeting_title=f"Discovery call: {values.get('company') or first}",
            )
        elif kind == "notes":
            props["hs_note_body"] = rng.choice(
                ["Interested, asked for pricing.", "Not the right person.", "Call back"]
            )
        else:
            done = ts < now_ms - DAY_MS and rng.random() < 0.6
            props.update(
                hs_task_subject=f"Follow up with {first}",
                hs_task_body="",
                hs_task_status="COMPLETED" if done else "NOT_STARTED",
                hs_task_type=rng.choice(["CALL", "EMAIL", "TODO"]),
            )
        rec = store.add(kind, {k: v for k, v in props.items() if v}, min(ts, now_ms), source="CRM_UI")
        store.link(contact, kind, rec.id)


def seed_portal(
    store: Store,
    contacts: int = 300,
    owners: int = 8,
    seed: int = 1,
    now: datetime | None = None,
    engagements: bool = True,
) -> None:
    """Fill an empty store; the same arguments always give the same portal."""
    rng = random.Random(seed)
    now_ms = ms_from_datetime(now) if now is not None else store.now_ms()
    pair = _owners(store, rng, owners, now_ms)
    # Workflow runs and imports touch many contacts at the same millisecond: lastmodifieddate ties.
    bulk = sorted(now_ms - rng.randint(1, 90 * DAY_MS) for _ in range(max(3, contacts // 25)))
    created_at = sorted(now_ms - rng.randint(3_600_000, 540 * DAY_MS) for _ in range(contacts))
    emails: set[str] = set()
    stage_order = [value for value, _ in LIFECYCLE]
    for i in range(contacts):
        if i and rng.random() < 0.1:
            created_at[i] = created_at[i - 1]  # one import, one createdate
        created = created_at[i]
        stage = pick(rng, _STAGES)
        values = contact_values(rng, emails, stage)
        analytics(rng, values, created, now_ms, stage)
        _sales(rng, values, stage, pair)
        later = [b for b in bulk if b >= created]
        modified = rng.choice(later) if later and rng.random() < 0.45 else rng.randint(created, now_ms)
        first_stage = "subscriber" if stage in ("subscriber", "other") else "lead" if stage else ""
        rec = store.add("contacts", {**values, "lifecyclestage": first_stage}, created, source="FORM")
        if stage not in ("", first_stage):
            steps = [stage]
            if stage != "other":
                steps = stage_order[stage_order.index(first_stage) + 1 : stage_order.index(stage) + 1]
            for n, step in enumerate(steps, 1):
                ts = created + (modified - created) * n // (len(steps) + 1)
                source = "CRM_UI" if rng.random() < 0.3 else "AUTOMATION_PLATFORM"
                store.set_values(
                    rec, {"lifecyclestage": step}, ts, source, "userId:9100001" if source == "CRM_UI" else ""
                )
        stamp = iso_from_ms(modified)
        rec.properties["lastmodifieddate"] = stamp
        rec.history["lastmodifieddate"] = [{"value": stamp, "timestamp": stamp, "sourceType": "CALCULATED"}]
        store.touched(rec, "lastmodifieddate")
        if engagements:
            _engagements(store, rng, rec.id, values, created, now_ms, pair[0])
