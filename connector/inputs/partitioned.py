"""``evaluate`` for inputs larger than its memory budget: partitioned by contact on disk.

Contacts and activities go, as they are read and checked, into ``count`` partitions by a hash of
the contact id (temporary files under ``$TMPDIR``, removed at the end, also on error); each
partition is then decided alone, its decisions spilled in order of id. A contact that needs
routing (step 8 orders all of them, across the whole input) waits on disk with its records; what
stays in memory is its key, and the routing index holds only what routing can look at: the
waiting contacts, for each of their company domains the earliest other contact with an active
owner, and today's assignment counts per owner. Last, the partitions' decisions and the routed
ones are merged in order of id.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import msgspec
import orjson

from leadsync.decision import Decision
from leadsync.errors import Problem, RecordsError
from leadsync.inputs.activities import group_by_contact, read_activities
from leadsync.inputs.contacts import read_contacts
from leadsync.inputs.spill import Partitions
from leadsync.jsonl import MAX_PROBLEMS, load_owners
from leadsync.model import Activity, Contact, Owner
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import RunStats
from leadsync.rules.routing import FREE_MAIL_DOMAINS, Router, RoutingIndex, RoutingState
from leadsync.rules.streaming import Decider, RouteKey

__all__ = ["decide_partitioned"]

# Records pending in memory for all partitions together (one block each), about.
_PENDING_ACTIVITIES = 200_000
_PENDING_CONTACTS = 20_000
_PENDING_LINES = 20_000

Line = tuple[str, bytes]  # (contact id, its decision as a JSON line)
_Fact = tuple[str, datetime, str, str]  # (domain, created_at, id, active owner) of a contact


def decide_partitioned(
    rules: Rules,
    contacts_path: Path,
    activities_path: Path,
    owners_path: Path | None,
    now: datetime,
    count: int,
    explain: tuple[str | None, list[str]],
    stats: RunStats,
    seen: Callable[[Decision], None],
    write: Callable[[bytes], object] | None,
) -> int:
    """Decide every contact, ``seen`` each decision, ``write`` the JSON lines in order of id;
    the number of activities skipped (unknown contact). Inputs are checked before any write.
    ``explain`` is the contact whose reasoning goes to the notes, and the notes."""
    with tempfile.TemporaryDirectory(prefix="leadsync-evaluate-") as name:
        tmp = Path(name)
        contacts = _spill_contacts(contacts_path, tmp, count)
        owners = load_owners(owners_path) if owners_path else None
        activities = _spill_activities(rules, activities_path, tmp, count)
        decider = Decider(rules, owners, now, explain[0], explain[1], stats)
        run = _Run(rules, owners, now, tmp, count, decider, seen)
        skipped = 0
        for p in range(count):
            skipped += run.partition(p, (c for _, c in contacts.read(p)), activities.read(p))
            contacts.remove(p)
            activities.remove(p)
        routed = run.route()
        if write is not None:
            for _, line in heapq.merge(*(run.out.read(p) for p in range(count)), routed):
                write(line)
    return skipped


def _spill_contacts(path: Path, tmp: Path, count: int) -> Partitions[tuple[int, Contact]]:
    parts: Partitions[tuple[int, Contact]] = Partitions(
        tmp, "contacts", count, pickle.dumps, pickle.loads, _PENDING_CONTACTS // count
    )
    for number, contact in read_contacts(path):
        parts.add(hash(contact.id) % count, (number, contact))
    parts.close()
    # A repeated id lands in one partition: each is checked alone, the problems sorted by line.
    problems: list[Problem] = []
    for p in range(count):
        first: dict[str, int] = {}
        for number, contact in parts.read(p):
            line = first.setdefault(contact.id, number)
            if line != number:
                message = f"contact `{contact.id}` is already on line {line}"
                problems.append(Problem(str(path), number, message))
        problems = sorted(problems, key=lambda q: q.line)[:MAX_PROBLEMS]
    if problems:
        raise RecordsError(problems)
    return parts


def _spill_activities(rules: Rules, path: Path, tmp: Path, count: int) -> Partitions[Activity]:
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(list[Activity])
    parts: Partitions[Activity] = Partitions(
        tmp, "activities", count, encoder.encode, decoder.decode, _PENDING_ACTIVITIES // count
    )
    for batch in read_activities(path, rules.activity_types, rules.activity_fields):
        buckets: list[list[Activity]] = [[] for _ in range(count)]
        for a in batch:
            buckets[hash(a.contact_id) % count].append(a)
        for p, bucket in enumerate(buckets):
            if bucket:
                parts.extend(p, bucket)
    parts.close()
    return parts


class _Run:
    """The decisions of one evaluation, partition by partition, then the routed ones."""

    def __init__(
        self,
        rules: Rules,
        owners: Mapping[str, Owner] | None,
        now: datetime,
        tmp: Path,
        count: int,
        decider: Decider,
        seen: Callable[[Decision], None],
    ) -> None:
        self.owners = owners
        self.now = now
        self.tmp = tmp
        self.decider = decider
        self.seen = seen
        lines = msgspec.msgpack.Decoder(list[tuple[str, bytes]])
        self.out: Partitions[Line] = Partitions(
            tmp, "decided", count, msgspec.msgpack.encode, lines.decode, _PENDING_LINES // count
        )
        facts = msgspec.msgpack.Decoder(list[tuple[str, datetime, str, str]])
        self.facts: Partitions[_Fact] = Partitions(
            tmp, "domains", 1, msgspec.msgpack.encode, facts.decode, 10_000
        )
        self.tz = rules.calendar.tz
        self.today = now.astimezone(self.tz).date()
        self.index = RoutingIndex(self.tz)
        self.domains: set[str] = set()  # of the waiting contacts
        self.assigned_today: dict[str, int] = {}
        self.waiting: list[tuple[RouteKey, int, int]] = []  # key, offset and size in the file
        self.waiting_file = (tmp / "waiting.bin").open("w+b")

    def partition(self, p: int, contacts: Iterable[Contact], activities: Iterable[Activity]) -> int:
        """Decide the contacts of partition ``p`` in order of id; the activities skipped."""
        ordered = sorted(contacts, key=lambda c: c.id)
        grouped, skipped = group_by_contact((c.id for c in ordered), activities)
        for contact in ordered:
            acts = grouped.pop(contact.id)
            result = self.decider.first(contact, acts)
            if isinstance(result, Decision):
                self.seen(result)
                self.out.add(p, (contact.id, orjson.dumps(result.to_json()) + b"\n"))
                self._remember(contact)
            else:
                self._wait(result, contact, acts)
        return skipped

    def _remember(self, c: Contact) -> None:
        """What routing may need of a contact it will not change: its domain, its assignment."""
        owners = self.owners
        owner_id = c.owner_id
        if owners is None or not owner_id:
            return
        if c.assigned_at is not None and c.assigned_at.astimezone(self.tz).date() == self.today:
            self.assigned_today[owner_id] = self.assigned_today.get(owner_id, 0) + 1
        owner = owners.get(owner_id)
        if c.domain and c.domain not in FREE_MAIL_DOMAINS and (owner is None or owner.active):
            self.facts.add(0, (c.domain, c.created_at, c.id, owner_id))

    def _wait(self, key: RouteKey, c: Contact, activities: list[Activity]) -> None:
        data = pickle.dumps((c, activities))
        offset = self.waiting_file.tell()
        self.waiting_file.write(data)
        self.waiting.append((key, offset, len(data)))
        self.index.upsert(c.id, c.domain, c.created_at, c.owner_id, c.assigned_at)
        if c.domain and c.domain not in FREE_MAIL_DOMAINS:
            self.domains.add(c.domain)

    def route(self) -> Iterator[Line]:
        """Route the waiting contacts in order of key; their lines in order of id."""
        self.out.close()
        self.facts.close()
        earliest: dict[str, tuple[datetime, str, str]] = {}
        for domain, created, cid, owner in self.facts.read(0):
            if domain in self.domains:
                best = earliest.get(domain)
                if best is None or (created, cid) < best[:2]:
                    earliest[domain] = (created, cid, owner)
        for domain, (created, cid, owner) in earliest.items():
            self.index.upsert(cid, domain, created, owner, None)
        for owner, n in self.assigned_today.items():
            self.index.count_assigned(owner, self.today, n)
        router = Router(self.index, self.owners or {}, self.now, RoutingState())
        self.waiting.sort()
        spill = self.waiting_file
        done = (self.tmp / "routed.bin").open("w+b")
        placed: list[tuple[str, int, int]] = []
        for (_, cid), offset, size in self.waiting:
            spill.seek(offset)
            contact, activities = pickle.loads(spill.read(size))
            decision = self.decider.route(contact, activities, router)
            self.seen(decision)
            line = orjson.dumps(decision.to_json()) + b"\n"
            placed.append((cid, done.tell(), len(line)))
            done.write(line)
        self.waiting.clear()
        spill.close()
        placed.sort()
        return _lines_at(done, placed)


def _lines_at(handle: BinaryIO, placed: list[tuple[str, int, int]]) -> Iterator[Line]:
    with handle:
        for cid, offset, size in placed:
            handle.seek(offset)
            yield cid, handle.read(size)
