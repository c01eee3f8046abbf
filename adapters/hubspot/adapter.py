"""``HubSpotAdapter``: leadsync's ``CrmAdapter`` for HubSpot, and ``from_options``, its entry point.

Registered as ``leadsync.adapters: hubspot = leadsync.adapters.hubspot.adapter:from_options``. The options:

    base_url          https://api.hubapi.com (a sandbox or mock in tests)
    token             a service key / private-app token (str or SecretStr); or `token_file`,
                      or the environment variable `token_env` (default HUBSPOT_TOKEN)
    mapping           path of the mapping file (default: the packaged mappings/hubspot.yaml)
    account_timezone  the HubSpot account's time zone, for the daily quota's reset (UTC)
    batch_size        contacts per batch update, at most 100 (100)
    rate_per_10s      calls per 10 s for the burst limit (190; Free/Starter portals: 100)
    search_per_s      CRM search calls per second (5)
    concurrency       calls in flight at once for independent reads and writes (4; 1-16; 1: one
                      at a time). The rate limiter paces them all; see fanout.py
    search_lag_s      how long HubSpot's search may take to show a change (30; 0-3600): a read
                      that ends less than this after its last contact's change resumes from
                      that long before its last search, so a change the index showed late is
                      still read (see ``_settled``)
    retry             a leadsync.api.RetryPolicy (the default policy, on `clock`, when absent)
    timeout           seconds per HTTP request (30)
    clock             a leadsync.api.Clock (or a callable giving "now") that the rate limiter and
                      the default retry policy measure and wait on (default: the system's)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from leadsync.api import (
    JSON,
    OPTIONAL_FIELDS,
    Activity,
    ApiBudget,
    AuthError,
    CheckNeeds,
    CheckReport,
    Contact,
    ContactChange,
    CrmError,
    CursorError,
    Owner,
    Page,
    TaskRequest,
    TaskResult,
    WriteResult,
    parse_crm_ts,
    parse_options,
)
from leadsync.api.convertkit import read_each
from leadsync.api.writekit import retry_tasks_without_owner, retry_without_owner

from .activities import ActivityReader
from .auth import token_from_options
from .client import HubSpotClient
from .convert import DEFAULT_LIFECYCLE_ORDER, contact_from_record, to_ms
from .echoes import EchoChaser
from .fanout import DEFAULT_CONCURRENCY, Fanout
from .mapping import HISTORY, HubSpotMapping
from .mapping_check import load_mapping
from .options import SEARCH_LAG_S, HubSpotOptions
from .paging import MODIFIED, SearchCursor, SearchRequest, paginate, search_pages
from .provisioning import check_access, check_properties, run_setup
from .ratelimit import RateLimiter
from .tasks import BATCH as TASK_BATCH
from .tasks import TaskWriter
from .writes import ContactWriter, refused_for_owner

__all__ = ["HubSpotAdapter", "from_options"]

BATCH_READ = 100  # batch read takes at most 100 inputs
HISTORY_BATCH = 50  # batch read with propertiesWithHistory takes at most 50 inputs
log = structlog.get_logger("leadsync.hubspot")


class HubSpotAdapter:
    """One HubSpot portal, read and written in canonical records."""

    name = "hubspot"
    # read_contacts may run on the sync loop's reader thread while its other calls go on: the
    # client and its limiter are shared safely, and remembered contact signals take a lock.
    concurrent_reads = True

    def __init__(
        self,
        client: HubSpotClient,
        mapping: HubSpotMapping,
        *,
        batch_size: int = 100,
        account_timezone: str = "UTC",
        concurrency: int = DEFAULT_CONCURRENCY,
        search_lag_s: int = SEARCH_LAG_S,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.optional_fields = frozenset(f for f in OPTIONAL_FIELDS if f in mapping.fields)
        self.search_lag_ms = search_lag_s * 1000
        self.batch_size = batch_size
        self.account_timezone = account_timezone
        self.fanout = Fanout(concurrency, careful=client.careful)
        self._activities = ActivityReader(client, mapping.activities, self.fanout)
        self._tasks = TaskWriter(client)
        self._order: tuple[str, ...] | None = None
        self._chaser: EchoChaser | None = None  # the read under way's, while there is one

    def __repr__(self) -> str:
        return f"HubSpotAdapter(base_url={self.client.base_url!r}, mapping={self.mapping.file!r})"

    def check(self) -> CheckReport:
        return check_access(self.client, self.account_timezone)

    def check_for(self, needs: CheckNeeds) -> CheckReport:
        """The scopes (``check``), then every property leadsync writes and reads, and its options."""
        report = self.check()
        if report.ok or report.account:  # the token works: the properties can be read
            try:
                problems = check_properties(self.client, self.mapping, needs.reason_labels)
            except AuthError as exc:
                problems = [f"properties not checked: {exc}"]
            report.details += problems or ["properties: every property leadsync writes and reads is there"]
            report.ok = report.ok and not problems
        return report

    # -- reading -------------------------------------------------------------------------------

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        """Contacts changed since ``cursor``; leadsync's own writes read back alongside (``EchoChaser``)."""
        try:
            start = SearchCursor.decode(cursor) if cursor else None
        except CursorError as exc:
            raise CrmError(str(exc)) from None
        props = self._read_properties()
        chaser = EchoChaser(lambda req: self.client.search("contacts", req), props, _modified_ms)
        self._chaser = chaser
        chaser.start()
        estimate = _ReadSize()
        try:
            for records, page_cursor in search_pages(
                estimate.counting(chaser.main_search), props, start, _modified_ms
            ):
                yield self._page(records, self._settled(page_cursor).encode(), estimate.page(len(records)))
                for chased in chaser.take():
                    yield self._page(chased, None)
            for records, rest_cursor in chaser.rest():
                yield self._page(records, self._settled(rest_cursor).encode() if rest_cursor else None)
        finally:
            self._chaser = None
            chaser.close()
            if chaser.split is not None:
                log.info("echoes_chased", split_ms=chaser.split, searches=chaser.searches)

    def _settled(self, cursor: SearchCursor) -> SearchCursor:
        """``cursor``, or one from ``search_lag_s`` before the search that read its page.

        HubSpot's search shows a change a few moments after it is made, and a page shows only what
        was indexed when it was searched. A contact changed less than the lag before that search
        may not have been on it although its stamp is below the page's last one, and an exact
        cursor would pass it for good. So a cursor that close to the search's time (HubSpot's
        own, from the answer's Date) goes back to the lag before it: the next read reads those
        contacts again, which the loop recognises as unchanged and skips.
        """
        searched = self.client.server_time_ms()
        if searched is None or not self.search_lag_ms:
            return cursor
        floor = searched - self.search_lag_ms
        return cursor if cursor.ts_ms < floor else SearchCursor(max(floor, 0))

    def _page(self, records: list[JSON], cursor: str | None, total: int | None = None) -> Page[Contact]:
        """A page of contacts; no cursor for the chase stream's pages before the main stream ends."""
        contacts, refused = read_each(records, self._contact, _record_id)
        self._activities.remember(records)
        log.info("page_read", records=len(contacts), cursor=cursor)
        return Page(contacts, cursor, total=total, refused=refused)

    def _contact(self, record: JSON) -> Contact:
        return contact_from_record(record, self.mapping)

    def get_contacts(self, contact_ids: Sequence[str]) -> list[Contact]:
        """These contacts as HubSpot holds them now, by batch read (100 a call); unknown ids left out."""
        props = self._read_properties()
        batches = [
            contact_ids[start : start + BATCH_READ] for start in range(0, len(contact_ids), BATCH_READ)
        ]
        contacts: list[Contact] = []
        for records in self.fanout.map(lambda ids: self.client.batch_read("contacts", ids, props), batches):
            contacts += read_each(records, self._contact, _record_id)[0]
            self._activities.remember(records)
        self._stage_dates_from_history(contacts)
        return contacts

    def complete(self, contacts: list[Contact]) -> None:
        self._stage_dates_from_history([c for c in contacts if c.stage_changed_at is None])

    def _read_properties(self) -> tuple[str, ...]:
        """The contact's mapped properties and those its page-view/conversion activities come from."""
        return tuple(sorted({*self.mapping.contact_properties(), *self._activities.signal_properties()}))

    def _stage_dates_from_history(self, contacts: list[Contact]) -> None:
        """``stage_changed_at`` for stages held as lifecycle stage + lead status: when either changed."""
        wanted = [c for c in contacts if c.stage and self.mapping.stages[c.stage].changed_at == HISTORY]
        if not wanted:
            return
        props = [self.mapping.lifecycle_property, self.mapping.lead_status_property]
        changed = self._history([c.id for c in wanted], props)
        for c in wanted:
            stamps = [changed.get(c.id, {}).get(p) for p in props]
            c.stage_changed_at = max((s for s in stamps if s), default=None)

    def _history(self, ids: Sequence[str], props: Sequence[str]) -> dict[str, dict[str, datetime]]:
        """contact id → property → when its current value was set (newest history entry)."""
        out: dict[str, dict[str, datetime]] = {}
        batches = [ids[start : start + HISTORY_BATCH] for start in range(0, len(ids), HISTORY_BATCH)]

        def read(batch: Sequence[str]) -> list[JSON]:
            return self.client.batch_read("contacts", batch, props, history=props)

        for records in self.fanout.map(read, batches):
            for record in records:
                history: Mapping[str, Any] = record.get("propertiesWithHistory") or {}
                latest: dict[str, datetime] = {}
                for prop, entries in history.items():
                    stamps = [parse_crm_ts(e.get("timestamp")) for e in entries or [] if isinstance(e, dict)]
                    newest = max((s for s in stamps if s), default=None)
                    if newest:
                        latest[prop] = newest
                out[str(record.get("id"))] = latest
        return out

    def read_activities(self, contact_ids: Sequence[str]) -> list[Activity]:
        return self._activities.read(contact_ids)

    def read_owners(self) -> list[Owner]:
        owners: dict[str, Owner] = {}
        for archived in (False, True):

            def fetch(after: str | None, archived: bool = archived) -> tuple[list[JSON], str | None]:
                body = self.client.owners_page(after, archived)
                token = ((body.get("paging") or {}).get("next") or {}).get("after")
                return list(body.get("results") or []), (str(token) if token else None)

            for page in paginate(fetch, "owners archived" if archived else "owners"):
                for raw in page:
                    owner = _owner(raw, active=not archived)
                    owners.setdefault(owner.id, owner)  # an active listing wins
        log.info("owners_read", owners=len(owners), inactive=sum(not o.active for o in owners.values()))
        return sorted(owners.values(), key=lambda o: o.id)

    # -- writing -------------------------------------------------------------------------------

    def lifecycle_order(self) -> tuple[str, ...]:
        """The portal's lifecycle stages in forward order (its options' displayOrder)."""
        if self._order is None:
            prop = self.client.get_property("contacts", self.mapping.lifecycle_property)
            options = sorted((prop or {}).get("options") or [], key=lambda o: o.get("displayOrder", 0))
            self._order = tuple(str(o["value"]) for o in options if "value" in o) or DEFAULT_LIFECYCLE_ORDER
        return self._order

    def write_contacts(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        if not changes:
            return []
        chaser = self._chaser
        writer = ContactWriter(
            self.client,
            self.mapping,
            self.lifecycle_order(),
            self.batch_size,
            self.fanout,
            on_written=chaser.written if chaser else None,
        )
        owner_property = self.mapping.fields["owner_id"].field
        with chaser.writing() if chaser else contextlib.nullcontext():
            results = writer.write(changes)
            return retry_without_owner(
                changes, results, lambda error: refused_for_owner(error, owner_property), writer.write
            )

    def api_budget(self) -> ApiBudget | None:
        """The account's daily request quota, from the headers of HubSpot's last answer."""
        return self.client.limiter.budget()

    task_batch = TASK_BATCH  # tasks per create_tasks call

    @property
    def task_concurrency(self) -> int:
        """How many task calls the loop may make side by side (one near the daily quota)."""
        return 1 if self.client.careful() else self.fanout.workers

    def create_task(self, task: TaskRequest) -> TaskResult:
        return self.create_tasks([task])[0]

    def create_tasks(self, tasks: Sequence[TaskRequest]) -> list[TaskResult]:
        """Up to ``task_batch`` tasks in one batch create (after one search, for tasks an earlier
        attempt may have made); one refused for its owner alone is created without one."""
        results = self._tasks.create(tasks)
        return retry_tasks_without_owner(tasks, results, refused_for_owner, self._tasks.create)

    def last_changed(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, datetime]]:
        by_field: dict[str, list[str]] = {}
        for f in fields:
            if f == "stage":
                by_field[f] = [self.mapping.lifecycle_property, self.mapping.lead_status_property]
            elif f in self.mapping.fields:
                by_field[f] = [self.mapping.fields[f].field]
        props = sorted({p for ps in by_field.values() for p in ps})
        if not props or not contact_ids:
            return {}
        history = self._history(list(dict.fromkeys(contact_ids)), props)
        out: dict[str, dict[str, datetime]] = {}
        for cid, latest in history.items():
            per_field = {
                f: max((latest[p] for p in ps if p in latest), default=None) for f, ps in by_field.items()
            }
            out[cid] = {f: ts for f, ts in per_field.items() if ts is not None}
        return out

    def setup(self, reason_labels: Mapping[str, str]) -> list[str]:
        return run_setup(self.client, self.mapping, reason_labels)


def _modified_ms(record: JSON) -> int:
    props = record.get("properties") or {}
    ts = parse_crm_ts(props.get(MODIFIED)) or parse_crm_ts(record.get("updatedAt"))
    if ts is None:
        raise CrmError(f"HubSpot contact {record.get('id')} came without {MODIFIED}")
    return to_ms(ts)


def _owner(raw: JSON, *, active: bool) -> Owner:
    first, last = raw.get("firstName") or "", raw.get("lastName") or ""
    name = f"{first} {last}".strip() or raw.get("email") or None
    teams = [str(t.get("name") or t.get("id")) for t in raw.get("teams") or [] if isinstance(t, dict)]
    return Owner(
        id=str(raw["id"]),
        name=name,
        email=raw.get("email") or None,
        active=active and not raw.get("archived", False),
        teams=teams,
    )


class _ReadSize:
    """How many contacts a read holds, from the ``total`` of HubSpot's searches (for the ETA).

    Each search by modification time starts where the read stands (``paging.py``), so its total
    counts what is left, with the records at its anchor already read (those its page drops). A
    search for ties at one timestamp says nothing of the rest and leaves the estimate as it was.
    """

    def __init__(self) -> None:
        self.read = 0
        self.estimate: int | None = None
        self._answer: tuple[int, int] | None = None  # the last search's (total, results)

    def counting(self, search: Callable[[SearchRequest], JSON]) -> Callable[[SearchRequest], JSON]:
        def counted(request: SearchRequest) -> JSON:
            body = search(request)
            total = body.get("total")
            if request.sort == MODIFIED and isinstance(total, int):
                self._answer = (total, len(body.get("results") or []))
            return body

        return counted

    def page(self, records: int) -> int | None:
        """The estimate for a page of ``records`` contacts just read."""
        if self._answer is not None:
            total, returned = self._answer
            self._answer = None
            self.estimate = self.read + total - max(returned - records, 0)
        self.read += records
        return self.estimate


def from_options(options: Mapping[str, Any]) -> HubSpotAdapter:
    """Build the adapter from a connection's options (see the module docstring)."""
    opts = parse_options(HubSpotOptions, options, "hubspot")
    token = token_from_options(options)
    mapping = load_mapping(opts.mapping)
    limiter = RateLimiter(opts.rate_per_10s, 10.0, opts.search_per_s, clock=opts.clock)
    client = HubSpotClient(
        opts.base_url,
        token,
        limiter=limiter,
        retry=opts.retry,
        account_timezone=ZoneInfo(opts.account_timezone),
        timeout=opts.timeout,
        clock=opts.clock,
    )
    return HubSpotAdapter(
        client,
        mapping,
        batch_size=opts.batch_size,
        account_timezone=opts.account_timezone,
        concurrency=opts.concurrency,
        search_lag_s=opts.search_lag_s,
    )


def _record_id(record: JSON) -> object:
    props = record.get("properties")
    return record.get("id") or (props.get("hs_object_id") if isinstance(props, dict) else None)
