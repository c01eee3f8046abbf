"""A decision batch's durable step: one transaction for everything the batch decided.

Its contacts' snapshots (and the echoes' records), the pending writes and actions, the conflicts
seen, the routing pools' state, the decision history (``history.py``) and the cursor after the
batch's last page are committed together; only then does anything go to the CRM (``outbox.py``).
A run killed before the commit leaves none of it, after it all of it: the history says what was
decided exactly when the outbox holds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from leadsync.model import Contact
from leadsync.records import routing_to_json
from leadsync.rules.compiled import Rules
from leadsync.rules.routing import RoutingState
from leadsync.sync import history, outbox
from leadsync.sync.changes import ContactPlan
from leadsync.sync.run import RunContext
from leadsync.sync.snapshot import refresh_records, snapshot_row
from leadsync.sync.state import NewAction, PendingWrite, SeenConflict
from leadsync.writable import values_to_json

__all__ = ["commit_batch"]


def commit_batch(
    ctx: RunContext,
    rules: Rules,
    routing: RoutingState,
    plans: list[ContactPlan],
    cursor: str | None,
    echoes: Sequence[Contact] = (),
) -> bool:
    """Count the batch's plans, keep them when asked, and commit them (not in a dry run).

    Returns whether anything was committed (then the caller settles its routing index and
    flushes the outbox).
    """
    changed = [p for p in plans if p.change]
    actions = [
        NewAction(a.key, p.contact.id, a.type, outbox.action_payload(a)) for p in plans for a in p.actions
    ]
    conflicts = [
        SeenConflict(p.contact.id, c.field, c.crm_value, c.wanted)
        for p in plans
        for c in p.decision.conflicts
    ]
    ctx.result.add("contacts_changed", len(changed))
    ctx.result.add("actions_planned", len(actions))
    if ctx.keep_plans or ctx.dry_run:
        ctx.result.plans.extend(plans)
    if ctx.dry_run:
        return False
    ctx.result.add("echoes_skipped", len(echoes))
    if conflicts:
        ctx.result.add("conflicts", len(conflicts))
    writes = [
        PendingWrite(p.contact.id, values_to_json(p.change), values_to_json(p.current)) for p in changed
    ]
    by_contact = {w.contact_id: (w.values, w.current) for w in writes}
    entries = history.history_rows(ctx.connection, plans, by_contact, rules, ctx.result.run_id, ctx.now)
    store = ctx.store
    with store.transaction() as s:
        refresh_records(s, ctx.connection, echoes, ctx.now)
        store.save_contacts(s, [snapshot_row(ctx.connection, p, ctx.now) for p in plans])
        store.enqueue_writes(s, ctx.connection, writes, ctx.now)
        store.enqueue_actions(s, ctx.connection, actions, ctx.now)
        store.record_conflicts(s, ctx.connection, conflicts, ctx.now)
        store.save_routing_state(s, ctx.connection, routing_to_json(routing))
        history.append(s, entries)
        store.set_cursor(s, ctx.connection, cursor)
    ctx.result.add("history_rows", len(entries))
    return True
