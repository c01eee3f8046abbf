"""Listing an activity module whole, once a run, when that is cheaper than searching per 50 people.

A search (``GET /Calls/search?criteria=(What_Id:in:…)``) finds the activities of 50 people per
call; a listing (``GET /Calls?sort_by=id``, 200 a page) finds everybody's. So when the people
whose activities a run must read number more than about a quarter of the module's records — a
backfill, or a run after a mass update — one listing of the module costs less than the searches:
a 20,000-lead backfill needs 440 searches of Calls, or 128 pages of it.

**Deciding**, per run and activity module (``ListingPlan``): the listing costs ceil(M/200) pages,
M the module's size from ``GET /{module}/actions/count`` (1 credit; asked only when the answer
can matter, and kept for a day, or corrected by a listing's own count). On a full read (the first
run, or one resuming it: some module has no watermark yet) every person will be decided, so the
searches to come are ceil(leads/50) + ceil(contacts/50) from the same counts; the module is
listed when its pages are fewer. On other runs the people to come are unknown: the module is
listed once the searches already made this run and this batch's would reach its pages (the
ski-rental rule: never more than twice the cheaper way), so a run of a few changes never lists.

**Indexing**: the records are converted as they are listed (the mapping's fields only; calls
not done, unmapped tasks and leadsync's own tasks are dropped at once) and kept per person, to be
handed out once; a person asked for again in the same run is searched as before. The listing is
by id and past Zoho's 100,000-record cap goes on through COQL, as the records' listing does.

**What it sees** is what the searches see: every activity linked to the person by ``What_Id``,
``Who_Id`` or ``Parent_Id`` (and an event's participants, which search finds only through its
other links). The run's activity news is folded in (a record the news pass listed and the
listing no longer returns is kept, as it is merged with search results). A listing does not lag
as search does; what is created or changed after it is next run's activity news, whose watermark
is this run's start less five minutes: the same guarantee the searches give.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from leadsync.api import JSON, Activity, AuthError, Clock, CrmError, RetryableError

from .client import ZohoClient
from .coql import Listing, id_order, listed

__all__ = ["ActivityIndex", "ListingPlan", "ModuleSizes", "list_whole", "listing_pays"]

PER_PAGE = 200  # records a listing page holds
PER_SEARCH = 50  # people one search names (`in` takes 50)
SIZE_LIFE = timedelta(days=1)  # a module's count is a cost estimate: a day old is good enough
log = structlog.get_logger("leadsync.zoho.activities")


def listing_pays(size: int, done: int, now: int, expected: int = 0) -> bool:
    """Is listing a module of ``size`` records cheaper than searching?

    ``done``: searches of it made this run; ``now``: this batch's; ``expected``: the run's whole
    (a full read's, known up front; 0 when unknown). Ties go to searching (nothing to hold).
    """
    pages = max(1, math.ceil(size / PER_PAGE))
    return pages < max(done + now, expected - done)


def searches_for(count: int) -> int:
    return math.ceil(count / PER_SEARCH) if count > 0 else 0


class ModuleSizes:
    """Records per module (``GET /{module}/actions/count``), asked once a day at most."""

    def __init__(self, client: ZohoClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self._sizes: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, module: str) -> int | None:
        """The module's size, or None when Zoho will not count it (then searching is kept)."""
        with self._lock:
            known = self._sizes.get(module)
        if known is not None and self.clock.now() - known[1] < SIZE_LIFE:
            return known[0]
        try:
            body = self.client.get(f"/{module}/actions/count") or {}
        except CrmError as exc:
            if isinstance(exc, AuthError | RetryableError) or exc.status not in (400, 404):
                raise
            log.warning("zoho_count_refused", module=module, error=str(exc))
            return None
        size = int(body.get("count") or 0)
        self.set(module, size)
        return size

    def set(self, module: str, size: int) -> None:
        with self._lock:
            self._sizes[module] = (size, self.clock.now())


@dataclass
class ActivityIndex:
    """One activity module listed whole: each person's canonical activities, until handed out."""

    module: str
    by_person: dict[str, list[Activity]] = field(default_factory=dict)
    served: set[str] = field(default_factory=set)
    records: int = 0

    def add(self, who: str, activity: Activity) -> None:
        self.by_person.setdefault(who, []).append(activity)

    def take(self, people: Iterable[str]) -> list[Activity]:
        """These people's activities, each person once a run (then forgotten: memory)."""
        out: list[Activity] = []
        for who in people:
            self.served.add(who)
            out += self.by_person.pop(who, [])
        return out


@dataclass
class ListingPlan:
    """One run's choice, per activity module, between searching and listing it whole."""

    sizes: ModuleSizes
    people_modules: Sequence[str]
    full: bool = False
    searched: dict[str, int] = field(default_factory=dict)
    indexes: dict[str, ActivityIndex] = field(default_factory=dict)

    def start(self, *, full: bool) -> None:
        """A new run: nothing listed or searched yet; ``full`` when every person will be decided."""
        self.full = full
        self.searched = {}
        self.indexes = {}

    def lists(self, module: str, searches: int) -> bool:
        """Should ``module`` be listed whole rather than searched ``searches`` times for this batch?"""
        if module in self.indexes:
            return True
        done = self.searched.get(module, 0)
        expected = self._expected(module) if self.full else 0
        if max(done + searches, expected - done) < 2:
            return False  # one search costs no more than the smallest listing: nothing to count
        size = self.sizes.get(module)
        if size is None:
            return False
        choice = listing_pays(size, done, searches, expected)
        log.info(
            "zoho_activities_plan",
            module=module,
            size=size,
            searched=done,
            batch=searches,
            expected=expected,
            choice="list" if choice else "search",
        )
        return choice

    def count(self, module: str, searches: int) -> None:
        self.searched[module] = self.searched.get(module, 0) + searches

    def _expected(self, module: str) -> int:
        """A full read's searches of ``module``: every lead and contact, 50 a search."""
        counts = [self.sizes.get(m) or 0 for m in self.people_modules]
        if module == "Notes":  # one Parent_Id search covers leads and contacts together
            return searches_for(sum(counts))
        return sum(searches_for(c) for c in counts)


def list_whole(
    client: ZohoClient,
    module: str,
    fields: Sequence[str],
    people: Callable[[JSON], list[tuple[str, str]]],
    convert: Callable[[str, JSON, str], Activity | None],
    news: dict[str, JSON],
) -> ActivityIndex:
    """``module`` listed by id (past the cap through COQL), as canonical activities per person.

    ``news``: the run's activity news of this module (id → record); those the listing no longer
    returns (deleted since) are kept, as the searches' merge keeps them.
    """
    index = ActivityIndex(module)
    params = {"fields": ",".join(fields), "sort_by": "id", "sort_order": "asc"}
    state = Listing(module, "")
    owners: dict[str, str] = {}
    missing = dict(news)
    for last, records in listed(client, state, params, None):
        state.after = max([state.after, last], key=id_order)
        for r in records:
            index.records += 1
            missing.pop(str(r.get("id")), None)
            _index(index, module, r, people, convert, owners)
    for r in missing.values():
        _index(index, module, r, people, convert, owners)
    log.info("zoho_activities_listed", module=module, records=index.records, people=len(index.by_person))
    return index


def _index(
    index: ActivityIndex,
    module: str,
    record: JSON,
    people: Callable[[JSON], list[tuple[str, str]]],
    convert: Callable[[str, JSON, str], Activity | None],
    owners: dict[str, str],
) -> None:
    """Keep the record's activity for each person it names (strings shared: a few owners)."""
    for who, _ in people(record):
        made = convert(module, record, who)
        if made is None:
            continue
        if made.owner_id is not None:
            made.owner_id = owners.setdefault(made.owner_id, made.owner_id)
        made.contact_id = sys.intern(made.contact_id)
        index.add(made.contact_id, made)
