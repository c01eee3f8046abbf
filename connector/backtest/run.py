"""One backtest: every contact replayed under NEW and the baseline, routed, and tallied."""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from leadsync.backtest.inputs import Outcome
from leadsync.backtest.replay import Replay, Replayer, fresh_lead, history_at, sorted_activities
from leadsync.backtest.tally import Contacted, Period, side_numbers
from leadsync.model import CONTACT_FIELDS, Activity, Contact, Owner
from leadsync.report.inputs import Records
from leadsync.report.tally import source_of
from leadsync.report.window import local_date, month_key
from leadsync.rules.compiled import Rules
from leadsync.rules.routing import Router, RoutingIndex, RoutingState
from leadsync.rules.scoring import score_contact
from leadsync.timeutil import EARLIEST, format_ts

__all__ = ["MAX_LISTED", "Playbook", "backtest", "leakage_fields"]

MAX_LISTED = 200  # contacts gaining or losing a handoff, listed (all are counted)
_TODAY_ONLY = (
    "stage",
    "stage_changed_at",
    "score",
    "owner_id",
    "disqualification_reason",
    "mql_at",
    "sql_at",
    "assigned_at",
)


@dataclass(frozen=True)
class Playbook:
    label: str  # "new" or "baseline"
    rules: Rules


def _fields(cond: Any, out: set[str]) -> None:
    """The contact fields a condition reads (not inside an activity's ``where``)."""
    if isinstance(cond, dict):
        if isinstance(cond.get("field"), str):
            out.add(cond["field"])
        for key, value in cond.items():
            if key not in ("where", "field"):
                _fields(value, out)
    elif isinstance(cond, list):
        for value in cond:
            _fields(value, out)


def leakage_fields(rules: Rules) -> list[str]:
    """Fields the rules read whose past values the records do not hold, and which sales may
    have filled in after the handoff: the SQL rule's (BANT answers), custom properties read by
    fit or disqualify rules, and the CRM's own state fields (stage, owner...) read anywhere."""
    src = rules.source
    named: dict[str, str] = {}
    if src.stages is not None and src.stages.sql is not None:
        found: set[str] = set()
        _fields(list(src.stages.sql.bant.values()), found)
        named.update(dict.fromkeys(sorted(found), "sql"))
    for where, conds in (
        ("fit", [r.if_ for r in (src.scoring.fit if src.scoring else [])]),
        ("disqualify", [r.if_ for r in src.disqualify]),
    ):
        found = set()
        _fields(conds, found)
        for name in sorted(found):
            if name not in CONTACT_FIELDS or name in _TODAY_ONLY:
                named.setdefault(name, where)
    return [f"{name} ({where})" for name, where in named.items()]


def _differences(
    books: Sequence[Playbook], contact: Contact, acts: Sequence[Activity], r: Sequence[Replay], who: int
) -> list[str]:
    """Why the playbook ``who`` hands the contact off and the other does not, at that moment."""
    other = 1 - who
    t = r[who].handoff_at
    assert t is not None
    reasons: list[str] = []
    if r[who].kind == "sql":
        reasons.append(f"{books[who].label}: the SQL rule holds")
    if r[other].disqualified_at is not None:
        when = format_ts(r[other].disqualified_at)
        reasons.append(f"{books[other].label}: disqualified ({r[other].reason}) at {when}")
    scores = []
    for book in books:
        history = history_at(book.rules, acts, t)
        scores.append(score_contact(book.rules, contact, history, t))
    points = [dict(s.breakdown) for s in scores]
    for name in sorted(set(points[0]) | set(points[1]), key=lambda n: (n == "decay", n)):
        a, b = points[0].get(name, 0.0), points[1].get(name, 0.0)
        if a != b:
            reasons.append(f"{name}: {b:+g} -> {a:+g}")
    bars = [b.rules.mql.score_at_least if b.rules.mql else None for b in books]
    if bars[0] != bars[1]:
        reasons.append(f"MQL bar: {bars[1]} -> {bars[0]}")
    reasons.append(f"score {scores[1].total:g} -> {scores[0].total:g}")
    return reasons


def _route(
    books: Sequence[Playbook],
    cohort: list[Contacted],
    contacts: Sequence[Contact],
    owners: Mapping[str, Owner],
) -> None:
    """Routing at each handoff, in order of time, from an empty rotation (owners kept today are
    the account matches'); fills ``Contacted.owners``."""
    by_id = {c.id: c for c in contacts}
    for c in cohort:
        c.owners = (None,) * len(books)
    for side, book in enumerate(books):
        rules = book.rules
        index = RoutingIndex.of(contacts, rules.calendar.tz)
        state = RoutingState()
        order = sorted(
            (c for c in cohort if c.replays[side].handoff_at is not None),
            key=lambda c: (c.replays[side].handoff_at, c.id),
        )
        for c in order:
            r = c.replays[side]
            assert r.handoff_at is not None
            router = Router(index, owners, r.handoff_at, state)
            fresh = fresh_lead(by_id[c.id])
            chosen = r.pool
            owner, _ = router.route(fresh, rules.account_match, rules.pools, lambda pool: pool is chosen)  # noqa: B023
            c.owners = tuple(owner if i == side else o for i, o in enumerate(c.owners))


def _loads(cohort: Sequence[Contacted], side: int, tz: Any) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], int] = {}
    for c in cohort:
        h = c.replays[side].handoff_at
        if h is not None:
            key = (c.owners[side] or "(unassigned)", month_key(local_date(h, tz)))
            counts[key] = counts.get(key, 0) + 1
    return [{"owner": o, "month": m, "handoffs": n} for (o, m), n in sorted(counts.items())]


def backtest(
    books: Sequence[Playbook],
    records: Records,
    outcomes: Mapping[str, Outcome],
    period: Period,
    until: datetime,
) -> dict[str, Any]:
    """Replay every contact created in the period under each playbook and count (README)."""
    replayers = [Replayer(b.rules) for b in books]
    start_day, tz = period.start, period.tz
    cohort: list[Contacted] = []
    changes: list[dict[str, Any]] = []
    counts = {"gains": 0, "losses": 0}
    computed = period.as_of is None
    data_end = max((o.at for o in outcomes.values()), default=EARLIEST)
    enabled = gc.isenabled()
    gc.disable()  # many small objects and no cycles (see leadsync.evaluate)
    try:
        for contact in sorted(records.contacts, key=lambda c: c.id):
            acts = list(records.activities_of(contact.id))
            if acts and computed:
                data_end = max(data_end, max(a.at for a in acts))
            created = local_date(contact.created_at, tz)
            if not start_day <= created <= period.end:
                continue
            fresh = fresh_lead(contact)
            acts = sorted_activities(acts)
            outcome = outcomes.get(contact.id)
            won_at = outcome.at if outcome is not None and outcome.outcome == "won" else None
            replays = tuple(rp.replay(fresh, acts, until, won_at) for rp in replayers)
            cohort.append(Contacted(contact.id, contact.created_at, source_of(contact), won_at, replays))
            if len(books) == 2 and (replays[0].handoff_at is None) != (replays[1].handoff_at is None):
                who = 0 if replays[0].handoff_at is not None else 1
                counts["gains" if who == 0 else "losses"] += 1
                if len(changes) < MAX_LISTED:
                    changes.append(
                        {
                            "contact_id": contact.id,
                            "change": "gains" if who == 0 else "loses",
                            "handoff_at": format_ts(replays[who].handoff_at),
                            "won_at": format_ts(won_at),
                            "why": _differences(books, fresh, acts, replays, who),
                        }
                    )
            for r in replays:
                r.engine = None  # the breakdown served the differences; free it
    finally:
        if enabled:
            gc.enable()
    if computed:
        period = replace(period, as_of=data_end)
    if records.owners is not None:
        _route(books, cohort, records.contacts, records.owners)
    sides = []
    for side, book in enumerate(books):
        rules = book.rules
        bar = rules.mql.score_at_least if rules.mql else None
        commitments = rules.source.commitments
        numbers = side_numbers(
            cohort, side, bar, commitments.marketing_mqls_per_month if commitments else None, period
        )
        numbers["label"] = book.label
        numbers["rules"] = rules.file
        numbers["owners"] = _loads(cohort, side, tz) if records.owners is not None else None
        numbers["leakage"] = leakage_fields(rules)
        sides.append(numbers)
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "window_days": period.window.days,
        "as_of": format_ts(period.as_of),
        "playbooks": sides,
        "changes": {**counts, "listed": changes},
    }
