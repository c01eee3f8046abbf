"""One sync run of one connection: read → decide → plan → (outbox + cursor) → write.

Pages read are gathered into decision batches: whole pages, until a batch holds ``decide_batch``
contacts with news (or as many echoes) or the read ends. A batch's activities are read in one
call, its contacts decided together.

Crash safety comes from the order of durable steps. A batch's contacts, its pending writes and
actions, its decision history and the cursor after its last page are committed in ONE
transaction (``commit.py``); only then does anything go to the CRM, from the outbox. A run
killed at any point restarts by flushing the outbox, so no write is lost, no cursor passes
unwritten work, no change is recorded twice or never, and a task is created once per key
(the outbox holds the key, and the adapter finds a task it created before a crash instead of
creating another). A stop request (SIGTERM) ends the batch being read at the page in hand, and
the deciding of a batch at the contact in hand; the run stops once what was decided is committed
and written (the cursor moves only past a batch decided whole).

When the adapter allows it (``concurrent_reads``), the next pages are read on a thread of their
own while a batch is decided, committed and written (``readahead.py``): at most ``read_ahead``
pages ahead. Only the page reads move; the state store is used from the run's thread alone.

Rules: a job made with a ``RulesFile`` reads the file again at the start of each run when it
changed. When the rules' content hash differs from the one that last decided the connection (the
state store keeps it), the run's sweep re-decides every known contact it did not decide from its
reads, from state, without reading the CRM; contacts whose decision does not change write nothing.
The new hash is stored once such a run ends ok.

A write or task the CRM refuses for a cause in the setup stops the run (``SetupRefused``, see
``refusals.py``); the run's status is ``refused``.

Every log line of a run, from the loop, the adapter or their threads, carries the run's
``connection`` and ``run_id`` (bound with ``structlog.contextvars`` for the run; the threads copy
the context). Its progress goes to the log as ``run_progress`` every ``progress_every`` seconds of
its clock and at its end, and to a ``ProgressView`` (the terminal's bar) when it has one.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from leadsync.api import CrmAdapter, Page
from leadsync.decision import LastWritten
from leadsync.errors import SetupRefused
from leadsync.model import Activity, Contact, Owner
from leadsync.records import (
    activity_to_json,
    contact_from_json,
    contact_to_json,
    owner_from_json,
    owner_to_json,
    routing_from_json,
)
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import decide_all
from leadsync.rules.history import History
from leadsync.rules.horizon import next_change_at
from leadsync.rules.owners import routable_owners, unknown_owners
from leadsync.rules.routing import RoutingState
from leadsync.sync import history, identity, outbox
from leadsync.sync.changes import ContactPlan, current_values, desired_values
from leadsync.sync.commit import commit_batch
from leadsync.sync.outbox import MAX_WRITE_ATTEMPTS
from leadsync.sync.progress import PROGRESS_EVERY_S, ProgressView, RunProgress
from leadsync.sync.readahead import ReadAhead
from leadsync.sync.routing_store import StoredRoutingIndex
from leadsync.sync.rulesource import RulesFile, rules_sha
from leadsync.sync.run import RunContext, RunResult
from leadsync.sync.snapshot import comparable, stored_activity
from leadsync.sync.state import DeadLetter, StateStore
from leadsync.sync.touchfields import touch_values
from leadsync.writable import PINNABLE_FIELDS, diff

__all__ = ["DECIDE_BATCH", "MAX_WRITE_ATTEMPTS", "READ_AHEAD", "RunResult", "SyncJob", "owners_from_store"]

DECIDE_BATCH = 1000  # contacts with news decided together: one activities read, one commit
READ_AHEAD = 2  # contact pages read while a batch is worked on (adapters with concurrent_reads)


@dataclass
class _Batch:
    """Contacts read on consecutive pages, by id (the last read wins), and the last page's cursor."""

    news: dict[str, Contact] = field(default_factory=dict)
    echoes: dict[str, Contact] = field(default_factory=dict)
    cursor: str | None = None
    pages: int = 0
    reread_done: bool = False

    def add(self, news: list[Contact], echoes: list[Contact], cursor: str | None) -> None:
        for c in news:
            self.echoes.pop(c.id, None)
            self.news[c.id] = c
        for c in echoes:
            self.news.pop(c.id, None)
            self.echoes[c.id] = c
        if cursor is not None:  # a page without a cursor leaves the last one standing
            self.cursor = cursor
        self.pages += 1


@dataclass
class _Run:
    """One run as its reading and deciding steps see it: its context, and what its decisions carry
    from batch to batch (owners, the routing index and pools' state, the contacts read so far;
    ``redecide``: the rules changed, so the sweep takes every known contact not decided yet).

    Nothing here grows with the contacts a run reads, but ``decided`` in the runs that need it:
    the contacts decided from what was read, which the sweep leaves out. A committed decision's
    ``recheck_at`` is after the run's ``now`` (``next_change_at``), so a run that commits leaves
    them out without a list; a dry run (nothing committed) and a rules change's run (which
    re-decides every contact but these) keep one.
    """

    ctx: RunContext
    owners: dict[str, Owner]
    index: StoredRoutingIndex
    routing: RoutingState
    progress: RunProgress
    read: int = 0  # contacts read so far, each page's once (a contact read on two pages counts twice)
    # Decided from what was read; the sweep leaves these out. Not the echoes (read, not decided):
    # one whose time has come (an activity stamped after the last run's `now`) is swept.
    decided: set[str] | None = None
    redecide: bool = False


class SyncJob:
    """Everything one connection needs for a run; one instance may run many times."""

    def __init__(
        self,
        name: str,
        adapter: CrmAdapter,
        rules: Rules,
        store: StateStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_size: int = 200,
        decide_batch: int = DECIDE_BATCH,
        stop: threading.Event | None = None,
        progress: Callable[[int], None] | None = None,
        read_ahead: int = READ_AHEAD,
        rules_file: RulesFile | None = None,
        view: ProgressView | None = None,
        progress_every: float = PROGRESS_EVERY_S,
        history_days: int = history.HISTORY_DAYS,
    ) -> None:
        self.name = name
        self.history_days = history_days  # the decision history's retention (``history.py``)
        self.adapter = adapter
        self.rules = rules
        self.rules_file = rules_file  # re-read at each run when it changed (the daemon's hot edit)
        self.store = store
        self.clock = clock
        if decide_batch < 1:
            raise ValueError(f"decide_batch must be at least 1, not {decide_batch}")
        if read_ahead < 0:
            raise ValueError(f"read_ahead must be 0 or more, not {read_ahead}")
        self.batch_size = batch_size
        self.decide_batch = decide_batch
        self.read_ahead = read_ahead if getattr(adapter, "concurrent_reads", False) else 0
        # The optional fields the adapter's mapping holds: written, the others not even decided.
        self.optional_fields: frozenset[str] = getattr(adapter, "optional_fields", frozenset())
        self.stop = stop or threading.Event()
        self.progress = progress  # called with the contacts read so far (``_Run.read``), after each page
        self.view = view
        self.progress_every = progress_every
        self.log = structlog.get_logger("leadsync.sync").bind(connection=name)
        # The run under way, or the last one: what it did so far even when it raised (metrics).
        self.last_result: RunResult | None = None

    # -- the run ------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False, keep_plans: bool = False) -> RunResult:
        """One run: flush what a crash left, read what changed, sweep what time changed."""
        return self._execute("sync", self._read_and_sweep, dry_run=dry_run, keep_plans=keep_plans)

    def redecide(self, contact_ids: Sequence[str], *, kind: str = "retry") -> RunResult:
        """A run that flushes the outbox, then re-decides these known contacts from state (the
        CRM is read for owners only) and writes what changed: ``leadsync retry``."""
        ids = list(dict.fromkeys(contact_ids))
        return self._execute(kind, lambda run: self._from_state(run, ids))

    def _execute(
        self, kind: str, body: Callable[[_Run], None], *, dry_run: bool = False, keep_plans: bool = False
    ) -> RunResult:
        """A run of ``kind`` around ``body``: the outbox flushed before and the tasks sent after,
        the run recorded with its outcome; a sync run also follows the rules' hash."""
        result = self.last_result = RunResult(run_id=uuid.uuid4().hex[:12])
        # Every line logged during the run names it, from any module (the adapter's too); the
        # previous context comes back when it ends.
        with structlog.contextvars.bound_contextvars(connection=self.name, run_id=result.run_id):
            return self._execute_bound(kind, body, result, dry_run, keep_plans)

    def _execute_bound(
        self, kind: str, body: Callable[[_Run], None], result: RunResult, dry_run: bool, keep_plans: bool
    ) -> RunResult:
        now = self.clock()
        if self.rules_file is not None:
            self.rules = self.rules_file.current(self.log)
        ctx = RunContext(
            self.name,
            self.adapter,
            self.store,
            self.batch_size,
            now,
            result,
            self.log,
            dry_run,
            keep_plans,
            self.rules.file,
        )
        log = self.log.bind(run_id=result.run_id, dry_run=dry_run, kind=kind)
        sha = rules_sha(self.rules)
        applied = self.store.rules_sha(self.name) if kind == "sync" else sha
        started = time.perf_counter()
        if not dry_run:
            self.store.start_run(result.run_id, self.name, kind, now)
        log.info("run_started", now=now.isoformat())
        progress = RunProgress(self.name, result, self.clock, log, self.progress_every, self.view)
        try:
            if not dry_run:
                self._flush(ctx)
            run = _Run(ctx, self._owners(dry_run), self._index(), self._routing_state(), progress)
            if dry_run:
                run.decided = set()
            if applied is not None and applied != sha:
                run.redecide = True
                run.decided = set()
                result.rules_changed = sha[:12]
                log.info("rules_changed", sha=sha[:12], previous=applied[:12])
            body(run)
            if not dry_run:  # the tasks held back to fill a call (see ``_commit``)
                outbox.send_actions(ctx)
        except SetupRefused as exc:
            result.status = "refused"
            result.error = str(exc)
            log.error("run_refused", error=result.error, fixes=exc.fixes)
            if not dry_run:
                self._finish(result, started)
            progress.end()
            raise
        except Exception as exc:
            result.status = "failed"
            result.error = f"{type(exc).__name__}: {exc}"
            log.error("run_failed", error=result.error)
            if not dry_run:
                self._finish(result, started)
            progress.end()
            raise
        except BaseException:  # an interrupt (Ctrl-C): the bar still goes, the terminal left clean
            progress.end()
            raise
        result.status = "stopped" if self.stop.is_set() else "ok"
        if not dry_run:
            if result.status == "ok" and applied != sha:
                with self.store.transaction() as s:
                    self.store.set_rules_sha(s, self.name, sha, now)
            self._prune_history(result, now)
            self._finish(result, started)
        progress.end()
        log.info("run_finished", status=result.status, **result.counts)
        return result

    def _read_and_sweep(self, run: _Run) -> None:
        """A sync run's body: read what changed in batches, then sweep (unless asked to stop)."""
        pages = self.adapter.read_contacts(self.store.cursor(self.name))
        with ReadAhead(pages, self.read_ahead, self.stop) as ahead:
            for batch in self._batches(ahead, run):
                news = list(batch.news.values())
                plans = self._decide(run, news) if news else []
                # Stopped between two contacts: what was decided is committed and written,
                # the cursor stays, and the next run reads the batch's pages again.
                whole = len(plans) == len(news)
                self._commit(run, plans, batch.cursor if whole else None, list(batch.echoes.values()))
                run.progress.tick()
                if batch.reread_done and whole and not run.ctx.dry_run:
                    with self.store.transaction() as s:
                        run.ctx.result.add("contacts_deleted", len(identity.finish_reread(s, self.name)))
                if self.stop.is_set():
                    run.ctx.log.info("stop_requested", after_contacts=run.read)
                    break
        if not self.stop.is_set():
            self._sweep(run)

    def _prune_history(self, result: RunResult, now: datetime) -> None:
        """The decision history past its retention, deleted in a few short transactions."""
        for _ in range(history.PRUNE_BATCHES):
            with self.store.transaction() as s:
                deleted = history.prune(s, self.name, now, self.history_days, history.PRUNE_BATCH)
            if deleted:
                result.add("history_pruned", deleted)
            if deleted < history.PRUNE_BATCH:
                break

    def _finish(self, result: RunResult, started: float) -> None:
        result.timings["seconds"] = round(time.perf_counter() - started, 3)
        self.store.finish_run(result.run_id, result.status, result.counts, result.timings, result.error)

    # -- reading ------------------------------------------------------------------------------

    def _owners(self, dry_run: bool) -> dict[str, Owner]:
        owners = self.adapter.read_owners()
        if not dry_run:
            with self.store.transaction() as s:
                self.store.save_owners(s, self.name, [owner_to_json(o) for o in owners])
        crm = {o.id: o for o in owners}
        # Ids the rules name that the CRM lacks would make the CRM refuse every write they are
        # in: they count as inactive for this run, so routing goes around them (one warning each).
        for unknown in unknown_owners(self.rules.owner_refs, crm) if crm else []:
            self.log.warning(
                "owner_unknown",
                owner_id=unknown.owner_id,
                at=unknown.places(),
                hint="the CRM has no owner with this id; routing skips it. Correct it in the rules",
            )
        return routable_owners(self.rules.owner_refs, crm)

    def _index(self) -> StoredRoutingIndex:
        """The routing index: the state store, asked only when a contact is routed (an idle run
        never asks), plus what the run decided since its last commit (``routing_store.py``)."""
        return StoredRoutingIndex(self.store, self.name, self.rules.calendar.tz)

    def _routing_state(self) -> RoutingState:
        """Where each routing pool's rotation stood after the last run."""
        return routing_from_json(self.store.routing_state(self.name))

    def _pages(self, pages: Iterable[Page[Contact]], run: _Run) -> Iterator[Page[Contact]]:
        """The pages read, each contact once; deletions and moves applied as each page comes."""
        ctx = run.ctx
        for page in pages:
            unique = {c.id: c for c in page.records}  # pages may overlap; the last read wins
            ctx.result.add("contacts_read", len(unique))
            run.progress.expect(page.total)
            run.progress.tick()
            if page.refused:
                self._refused(ctx, page)
            if not ctx.dry_run and (page.moved or page.deleted or page.reread):
                with self.store.transaction() as s:
                    ctx.result.add("contacts_moved", identity.move(s, self.name, page.moved))
                    ctx.result.add("contacts_deleted", identity.forget(s, self.name, page.deleted))
                    if page.reread:
                        identity.start_reread(s, self.name, ctx.now)
            yield replace(page, records=list(unique.values()))

    def _refused(self, ctx: RunContext, page: Page[Contact]) -> None:
        """Records the adapter refused alone (a timestamp out of range, no id): dead letters with
        the CRM's text; the run reads on."""
        ctx.result.add("records_refused", len(page.refused))
        self.log.warning("records_refused", count=len(page.refused), first=page.refused[0].error[:200])
        if ctx.dry_run:
            return
        letters = [
            DeadLetter("read", r.contact_id, None, {"record": dict(r.record)}, r.error, "unreadable_record")
            for r in page.refused
        ]
        with self.store.transaction() as s:
            self.store.dead_letters(s, self.name, letters, ctx.now)
        ctx.result.add("dead_letters", len(letters))

    def _batches(self, pages: Iterable[Page[Contact]], run: _Run) -> Iterator[_Batch]:
        """Pages read, gathered into decision batches of whole pages.

        A batch ends with the page that brings it to ``decide_batch`` contacts with news, or as
        many echoes (so it never holds more than twice that and a page), with the read's last
        page, or with the page in hand when a stop is requested.
        """
        batch = _Batch()
        for page in self._pages(pages, run):
            batch.add(*self._split_echoes(page.records, page.news), page.cursor)
            batch.reread_done = page.reread_done
            run.read += len(page.records)
            if self.progress:
                self.progress(run.read)
            full = max(len(batch.news), len(batch.echoes)) >= self.decide_batch
            if full or self.stop.is_set() or page.reread_done:
                yield batch
                batch = _Batch()
        if batch.pages:
            yield batch

    def _split_echoes(
        self, contacts: list[Contact], activity_news: frozenset[str] = frozenset()
    ) -> tuple[list[Contact], list[Contact]]:
        """Contacts with news, and echoes: read again only because leadsync wrote to them.

        An echo reads back exactly as leadsync last knew it (its snapshot, with leadsync's own
        writes applied); deciding it again would change nothing that time alone does not, and the
        sweep sees to time. Re-reading its activities is what makes echoes cost API calls. A
        contact whose activities the CRM says changed is never an echo.
        """
        known = self.store.records(self.name, [c.id for c in contacts])
        news: list[Contact] = []
        echoes: list[Contact] = []
        for c in contacts:
            record = known.get(c.id)
            same = (
                record is not None
                and c.id not in activity_news
                and comparable(record) == comparable(contact_to_json(c))
            )
            (echoes if same else news).append(c)
        return news, echoes

    # -- deciding -----------------------------------------------------------------------------

    def _decide(
        self, run: _Run, contacts: list[Contact], stored: dict[str, list[Activity]] | None = None
    ) -> list[ContactPlan]:
        """Decide these contacts and plan their writes and actions.

        Their activities come from ``stored`` (the sweep's, from state) or else from the CRM.
        """
        ids = [c.id for c in contacts]
        grouped = self._activities(run, contacts) if stored is None else stored
        # A stop request that came while these contacts were read: they are decided, as
        # gathered. One that comes while they are decided is seen between two contacts.
        written = self.store.written(self.name, ids)
        last_written = {
            cid: LastWritten({f: v for f, (v, _) in fields.items() if f in PINNABLE_FIELDS}, None)
            for cid, fields in written.items()
        }
        for c in contacts:
            run.index.upsert(c.id, c.domain, c.created_at, c.owner_id, c.assigned_at)
        histories: dict[str, History] = {}
        decisions = decide_all(
            self.rules,
            contacts,
            lambda cid: grouped.get(cid, []),
            run.owners or None,
            run.ctx.now,
            last_written=last_written,
            routing_state=run.routing,
            routing_index=run.index,
            histories=histories,
            stop=None if self.stop.is_set() else self.stop.is_set,  # (see the note above)
        )
        if run.decided is not None:
            run.decided.update(d.contact_id for d in decisions)
        by_id = {c.id: c for c in contacts}
        plans = []
        known = self.store.known_action_keys(self.name, [a.key for d in decisions for a in d.actions])
        for decision in decisions:
            contact = by_id[decision.contact_id]
            current = current_values(contact, written.get(contact.id, {}))
            history = histories[contact.id]
            desired = desired_values(decision)
            if self.optional_fields:
                desired |= touch_values(self.rules, decision, history, run.ctx.now, self.optional_fields)
            change = diff(desired, current)
            plans.append(
                ContactPlan(
                    contact=contact,
                    activities=[activity_to_json(a) for a in grouped.get(contact.id, [])],
                    decision=decision,
                    current=current,
                    change=change,
                    actions=[a for a in decision.actions if a.key not in known],
                    recheck_at=next_change_at(self.rules, contact, history, decision, run.ctx.now),
                )
            )
        run.ctx.result.add("contacts_decided", len(plans))
        for d in decisions:
            run.ctx.result.decided(d.previous_stage, d.stage)
        return plans

    def _activities(self, run: _Run, contacts: list[Contact]) -> dict[str, list[Activity]]:
        """The contacts completed (``CrmAdapter.complete``) and their activities read, by id."""
        ids = [c.id for c in contacts]
        self.adapter.complete(contacts)
        grouped: dict[str, list[Activity]] = {cid: [] for cid in ids}
        for activity in self.adapter.read_activities(ids):
            if activity.contact_id in grouped:
                grouped[activity.contact_id].append(activity)
        run.ctx.result.add("activities_read", sum(len(v) for v in grouped.values()))
        return grouped

    # -- committing and writing ---------------------------------------------------------------

    def _commit(
        self, run: _Run, plans: list[ContactPlan], cursor: str | None, echoes: Sequence[Contact] = ()
    ) -> None:
        """The batch's durable step (``commit.py``), then the outbox sent."""
        if commit_batch(run.ctx, self.rules, run.routing, plans, cursor, echoes):
            run.index.settle()  # the store holds the batch's owners now
            self._flush(run.ctx, hold_partial=True)

    def _flush(self, ctx: RunContext, *, hold_partial: bool = False) -> None:
        """Send the outbox to the CRM: contact writes in batches, then tasks, each once.

        After a batch, tasks go only by full calls of the adapter's ``task_batch``; the run sends
        the rest at its end. A crash in between loses none: they wait in the outbox.
        """
        outbox.send(ctx, hold_partial=hold_partial)

    # -- time-driven changes ------------------------------------------------------------------

    def _sweep(self, run: _Run) -> None:
        """Re-decide, from state, the contacts not decided in this run whose decision time has
        changed; when the rules changed, every known contact this run has not decided yet."""
        decided = run.decided or set()
        if run.redecide:
            due = [cid for cid in self.store.contact_ids(self.name) if cid not in decided]
            run.ctx.result.add("contacts_redecided", len(due) + len(decided))
        else:
            due = self.store.due_contact_ids(self.name, run.ctx.now, decided)
            run.ctx.result.add("contacts_swept", len(due))
        self._from_state(run, due)

    def _from_state(self, run: _Run, ids: Sequence[str]) -> None:
        """Decide these known contacts from their state (record and activities), 500 at a time,
        and commit and send what changed; unknown ids are left out."""
        for start in range(0, len(ids), 500):
            if self.stop.is_set():
                break
            rows = self.store.contacts(self.name, ids[start : start + 500])
            contacts = [contact_from_json(r.record) for r in rows.values()]
            known_types = self.rules.activity_types
            stored = {
                cid: [a for a in (stored_activity(x, known_types) for x in r.activities) if a is not None]
                for cid, r in rows.items()
            }
            self._commit(run, self._decide(run, contacts, stored), None)
            run.ctx.result.from_state.update(rows)
            run.progress.tick()


def owners_from_store(store: StateStore, connection: str) -> dict[str, Owner]:
    """The owners as last read (for commands that must not call the CRM)."""
    return {o["id"]: owner_from_json(o) for o in store.owners(connection)}
