"""Reading what changed in an org: Leads and Contacts by ``Modified_Time``, activity news, deletions.

One run, given the cursor of the last:

1. **Deletions** per module since the last run: ``GET /{module}/deleted?type=all`` with
   ``If-Modified-Since``.
2. **Activity news**: Calls, Events, Tasks (and Notes, when mapped) modified since the last run
   name the leads (``What_Id`` + ``$se_module``, ``Parent_Id`` for notes) and contacts
   (``Who_Id``) whose activities moved. leadsync's own tasks are no news. The records are kept
   for ``read_activities`` (search lags behind; a listing does not).
3. **Records**: ``GET /{module}?fields=…&sort_by=id&sort_order=asc`` with ``If-Modified-Since``
   one second before the module's watermark, paged (``paging``). Sorted by id, a listing never
   skips a record: a record changed while it is listed (by leadsync's own writes between pages,
   or by a person) keeps its place, and one that joins the listing only moves later ones on, to
   be read twice. (Sorted by ``Modified_Time``, every write moved a record from the pages still
   to come to the end and the next page's offset skipped an unread one: a backfill lost about
   one person in ten.) The watermark becomes the listing's start less ``OVERLAP`` once the
   module is listed, so the pages before carry no cursor: a run stopped half-way lists the
   module again. What changed during the listing is read again by the next run; leadsync's own
   writes read back the same (echoes) and cost no activity reads.
   Zoho pages one listing up to 100,000 records (``PAGINATION_LIMIT_EXCEEDED``): past that the
   listing continues through COQL from the last id read (``coql``), and its cursor says so, so
   that a resumed run starts there. Activity news is listed the same way.
   Leads are read with ``converted=both`` after the first read, so a converted lead is seen and
   reported as moved to its contact (``$converted_detail.contact``).
4. Leads and contacts with activity news that step 3 did not return are read by id.

The cursor is ``zc1:`` and compact JSON (``leadsync.api.CursorCodec``, version 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from leadsync.api import JSON, Contact, CrmError, CursorCodec, CursorError, Page, parse_crm_ts
from leadsync.api.convertkit import read_each

from .activities import people_of
from .client import ZohoClient
from .convert import contact_from_record, lookup_id
from .coql import COQL_MODE, Listing, id_order, listed
from .mapping import ZohoMapping
from .paging import Capped, by_ids, pages

__all__ = ["ZohoCursor", "fetch_by_id", "full_read", "read_changes", "since_header"]

SEEN_CAP = 5_000
# How far back of a listing's start its watermark goes: the adapter's clock against Zoho's, and
# records committed late.
OVERLAP = timedelta(minutes=5)
log = structlog.get_logger("leadsync.zoho.reads")


def since_header(mark: str) -> str:
    """``If-Modified-Since`` one second before ``mark``, in ``mark``'s own offset."""
    ts = parse_crm_ts(mark)
    if ts is None:
        raise CrmError(f"not a Zoho datetime in the cursor: {mark!r}")
    return (ts - timedelta(seconds=1)).isoformat(timespec="seconds")


def now_text(now: datetime) -> str:
    return now.astimezone(UTC).replace(microsecond=0).isoformat()


CODEC = CursorCodec("Zoho", "zc", 1)


@dataclass
class ZohoCursor:
    modules: dict[str, list[str]] = field(default_factory=dict)  # module → [watermark]
    activities: str | None = None  # activity watermark (Zoho's text)
    seen: list[str] = field(default_factory=list)  # "id@time" of activities changed since it
    deletions: dict[str, str] = field(default_factory=dict)  # module → deletions watermark
    # module → [the listing's If-Modified-Since mark ("" for none), its start, the last id read,
    # and "coql" once it continues past Get Records' 100,000-record cap]
    listing: dict[str, list[str]] = field(default_factory=dict)
    recent: dict[str, list[str]] = field(default_factory=dict)  # module → "id@time" read since
    # its watermark, so that the next listing, which reaches back that far, skips them

    def encode(self) -> str:
        return CODEC.encode(
            {
                "m": self.modules,
                "a": self.activities,
                "s": self.seen,
                "d": self.deletions,
                "l": self.listing,
                "r": self.recent,
            }
        )

    @classmethod
    def decode(cls, text: str) -> ZohoCursor:
        data = CODEC.decode(text)
        try:

            def lists(key: str) -> dict[str, list[str]]:
                return {str(k): [str(x) for x in v] for k, v in (data.get(key) or {}).items()}

            deletions = {str(k): str(v) for k, v in (data.get("d") or {}).items()}
            seen = [str(s) for s in data.get("s") or []]
            return cls(lists("m"), data.get("a"), seen, deletions, lists("l"), lists("r"))
        except (ValueError, TypeError, AttributeError):
            raise CODEC.foreign(text) from None


def full_read(mapping: ZohoMapping, cursor_text: str | None) -> bool:
    """Will this run read every lead and contact? The first run does, and a run resuming it: a
    module with no watermark yet is being read whole. (A cursor not of this adapter: no.)"""
    if not cursor_text:
        return True
    try:
        cursor = ZohoCursor.decode(cursor_text)
    except CursorError:
        return False
    return any(module not in cursor.modules for module in mapping.modules)


@dataclass
class _Run:
    client: ZohoClient
    mapping: ZohoMapping
    cursor: ZohoCursor
    select: Callable[[str], list[str]]
    activity_fields: Callable[[str], list[str]]
    remember: Callable[[str, str], None]
    keep_activity: Callable[[str, JSON], None]
    yielded: set[str] = field(default_factory=set)


def read_changes(
    client: ZohoClient,
    mapping: ZohoMapping,
    cursor_text: str | None,
    *,
    now: datetime,
    select: Callable[[str], list[str]],
    activity_fields: Callable[[str], list[str]],
    remember: Callable[[str, str], None],
    keep_activity: Callable[[str, JSON], None],
    is_own_task: Callable[[JSON], bool],
) -> Iterator[Page[Contact]]:
    """The run's pages, oldest change first (see the module docstring)."""
    try:
        cursor = ZohoCursor.decode(cursor_text) if cursor_text else None
    except CursorError as exc:
        raise CrmError(str(exc)) from None
    first = cursor is None
    if cursor is None:  # the first read: everything, and activity news and deletions from now on
        cursor = ZohoCursor(activities=now_text(now), deletions=dict.fromkeys(mapping.modules, now_text(now)))
    run = _Run(client, mapping, cursor, select, activity_fields, remember, keep_activity)
    news: dict[str, str] = {}
    if not first:
        deleted = _deletions(run, now)
        if deleted:
            yield Page([], cursor.encode(), deleted=tuple(deleted))
        news = _activity_news(run, is_own_task, now)
    yield from _records(run, news, first, now)
    rest = [(cid, module) for cid, module in news.items() if cid not in run.yielded]
    for module in mapping.modules:
        wanted = [cid for cid, m in rest if m == module]
        for start in range(0, len(wanted), 200):
            chunk = fetch_by_id(client, mapping, module, wanted[start : start + 200], select(module))
            yield Page(chunk, cursor.encode(), news=frozenset(c.id for c in chunk))


def _deletions(run: _Run, now: datetime) -> list[str]:
    out: list[str] = []
    for module in run.mapping.modules:
        mark = run.cursor.deletions.get(module) or now_text(now)
        newest = parse_crm_ts(mark) or now
        try:
            for records in pages(
                run.client, f"/{module}/deleted", {"type": "all"}, since=since_header(mark), tokens=False
            ):
                for r in records:
                    out.append(str(r.get("id")))
                    stamp = parse_crm_ts(r.get("deleted_time"))
                    if stamp is not None and stamp > newest:
                        newest, mark = stamp, str(r.get("deleted_time"))
        except Capped:
            log.warning("zoho_deletions_capped", module=module, detail="the rest come next run")
        run.cursor.deletions[module] = mark
    return [d for d in dict.fromkeys(out) if d and d != "None"]


def _activity_news(run: _Run, is_own_task: Callable[[JSON], bool], now: datetime) -> dict[str, str]:
    """id → module of the leads and contacts whose activities changed since the watermark.

    Listed by id, like the records (see the module docstring); the watermark becomes the listing's
    start less ``OVERLAP``, and the activities changed since then are remembered (``id@time``) so
    that the next run, which lists them again, does not take them for news twice.
    """
    c = run.cursor
    mark = c.activities or now_text(now)
    mark_ts = parse_crm_ts(mark) or now
    started_ts = now - OVERLAP
    seen = set(c.seen)
    recent: list[str] = []
    found: dict[str, str] = {}
    for module in run.mapping.activities.modules():
        params = {"fields": ",".join(run.activity_fields(module)), "sort_by": "id", "sort_order": "asc"}
        state = Listing(module, "")
        for last, records in listed(run.client, state, params, since_header(mark)):
            state.after = max([state.after, last], key=id_order)
            for r in records:
                stamp = parse_crm_ts(r.get("Modified_Time")) or mark_ts
                key = f"{r.get('id')}@{r.get('Modified_Time')}"
                if stamp >= started_ts:
                    recent.append(key)
                if stamp < mark_ts or key in seen:
                    continue
                if module == "Tasks" and is_own_task(r):
                    continue
                run.keep_activity(module, r)
                for cid, person_module in people_of(r, list(run.mapping.modules)):
                    found[cid] = person_module
                    run.remember(cid, person_module)
    c.activities = now_text(started_ts)
    c.seen = recent[-SEEN_CAP:]
    if found:
        log.info("zoho_activity_news", contacts=len(found))
    return found


def _records(run: _Run, news: dict[str, str], first: bool, now: datetime) -> Iterator[Page[Contact]]:
    """Each module's records changed since its watermark, by id; then the cursor past them all.

    Every page's cursor resumes the listing under way after its last id (the pages before it are
    listed again, and their records skipped); once the module is listed, its watermark becomes
    the listing's start less ``OVERLAP``.
    """
    c = run.cursor
    for module in run.mapping.modules:
        params = {"fields": ",".join(run.select(module)), "sort_by": "id", "sort_order": "asc"}
        if module == "Leads":
            params["converted"] = "false" if first else "both"
        mark = c.modules.get(module)
        since_text, started_text, after, *rest = c.listing.get(module) or [
            mark[0] if mark else "",
            now_text(now - OVERLAP),
            "",
        ]
        coql = rest[:1] == [COQL_MODE]
        started_ts = parse_crm_ts(started_text) or now
        # Changed before the watermark: a finished listing read it as it is (the header reaches a
        # second further back only in case Zoho's If-Modified-Since is not inclusive).
        floor = parse_crm_ts(since_text) if since_text else None
        skip = set(c.recent.get(module, []))
        recent: list[str] = []
        since = since_header(since_text) if since_text else None
        state = Listing(module, after, coql)
        for last, records in listed(run.client, state, params, since):
            fresh: list[JSON] = []
            for r in records:
                rid, key = str(r.get("id")), f"{r.get('id')}@{r.get('Modified_Time')}"
                stamp = parse_crm_ts(r.get("Modified_Time"))
                if stamp is not None and stamp >= started_ts:
                    recent.append(key)
                old = floor is not None and stamp is not None and stamp < floor
                if id_order(rid) > id_order(state.after) and key not in skip and not old:
                    fresh.append(r)
            state.after = max([state.after, last], key=id_order)
            c.listing[module] = [since_text, started_text, state.after, *state.mode()]
            if fresh:
                yield _page(run, module, fresh, news, cursor=c.encode())
        c.modules[module] = [started_text]
        c.listing.pop(module, None)
        c.recent[module] = recent[-SEEN_CAP:]
    yield Page([], c.encode())


def _page(
    run: _Run, module: str, records: list[JSON], news: dict[str, str], *, cursor: str | None
) -> Page[Contact]:
    moved: dict[str, str] = {}
    deleted: list[str] = []
    spec = run.mapping.modules[module]

    def convert(record: JSON) -> Contact | None:
        rid = str(record.get("id") or "")
        if rid and module == "Leads" and record.get("Converted__s"):
            detail = record.get("$converted_detail") or {}
            target = lookup_id(detail.get("contact")) if isinstance(detail, dict) else None
            if target and "Contacts" in run.mapping.modules:
                moved[rid] = target
                run.remember(target, "Contacts")
            else:
                deleted.append(rid)
            return None
        contact = contact_from_record(record, spec)
        run.remember(rid, module)
        return contact

    contacts, refused = read_each(records, convert, lambda r: r.get("id"))
    run.yielded.update(x.id for x in contacts)
    page_news = frozenset(x.id for x in contacts if x.id in news)
    return Page(contacts, cursor, news=page_news, deleted=tuple(deleted), moved=moved, refused=refused)


def fetch_by_id(
    client: ZohoClient, mapping: ZohoMapping, module: str, ids: Sequence[str], fields: Sequence[str]
) -> list[Contact]:
    """These records of one module as Zoho holds them now (converted leads and unknown ids left out)."""
    spec = mapping.modules[module]
    live = [r for r in by_ids(client, module, list(dict.fromkeys(ids)), fields) if not r.get("Converted__s")]
    return read_each(live, lambda r: contact_from_record(r, spec), lambda r: r.get("id"))[0]
