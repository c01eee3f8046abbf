"""Seeding the Zoho sandbox's org: users, leads, contacts and their calls, meetings, tasks, notes.

People come from ``leadsync.sandboxes.kit.people`` (the same seed gives the same people as in the
other sandboxes). One ``random.Random(seed)`` draws everything in a fixed order and every time is
derived from ``now``, so a seed and a ``now`` give the same org, ids included. Activities link to a
lead by ``What_Id`` + ``$se_module: "Leads"`` and to a contact by ``Who_Id``; notes by
``Parent_Id`` + ``$se_module``. A few leads are converted (``Converted__s``), as a rep would have.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from leadsync.sandboxes.kit.people import NEEDS, OWNER_NAMES, Person, ascii_name, person, pick, weights
from leadsync.sandboxes.zoho.schema import BANT, CALL_RESULTS, LEAD_SOURCES
from leadsync.sandboxes.zoho.store import Org, Record

__all__ = ["DOMAIN", "account_for", "lead_values", "seed_org"]

DOMAIN = "leadsync-demo.com"
STATUS_WEIGHTS = (
    "Not Contacted:30, Attempted to Contact:14, Contacted:14, Contact in Future:6, Pre-Qualified:8, "
    "Not Qualified:6, Junk Lead:4, Lost Lead:4, Marketing Qualified:9, Sales Qualified:5"
)
SOURCE_WEIGHTS = ", ".join(
    f"{s}:{w}" for s, w in zip(LEAD_SOURCES, (3, 5, 2, 2, 3, 3, 1, 2, 4, 8, 6, 3), strict=True)
)
EMPLOYEES = {"5-25": 15, "25-50": 40, "50-100": 75, "100-500": 250, "500-1000": 750, "1000+": 2500}


def _users(org: Org, rng: random.Random, count: int, now: datetime) -> list[str]:
    """The integration user (an administrator, whose refresh token the sandbox hands out), then
    reps; the last two reps are deactivated and one more is not confirmed yet."""
    profiles = {"Administrator": org.ids(), "Standard": org.ids()}
    roles = {"CEO": org.ids(), "Manager": org.ids(), "Sales Rep": org.ids()}
    names = [("Leadsync", "Integration"), *(n.split(" ", 1) for n in OWNER_NAMES)][: max(count, 2)]
    start = now - timedelta(days=400)
    out: list[str] = []
    for i, (first, last) in enumerate(names):
        uid = org.ids()
        admin = i == 0
        role = "CEO" if admin else "Manager" if i == 1 else "Sales Rep"
        status = "disabled" if i >= len(names) - 2 and i > 1 else "active"
        created = start + timedelta(days=i * 3, minutes=rng.randint(0, 600))
        org.users[uid] = {
            "id": uid,
            "zuid": str(60_000_000 + int(uid[-6:])),
            "first_name": first,
            "last_name": last,
            "email": f"{ascii_name(first)}.{ascii_name(last)}@{DOMAIN}",
            "status": status,
            "confirm": not (i == len(names) - 3 and i > 1),
            "role": {"name": role, "id": roles[role]},
            "profile": {
                "name": "Administrator" if admin else "Standard",
                "id": profiles["Administrator" if admin else "Standard"],
            },
            "country": "IN" if admin else rng.choice(["ES", "FR", "DE", "US", "GB"]),
            "time_zone": "Asia/Kolkata",
            "created_time": created,
            "Modified_Time": created if status == "active" else now - timedelta(days=rng.randint(5, 60)),
            "created_by": out[0] if out else uid,
            "reporting_to": out[1] if len(out) > 1 and role == "Sales Rep" else None,
        }
        out.append(uid)
    org.api_user = out[0]
    return out


def lead_values(p: Person, rng: random.Random, owner: str, statuses: list[str]) -> Record:
    status = pick(rng, weights(STATUS_WEIGHTS))
    if status not in statuses:
        status = rng.choice(statuses)
    return {
        "First_Name": p.first,
        "Last_Name": p.last,
        "Email": p.email,
        "Phone": f"+{rng.randint(30, 49)} {rng.randint(600, 699)} {rng.randint(100000, 999999)}",
        "Company": p.company if p.with_company else None,
        "Designation": p.title or None,
        "Website": f"https://www.{p.domain}" if p.with_website else None,
        "Lead_Status": status,
        "Lead_Source": pick(rng, weights(SOURCE_WEIGHTS)),
        "Industry": p.industry if p.with_company else None,
        "No_of_Employees": EMPLOYEES.get(p.size) if p.with_company else None,
        "City": p.city,
        "Country": p.country,
        "Description": rng.choice(NEEDS) or None,
        "Email_Opt_Out": rng.random() < 0.05,
        "Owner": owner,
    }


def _bant(rng: random.Random, status: str | None) -> Record:
    """BANT answers on some records: most qualified leads, a few others."""
    chance = {"Marketing Qualified": 0.6, "Sales Qualified": 0.7, "Contacted": 0.25}.get(status or "", 0.08)
    if rng.random() >= chance:
        return {}
    values: Record = {name: rng.choice(options) for name, options in BANT.items()}
    values["Need"] = rng.choice(NEEDS) or None
    return values


def _activities(
    org: Org, rng: random.Random, module: str, rec: Record, reps: list[str], now: datetime
) -> None:
    """Calls, a meeting, tasks and notes on one lead or contact, after it was created."""
    link: dict[str, Any] = (
        {"What_Id": rec["id"], "$se_module": "Leads"}
        if module == "Leads"
        else {"Who_Id": rec["id"], "$se_module": None}
    )
    name = org.display(module, rec)
    created: datetime = rec["Created_Time"]
    span = max(60, int((now - created).total_seconds()))

    def when() -> datetime:
        return created + timedelta(seconds=rng.randint(60, span))

    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        at, owner = when(), rng.choice(reps)
        seconds = rng.randint(0, 1500)
        values = {
            "Subject": f"Call with {name}",
            "Call_Type": rng.choice(["Outbound", "Outbound", "Inbound", "Missed"]),
            "Call_Start_Time": at,
            "Call_Duration": f"{seconds // 60:02d}:{seconds % 60:02d}",
            "Call_Duration_in_seconds": seconds,
            "Call_Purpose": rng.choice(["Prospecting", "Demo", "Negotiation"]),
            "Call_Result": rng.choice(CALL_RESULTS),
            "Outgoing_Call_Status": "Completed",
            "Owner": owner,
            **link,
        }
        org.insert("Calls", values, owner, at + timedelta(seconds=seconds))
    if rng.random() < 0.25:
        at, owner = when(), rng.choice(reps)
        values = {
            "Event_Title": f"Demo for {name}",
            "Start_DateTime": at,
            "End_DateTime": at + timedelta(minutes=45),
        }
        values.update(All_day=False, Venue="Zoom", Owner=owner, Participants=[], **link)
        org.insert("Events", values, owner, at - timedelta(days=2))
    for _ in range(rng.choice([0, 1, 1, 2])):
        at, owner = when(), rng.choice(reps)
        done = at < now - timedelta(days=3) and rng.random() < 0.6
        values = {"Subject": rng.choice(["Follow up", "Send proposal", "Qualify budget", "Book a demo"])}
        values.update(Due_Date=(at + timedelta(days=2)).date().isoformat(), Owner=owner, **link)
        values.update(
            Status="Completed" if done else "Not Started", Priority=rng.choice(["High", "Normal", "Low"])
        )
        values["Closed_Time"] = at + timedelta(days=1) if done else None
        org.insert("Tasks", values, owner, at)
    if rng.random() < 0.3:
        at, owner = when(), rng.choice(reps)
        values = {"Note_Title": "Discovery notes", "Note_Content": rng.choice([n for n in NEEDS if n])}
        values.update(Parent_Id=rec["id"], **{"$se_module": module}, Owner=owner)
        org.insert("Notes", values, owner, at)


def account_for(org: Org, name: str, by: str, at: datetime | None = None) -> str:
    """The id of the account called ``name``, created when there is none."""
    for rec in org.records["Accounts"].values():
        if rec["Account_Name"] == name:
            return str(rec["id"])
    return str(org.insert("Accounts", {"Account_Name": name, "Owner": by}, by, at)["id"])


def seed_org(
    org: Org,
    *,
    leads: int,
    contacts: int,
    users: int,
    seed: int,
    now: datetime,
    statuses: list[str],
    activities: bool,
) -> None:
    rng = random.Random(seed)
    emails: set[str] = set()
    uids = _users(org, rng, users, now)
    reps = [u for u in uids[1:] if org.active(u)]
    everyone = uids[1:]
    made: list[tuple[str, Record]] = []
    for module, count in (("Leads", leads), ("Contacts", contacts)):
        for i in range(count):
            p = person(rng, emails)
            age = timedelta(days=rng.uniform(1, 180))
            created = (now - age).replace(microsecond=0)
            if i % 25 == 3 and made:  # an import: several records share a stamp
                created = made[-1][1]["Created_Time"]
            owner = rng.choice(everyone) if rng.random() < 0.1 else rng.choice(reps)
            if module == "Leads":
                values = lead_values(p, rng, owner, statuses)
            else:
                values = {
                    "First_Name": p.first,
                    "Last_Name": p.last,
                    "Email": p.email,
                    "Title": p.title or None,
                }
                values.update(Mailing_City=p.city, Mailing_Country=p.country, Department=None, Owner=owner)
                if p.with_company:
                    values["Account_Name"] = account_for(org, p.company, uids[0], created)
                values["Lead_Source"] = pick(rng, weights(SOURCE_WEIGHTS))
            values.update(_bant(rng, values.get("Lead_Status")))
            rec = org.insert(module, values, uids[0], created)
            touched = created + timedelta(seconds=rng.randint(0, int((now - created).total_seconds()) // 2))
            rec.update(Modified_Time=touched, Modified_By=owner if org.active(owner) else uids[0])
            made.append((module, rec))
    for module, rec in made:
        if activities:
            _activities(org, rng, module, rec, reps, now)
        if module == "Leads" and rng.random() < 0.04:
            rec.update(Converted__s=True, Converted_Date_Time=rec["Modified_Time"])
    last: dict[str, datetime] = {}
    for m in ("Calls", "Events", "Tasks"):
        for a in org.records[m].values():
            for rid in (a.get("What_Id"), a.get("Who_Id")):
                if rid:
                    last[rid] = max(last.get(rid, a["Modified_Time"]), a["Modified_Time"])
    for _, rec in made:
        rec["Last_Activity_Time"] = last.get(rec["id"])
