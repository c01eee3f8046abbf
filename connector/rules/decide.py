"""The decision procedure of CONTRACT.md §4, step by step. Pure: ``now`` is a parameter.

``decide_all`` decides every contact of a run. Steps 1-7 and 9-11 look at one contact; step 8
(routing) looks at all new MQLs and SQLs in order, so contacts that need routing wait for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from leadsync.decision import Action, Conflict, Decision, LastWritten, SlaState
from leadsync.model import Activity, Contact, Owner
from leadsync.rules.actionrules import STAGE_TRIGGERS
from leadsync.rules.compiled import MqlRule, PoolRule, Rules, SlaRule, SqlRule
from leadsync.rules.history import CHRONOLOGICAL, History
from leadsync.rules.notices import NOBODY, Audience
from leadsync.rules.notices import fired as contact_trigger
from leadsync.rules.routing import Router, RoutingIndex, RoutingState
from leadsync.rules.scoring import Score, idle_days, score_contact
from leadsync.rules.sla import clock_start, due_at, sla_state
from leadsync.timeutil import duration_delta, format_ts
from leadsync.writable import PINNABLE_FIELDS

__all__ = ["RunStats", "decide_all", "manual_fields"]

_FROZEN = ("opportunity", "customer")
_ROUTED = ("mql", "sql")
_DAY = timedelta(hours=24)


@dataclass
class RunStats:
    """Counts a run reports besides its decisions."""

    unknown_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Work:
    """One contact's decision while it is being made."""

    contact: Contact
    history: History
    score: Score
    previous: str
    stage: str
    previous_reason: str | None  # the contact's reason as the CRM holds it (None when blank)
    disqualification_reason: str | None
    reason_known: bool
    mql_at: datetime | None
    sql_at: datetime | None
    owner_id: str | None
    assigned_at: datetime | None
    pinned: frozenset[str]
    notes: list[str] | None
    routing: str = "none"
    conflicts: list[Conflict] = field(default_factory=list)

    def note(self, text: str) -> None:
        if self.notes is not None:
            self.notes.append(text)

    def set(self, name: str, value: Any) -> bool:
        """Change a CRM-visible field unless a person changed it after leadsync (then: conflict)."""
        current = getattr(self, name)
        if value == current:
            return True
        if name in self.pinned:
            self.conflicts.append(Conflict(name, current, value))
            self.note(f"{name}: would be {value!r}, but a person set {current!r} in the CRM; kept")
            return False
        setattr(self, name, value)
        return True


def manual_fields(rules: Rules, contact: Contact, written: LastWritten | None) -> frozenset[str]:
    """The fields whose CRM value differs from what leadsync last wrote: a person changed them."""
    if written is None:
        return frozenset()
    crm = {
        "stage": contact.stage or "lead",
        "owner_id": contact.owner_id,
        "disqualification_reason": rules.reason_code(contact.disqualification_reason)[0],
    }
    return frozenset(f for f in PINNABLE_FIELDS if f in written.values and written.values[f] != crm[f])


def decide_all(
    rules: Rules,
    contacts: Iterable[Contact],
    activities_of: Callable[[str], Iterable[Activity]],
    owners: Mapping[str, Owner] | None,
    now: datetime,
    *,
    last_written: Mapping[str, LastWritten] | None = None,
    routing_state: RoutingState | None = None,
    routing_index: RoutingIndex | None = None,
    explain: str | None = None,
    notes: list[str] | None = None,
    stats: RunStats | None = None,
    histories: dict[str, History] | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[Decision]:
    """Decide every contact at ``now``; the result is in order of contact id.

    ``stop``, asked before each contact, ends the work early when it says so: the result is
    then the decisions of the contacts before it (a prefix in order of id), routed as usual.

    ``activities_of(id)`` gives a contact's activities in any order (it is called once per
    contact). ``explain`` names a contact whose reasoning is appended to ``notes``.
    ``histories``, when given, receives each contact's ``History`` (the daemon needs it after).
    ``routing_index`` knows every contact routing may look at (account match, capacity); by
    default, the contacts decided here. Routing updates it and ``routing_state``.
    """
    contacts = sorted(contacts, key=lambda c: c.id)
    audience = Audience.of(owners) if rules.actions else NOBODY
    decisions: dict[str, Decision] = {}
    waiting: list[_Work] = []
    for number, contact in enumerate(contacts):
        if stop is not None and stop():
            contacts = contacts[:number]
            break
        history = History(activities_of(contact.id), now, rules.contact_types, rules.sales_types)
        if histories is not None:
            histories[contact.id] = history
        written = last_written.get(contact.id) if last_written else None
        work = _first_steps(
            rules,
            contact,
            history,
            now,
            manual_fields(rules, contact, written),
            notes if explain == contact.id else None,
        )
        if stats is not None and not work.reason_known:
            raw = (contact.disqualification_reason or "").strip()
            stats.unknown_reasons[raw] = stats.unknown_reasons.get(raw, 0) + 1
        if work.stage in _ROUTED:
            waiting.append(work)
        else:
            decisions[contact.id] = _last_steps(rules, work, now, audience)
    if waiting:
        index = routing_index or RoutingIndex.of(contacts, rules.calendar.tz)
        router = Router(index, owners or {}, now, routing_state or RoutingState())
        waiting.sort(key=lambda w: (w.mql_at or w.sql_at or now, w.contact.id))
        for work in waiting:
            _route(rules, work, router, owners is not None, now)
            decisions[work.contact.id] = _last_steps(rules, work, now, audience)
    return [decisions[c.id] for c in contacts]


def _first_steps(
    rules: Rules,
    contact: Contact,
    history: History,
    now: datetime,
    pinned: frozenset[str],
    notes: list[str] | None,
) -> _Work:
    """Steps 1-7: score, reason, and the stage."""
    score = score_contact(rules, contact, history, now)
    raw = contact.disqualification_reason
    reason, known = rules.reason_code(raw)
    previous = contact.stage or "lead"
    w = _Work(
        contact,
        history,
        score,
        previous,
        previous,
        # A label or an alias becomes its code (step 2): `changed` when the CRM's text differs.
        raw if raw is None or raw.strip() else None,
        reason,
        known,
        contact.mql_at,
        contact.sql_at,
        contact.owner_id,
        contact.assigned_at,
        pinned,
        notes,
    )
    _explain_score(w, rules)
    if not known:
        w.note(f"reason: `{reason}` matches no reason code or label; kept as it is")
    if previous in _FROZEN:
        w.note(f"stage: {previous}; leadsync never changes an opportunity or customer")
        w.disqualification_reason = w.previous_reason  # not even its reason's spelling (§2)
        return w
    if previous == "disqualified":
        w.note(f"stage: disqualified ({reason}); stays until a person clears it in the CRM")
        return w
    for code, test in rules.disqualify:
        if test(contact, history, now):
            if w.set("stage", "disqualified"):
                w.set("disqualification_reason", code)
                w.note(f"stage: disqualified by the `{code}` rule")
            return w
    sql = rules.sql
    if sql is not None and previous in ("lead", "mql", "nurture"):
        if notes is None and not _sql_holds(sql, contact, history, now):
            _mql_step(rules, w, now)
            return w
        held = [name for name, test in sql.criteria if test(contact, history, now)]
        if len(held) >= sql.require:
            if w.set("stage", "sql"):
                w.sql_at = now
                w.set("disqualification_reason", None)
                w.note(
                    f"stage: sql, {len(held)} of {len(sql.criteria)} BANT criteria hold"
                    f" ({', '.join(held)}); {sql.require} required"
                )
            return w
        w.note(
            f"sql: {len(held)} of {len(sql.criteria)} BANT criteria hold ({', '.join(held) or 'none'}); "
            f"{sql.require} required"
        )
    _mql_step(rules, w, now)
    return w


def _sql_holds(sql: SqlRule, contact: Contact, history: History, now: datetime) -> bool:
    """Whether at least ``sql.require`` criteria hold, testing no more than it takes."""
    needed = sql.require
    may_fail = len(sql.criteria) - needed
    for _, test in sql.criteria:
        if test(contact, history, now):
            needed -= 1
            if needed <= 0:
                return True
        else:
            may_fail -= 1
            if may_fail < 0:
                return False
    return needed <= 0


def _mql_step(rules: Rules, w: _Work, now: datetime) -> None:
    mql = rules.mql
    if mql is None:
        return
    s = w.score
    reaches = s.total >= mql.score_at_least and (mql.fit_at_least is None or s.fit >= mql.fit_at_least)
    if w.previous == "mql":
        w.note(f"stage: mql stays (score {_bar(mql, s)}); a stage never goes back from mql on score")
        return
    eligible = w.previous == "lead"
    if w.previous == "nurture":
        since = w.contact.stage_changed_at or w.contact.created_at
        last = w.history.last_contact_done
        eligible = last is not None and last > since
        if reaches and not eligible:
            if w.notes is not None:
                bar = _bar(mql, s)
                w.note(f"stage: nurture stays; score {bar}, but no activity since {format_ts(since)}")
            return
    if reaches and eligible:
        if w.set("stage", "mql"):
            w.mql_at = now
            w.set("disqualification_reason", None)
            if w.notes is not None:
                w.note(f"stage: mql, score {_bar(mql, s)}")
    elif eligible and w.notes is not None:
        w.note(f"stage: {w.previous} stays, score {_bar(mql, s)}")


def _bar(mql: MqlRule, s: Score) -> str:
    """The score against the MQL bar, for a note."""
    bar = f"{s.total:g} against the MQL bar of {mql.score_at_least:g}"
    if mql.fit_at_least is not None:
        bar += f" (fit {s.fit:g} against {mql.fit_at_least:g})"
    return bar


def _route(rules: Rules, w: _Work, router: Router, have_owners: bool, now: datetime) -> None:
    """Step 8: keep an active owner, else account match, else the first matching pool."""
    if w.owner_id and (router.is_active(w.owner_id) or not have_owners):
        w.routing = "kept"
        w.note(f"owner: {w.owner_id} kept (an active owner is always kept)")
        return
    if "owner_id" in w.pinned:
        # Routing would replace this owner, but a person chose them: keep, and say so.
        w.routing = "kept" if w.owner_id else "unassigned"
        w.conflicts.append(Conflict("owner_id", w.owner_id, None))
        w.note(f"owner: a person set {w.owner_id!r} in the CRM; kept, not routed (conflict)")
        return
    if not have_owners:
        w.routing = "unassigned"
        w.note("owner: none; without an owners file nobody is routed")
        return

    def matches(pool: PoolRule) -> bool:
        return pool.test is None or pool.test(w.contact, w.history, now)

    owner, how = router.route(w.contact, rules.account_match, rules.pools, matches)
    w.routing = how
    if owner is not None:
        w.owner_id = owner
        w.assigned_at = now
        w.note(
            f"owner: {owner} by {how.replace(':', ' ')}"
            + ("" if how != "account_match" else f" (domain {w.contact.domain})")
        )
    else:
        # An inactive owner with nobody to replace them stays on the record: better than none.
        w.note("owner: unassigned; no eligible owner (inactive, or at capacity today)")


def _last_steps(rules: Rules, w: _Work, now: datetime, audience: Audience = NOBODY) -> Decision:
    """Steps 9-11: SLA, inactivity, actions; then the decision record."""
    sla = SlaState()
    start = clock_start(w.mql_at, w.sql_at, w.contact.stage_changed_at)
    if rules.sla is not None and w.stage in _ROUTED and w.owner_id:
        sla, exhausted = sla_state(rules.sla, w.history, start, now)
        if w.notes is not None:
            _explain_sla(w, rules.sla, start, sla)
        if exhausted and w.set("stage", rules.sla.exhausted_stage):
            w.set("disqualification_reason", rules.sla.exhausted_reason)
            w.note(f"stage: {w.stage}, {sla.attempts} touches without a connected call or meeting")
    archive = rules.sla.archive_after_inactive_days if rules.sla else None
    if archive is not None and w.stage in ("mql", "nurture"):
        idle = idle_days(w.contact, w.history, now)
        if idle >= archive and w.set("stage", "nurture"):
            w.set("disqualification_reason", "inactive")
            w.note(f"stage: nurture, inactive for {idle} days (archive after {archive})")
    actions = _actions(rules, w, sla, start, now, audience) if rules.actions else []
    return _record(rules, w, sla, actions)


def _actions(
    rules: Rules, w: _Work, sla: SlaState, sla_start: datetime | None, now: datetime, audience: Audience
) -> list[Action]:
    """Step 11: tasks and notifications, each with a key the daemon does once, ever."""
    # A recycled contact still fires `sla_exhausted`; nothing else fires for a closed one.
    closed = w.stage in (*_FROZEN, "disqualified")
    cid = w.contact.id
    out: list[Action] = []
    decided: Contact | None = None
    for rule in rules.actions:
        if closed and rule.trigger != "sla_exhausted":
            continue
        fired: list[tuple[str, datetime]] = []
        if rule.activity_type is not None:
            for a in sorted(w.history.of_type(rule.activity_type), key=CHRONOLOGICAL):
                if now - _DAY < a.at and (rule.where is None or rule.where(a)):
                    fired.append((a.id, a.at))
        elif rule.trigger in STAGE_TRIGGERS:
            stamp = w.mql_at if rule.trigger == "stage_mql" else w.sql_at
            target = rule.trigger.removeprefix("stage_")
            if w.stage == target and w.previous != target and stamp is not None:
                fired.append((format_ts(stamp) or "", stamp))
        else:
            hit = contact_trigger(rule, w.routing, w.assigned_at, sla, now)
            if hit is not None:
                fired.append(hit)
        if fired and rule.if_contact is not None:
            decided = decided or _decided_contact(w, now)
            if not rule.if_contact(decided, w.history, now):
                if w.notes is not None:
                    w.note(f"action: {rule.trigger} not fired; its `where` does not hold")
                continue
        for suffix, at in fired:
            key = f"{rule.trigger}:{cid}:{suffix}"
            if rule.notify is not None:
                out.append(Action("notify", key, w.owner_id, to=audience.expand(rule.notify, w.owner_id)))
            else:
                if rule.due_in is None:
                    due = due_at(rules.sla, sla_start)
                else:
                    due = at + duration_delta(*rule.due_in)
                out.append(Action("task", key, w.owner_id, title=rule.task_title, due_at=due))
            if w.notes is not None:
                w.note(f"action: {key}")
    return out


def _decided_contact(w: _Work, now: datetime) -> Contact:
    """The contact as this decision leaves it, for an action's `where` (CONTRACT §8)."""
    c = w.contact
    return replace(
        c,
        score=w.score.total,
        stage=w.stage,
        stage_changed_at=now if w.stage != w.previous else c.stage_changed_at,
        owner_id=w.owner_id,
        disqualification_reason=w.disqualification_reason,
        mql_at=w.mql_at,
        sql_at=w.sql_at,
        assigned_at=w.assigned_at,
    )


def _record(rules: Rules, w: _Work, sla: SlaState, actions: list[Action]) -> Decision:
    # Every field a person changed after leadsync wrote it is reported, whether or not this
    # decision would have changed it again (CONTRACT.md §4: "kept and reported as a conflict").
    if w.pinned:
        reported = {x.field for x in w.conflicts}
        for name in sorted(w.pinned - reported):
            value = getattr(w, name)
            w.conflicts.append(Conflict(name, value, value))
    c = w.contact
    s = w.score
    # In order of name; plain tests rather than a table of tuples: this runs for every contact.
    changed: list[str] = []
    if c.assigned_at != w.assigned_at:
        changed.append("assigned_at")
    if w.previous_reason != w.disqualification_reason:
        changed.append("disqualification_reason")
    if c.mql_at != w.mql_at:
        changed.append("mql_at")
    if c.owner_id != w.owner_id:
        changed.append("owner_id")
    if c.score is None or round(c.score, 6) != round(s.total, 6):
        changed.append("score")
    if c.sql_at != w.sql_at:
        changed.append("sql_at")
    if w.previous != w.stage:
        changed.append("stage")
    return Decision(
        contact_id=c.id,
        score=s.total,
        fit_score=s.fit,
        engagement_score=s.engagement,
        decay=s.decay,
        breakdown=s.breakdown,
        stage=w.stage,
        previous_stage=w.previous,
        mql_at=w.mql_at,
        sql_at=w.sql_at,
        owner_id=w.owner_id,
        assigned_at=w.assigned_at,
        routing=w.routing,
        disqualification_reason=w.disqualification_reason,
        sla=sla,
        actions=actions,
        changed=changed,
        conflicts=w.conflicts,
        unknown_reason=not w.reason_known,
    )


def _explain_sla(w: _Work, rule: SlaRule, start: datetime | None, sla: SlaState) -> None:
    if start is None:
        w.note("sla: no clock: mql_at, sql_at and stage_changed_at are all empty")
    elif rule.first_touch is not None:
        amount, unit = rule.first_touch
        hours = "business hours" if rule.business_hours else "the clock (24/7)"
        w.note(
            f"sla: clock starts {format_ts(start)}; first touch due {amount}{unit} later by"
            f" {hours}, at {format_ts(sla.due_at)}"
        )


def _explain_score(w: _Work, rules: Rules) -> None:
    if w.notes is None:
        return
    s = w.score
    for rule, points in s.breakdown:
        w.note(f"score: {points:+g} {rule}")
    floor = "" if rules.floor is None else f", floor {rules.floor:g}"
    w.note(f"score: {s.total:g} = fit {s.fit:g} + engagement {s.engagement:g} + decay {s.decay:g}{floor}")
