"""Reading what changed in an org: Leads and Contacts by ``SystemModstamp``, activity news, deletions.

One run, given the cursor of the last:

1. **Deletions** since the last run, per object, from ``sobjects/X/deleted`` (Salesforce keeps
   about 15 days of them). When the cursor is older than ``earliestDateAvailable`` the log no
   longer covers the gap: every object is read again from the start, and the read's last page
   says so (``Page.reread``, ``reread_done``) — what leadsync knows but did not read again is gone.
2. **Activity news**: Tasks, Events and Campaign Members changed since the last run, by
   ``SystemModstamp``, name the leads and contacts whose activities moved; a new call does not
   always change the lead itself (or changes it in a way that reads the same).
3. **Records**: ``SELECT … FROM Lead WHERE … ORDER BY SystemModstamp, Id``, by ``SystemModstamp``
   rather than ``LastModifiedDate`` because automation moves only the former. The cursor is
   the last record read, ``(stamp, Id)``, and resuming is exact (``SystemModstamp > :stamp OR
   (SystemModstamp = :stamp AND Id > :id)``; Salesforce keeps datetimes to the second) — except
   near the present: a long transaction commits with a stamp earlier than records already read,
   so when the last stamp is within the overlap (default 5 minutes) of when that read began, the
   next read starts at the read's start less the overlap. Records read again there are echoes to
   the loop: no activity reads, no writes. A query is a snapshot, paged by ``nextRecordsUrl``. A
   converted Lead is reported as moved to its ``ConvertedContactId``.
4. Leads and contacts with activity news that step 3 did not return are read by Id.

The cursor is ``sf1:`` and compact JSON (``leadsync.api.CursorCodec``, version 1): the last
record per object, when the read began, the activity watermark with the activity records already
seen inside the overlap, the deletions watermark, and a full re-read's start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from leadsync.api import JSON, Contact, CrmError, CursorCodec, CursorError, Page, parse_crm_ts
from leadsync.api.convertkit import read_each

from .client import SalesforceClient
from .convert import contact_from_record, object_of
from .mapping import SalesforceMapping

__all__ = ["IN_CHUNK", "SfCursor", "fetch_by_id", "read_changes", "soql_list", "soql_ts"]

IN_CHUNK = 300  # Ids per `IN (…)`: 300 × 21 characters keeps a query's URL far below 16 KB
SEEN_CAP = 5_000
log = structlog.get_logger("leadsync.salesforce.reads")


def soql_ts(ts: datetime) -> str:
    """A SOQL datetime literal (UTC, whole seconds, rounded down)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_list(values: Sequence[str]) -> str:
    """``('a','b')`` with quotes and backslashes escaped."""
    quoted = ("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
    return "(" + ",".join(quoted) + ")"


CODEC = CursorCodec("Salesforce", "sf", 1)


@dataclass
class SfCursor:
    objects: dict[str, list[str]] = field(default_factory=dict)  # object → [last stamp, its Id]
    read_at: str | None = None  # when the read that made this cursor began
    activities: str | None = None  # activity watermark
    seen: list[str] = field(default_factory=list)  # "Id@stamp" of activity records in the overlap
    deletions: str | None = None  # the end of the last deletions window
    reread_since: str | None = None  # a full re-read under way, begun then

    def encode(self) -> str:
        return CODEC.encode(
            {
                "o": self.objects,
                "q": self.read_at,
                "a": self.activities,
                "s": self.seen,
                "d": self.deletions,
                "r": self.reread_since,
            }
        )

    @classmethod
    def decode(cls, text: str) -> SfCursor:
        data = CODEC.decode(text)
        try:
            objects = {str(k): [str(v[0]), str(v[1])] for k, v in (data.get("o") or {}).items()}
            return cls(
                objects, data.get("q"), data.get("a"), list(data.get("s") or []), data.get("d"), data.get("r")
            )
        except (ValueError, TypeError, AttributeError, IndexError):
            raise CODEC.foreign(text) from None


@dataclass
class _Run:
    client: SalesforceClient
    mapping: SalesforceMapping
    cursor: SfCursor
    now: datetime
    overlap: timedelta
    batch_size: int
    fetch: Callable[[Sequence[str]], list[Contact]]
    select: Callable[[str], list[str]]
    task_key: Callable[[], bool]
    yielded: set[str] = field(default_factory=set)


def read_changes(
    client: SalesforceClient,
    mapping: SalesforceMapping,
    cursor_text: str | None,
    *,
    now: datetime,
    overlap: timedelta,
    batch_size: int,
    fetch: Callable[[Sequence[str]], list[Contact]],
    select: Callable[[str], list[str]],
    task_key: Callable[[], bool] = lambda: False,
) -> Iterator[Page[Contact]]:
    """The run's pages, oldest change first (see the module docstring)."""
    try:
        cursor = SfCursor.decode(cursor_text) if cursor_text else None
    except CursorError as exc:
        raise CrmError(str(exc)) from None
    if cursor is None:  # the first read: everything, and activity news from now on
        first = soql_ts(now)
        cursor = SfCursor(activities=first, deletions=first)
        run = _Run(client, mapping, cursor, now, overlap, batch_size, fetch, select, task_key)
        yield from _records(run, frozenset())
        return
    run = _Run(client, mapping, cursor, now, overlap, batch_size, fetch, select, task_key)
    previous_read = parse_crm_ts(cursor.read_at)
    deleted = _deletions(run)
    if deleted:
        yield Page([], cursor.encode(), deleted=tuple(deleted))
    news = _activity_news(run)
    yield from _records(run, news, previous_read)
    rest = sorted(news - run.yielded)
    for start in range(0, len(rest), batch_size):
        chunk = run.fetch(rest[start : start + batch_size])
        yield Page(chunk, cursor.encode(), news=frozenset(c.id for c in chunk))


def _deletions(run: _Run) -> list[str]:
    """Ids deleted since the deletions watermark; on a gap, start a full re-read instead."""
    c = run.cursor
    since = parse_crm_ts(c.deletions) or run.now
    if run.now - since < timedelta(minutes=1):  # the resource wants windows of a minute or more
        return []
    out: list[str] = []
    covered: list[datetime] = []
    for obj in run.mapping.objects:
        path = f"sobjects/{obj}/deleted/?start={soql_ts(since)}&end={soql_ts(run.now)}"
        body: JSON = run.client.rest("GET", path) or {}
        earliest = parse_crm_ts(body.get("earliestDateAvailable"))
        if earliest is not None and earliest > since:
            log.warning(
                "salesforce_deletions_gap", object=obj, since=soql_ts(since), earliest=soql_ts(earliest)
            )
            c.objects = {}
            c.reread_since = c.reread_since or soql_ts(run.now)
            c.deletions = soql_ts(run.now)
            return []
        out += [str(d.get("id")) for d in body.get("deletedRecords") or [] if d.get("id")]
        latest = parse_crm_ts(body.get("latestDateCovered"))
        covered.append(latest if latest is not None else run.now)
    # Salesforce says how far its answer reaches (its clock, not ours): the next window starts there.
    c.deletions = soql_ts(min(covered, default=run.now))
    return out


def _activity_news(run: _Run) -> frozenset[str]:
    """Leads and contacts whose Tasks, Events or Campaign Members changed since the watermark."""
    c = run.cursor
    mark = parse_crm_ts(c.activities) or run.now
    since = soql_ts(mark - run.overlap)
    seen = set(c.seen)
    newest = mark
    found: set[str] = set()
    own_tasks = " AND Leadsync_Key__c = null" if run.task_key() else ""  # leadsync's tasks are no news
    queries = [
        ("Task", ("WhoId",)),
        ("Event", ("WhoId",)),
        ("CampaignMember", ("LeadId", "ContactId")),
    ]
    kept: list[str] = []
    for sobject, links in queries:
        soql = f"SELECT Id, SystemModstamp, {', '.join(links)} FROM {sobject} WHERE SystemModstamp >= {since}"
        soql += own_tasks if sobject == "Task" else ""
        for page in run.client.query_pages(soql):
            for record in page:
                stamp = parse_crm_ts(record.get("SystemModstamp")) or mark
                key = f"{record.get('Id')}@{soql_ts(stamp)}"
                newest = max(newest, stamp)
                kept.append(key)
                if key in seen:
                    continue
                for link in links:
                    target = str(record.get(link) or "")
                    if object_of(target) in run.mapping.objects:
                        found.add(target)
    c.activities = soql_ts(newest)
    floor = soql_ts(newest - run.overlap)
    c.seen = [k for k in kept if k.rsplit("@", 1)[1] >= floor][-SEEN_CAP:]
    if found:
        log.info("salesforce_activity_news", contacts=len(found))
    return frozenset(found)


def _records(
    run: _Run, news: frozenset[str], previous_read: datetime | None = None
) -> Iterator[Page[Contact]]:
    c = run.cursor
    objects = list(run.mapping.objects)
    for i, obj in enumerate(objects):
        soql = f"SELECT {', '.join(run.select(obj))} FROM {obj}"
        where = _since(c.objects.get(obj), previous_read, run.overlap)
        if where is None and obj == "Lead":
            where = "IsConverted = false"  # a first read: converted leads are their contacts now
        soql += f" WHERE {where}" if where else ""
        soql += " ORDER BY SystemModstamp, Id"
        c.read_at = soql_ts(run.now)
        for records in run.client.query_pages(soql, batch_size=run.batch_size):
            yield _page(run, obj, records, news)
        if i == len(objects) - 1 and c.reread_since:
            c.reread_since = None
            yield Page([], c.encode(), reread=True, reread_done=True)


def _since(mark: list[str] | None, previous_read: datetime | None, overlap: timedelta) -> str | None:
    """The WHERE that resumes after ``mark``: exact, or from the overlap near the last read's start."""
    if not mark:
        return None
    stamp = parse_crm_ts(mark[0])
    if stamp is None:
        return None
    floor = (previous_read or stamp) - overlap
    if floor < stamp:
        return f"SystemModstamp >= {soql_ts(floor)}"
    ts = soql_ts(stamp)
    return f"(SystemModstamp > {ts} OR (SystemModstamp = {ts} AND Id > {soql_list([mark[1]])[1:-1]}))"


def _page(run: _Run, obj: str, records: list[JSON], news: frozenset[str]) -> Page[Contact]:
    c = run.cursor
    moved: dict[str, str] = {}
    deleted: list[str] = []

    def convert(record: JSON) -> Contact | None:
        rid = str(record.get("Id") or "")
        if rid and record.get("IsConverted"):
            target = str(record.get("ConvertedContactId") or "")
            if target and "Contact" in run.mapping.objects:
                moved[rid] = target
            else:
                deleted.append(rid)
            return None
        return contact_from_record(record, run.mapping)

    contacts, refused = read_each(records, convert, lambda r: r.get("Id"))
    if records:
        last = records[-1]
        stamp = parse_crm_ts(last.get("SystemModstamp"))
        if stamp is not None:
            c.objects[obj] = [soql_ts(stamp), str(last.get("Id"))]
    run.yielded.update(x.id for x in contacts)
    page_news = frozenset(x.id for x in contacts if x.id in news)
    reread = c.reread_since is not None
    return Page(
        contacts,
        c.encode(),
        news=page_news,
        deleted=tuple(deleted),
        moved=moved,
        reread=reread,
        refused=refused,
    )


def fetch_by_id(
    client: SalesforceClient,
    mapping: SalesforceMapping,
    ids: Sequence[str],
    select: Callable[[str], list[str]],
) -> list[Contact]:
    """These leads and contacts as Salesforce holds them now (converted leads and unknown ids left out)."""
    out: list[Contact] = []
    by_object: dict[str, list[str]] = {}
    for rid in dict.fromkeys(ids):
        obj = object_of(rid)
        if obj in mapping.objects:
            by_object.setdefault(str(obj), []).append(rid)
    for obj, wanted in by_object.items():
        fields = ", ".join(select(obj))
        for start in range(0, len(wanted), IN_CHUNK):
            soql = f"SELECT {fields} FROM {obj} WHERE Id IN {soql_list(wanted[start : start + IN_CHUNK])}"
            live = [r for r in client.query(soql) if not r.get("IsConverted")]
            out += read_each(live, lambda r: contact_from_record(r, mapping), lambda r: r.get("Id"))[0]
    return out
