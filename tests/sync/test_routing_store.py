"""The sync run's routing index in the state store (``leadsync.sync.routing_store``), on SQLite
and PostgreSQL: it answers as an index of every stored contact would, before and after a batch
settles; an idle run never asks it; a run sees what another replica's run assigned."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leadsync.model import Activity, Owner
from leadsync.rules.loader import load_rules
from leadsync.rules.routing import RoutingIndex
from leadsync.sync.database import utc
from leadsync.sync.loop import SyncJob
from leadsync.sync.routing_store import StoredRoutingIndex
from leadsync.sync.state import StateStore
from tests.sync.fake_crm import FakeCrm
from tests.sync.test_loop import NOW, contact

MADRID = ZoneInfo("Europe/Madrid")
DOMAINS = ["acme.com", "beta.io", "gmail.com", "gamma.es"]
OWNERS = ["u1", "u2", "u3"]

RULES_YAML = Path(__file__).with_name("rules.yaml").read_text(encoding="utf-8")


def _row(
    cid: str, domain: str | None, created: datetime, owner: str | None, assigned: datetime | None
) -> dict[str, Any]:
    return {
        "connection": "test",
        "contact_id": cid,
        "record": {"id": cid},
        "activities": [],
        "read_at": NOW,
        "recheck_at": NOW + timedelta(days=1),
        "stage": "lead",
        "sla_status": None,
        "domain": domain,
        "created_at": created,
        "owner_id": owner,
        "assigned_at": assigned,
    }


def _random_contact(rnd: random.Random, cid: str) -> tuple[Any, ...]:
    created = NOW - timedelta(days=rnd.choice([1, 2, 3]))  # ties in created_at, broken by id
    owner = rnd.choice([*OWNERS, None])
    # Around Madrid's midnight on purpose: the day counted is the rules' local day.
    assigned = NOW - timedelta(hours=rnd.choice([0, 9, 10, 11, 12, 33, 34, 35, 60])) if owner else None
    return (cid, rnd.choice([*DOMAINS, None]), created, owner, assigned)


def _answers(index: RoutingIndex) -> dict[str, Any]:
    """What routing asks: the contacts at each domain and their owners (account match), and each
    owner's assignments on each local day (capacity)."""
    days = [NOW.astimezone(MADRID).date() - timedelta(days=d) for d in range(4)]
    domains = {d: index.same_domain(d) for d in DOMAINS}
    return {
        "domains": domains,
        "owners": {cid: index.owner_of(cid) for group in domains.values() for _, cid in group},
        "days": {(o, d): index.assigned_on(o, d) for o in OWNERS for d in days},
    }


def _rebuilt(truth: dict[str, tuple[Any, ...]]) -> RoutingIndex:
    """The index a run used to build at its start: every stored contact, afresh."""
    full = RoutingIndex(MADRID)
    for c in truth.values():
        full.upsert(*c)
    return full


@pytest.mark.parametrize("seed", range(3))
def test_it_answers_as_an_index_rebuilt_from_every_stored_contact(store: StateStore, seed: int) -> None:
    rnd = random.Random(seed)
    truth = {c[0]: c for c in (_random_contact(rnd, f"c{i:03d}") for i in range(120))}
    with store.transaction() as s:
        store.save_contacts(s, [_row(*c) for c in truth.values()])
    index = StoredRoutingIndex(store, "test", MADRID)
    ids = [*truth, "new1", "new2"]
    for _ in range(3):  # batches: told, asked, assigned; then committed and settled
        told = {c[0]: c for c in (_random_contact(rnd, rnd.choice(ids)) for _ in range(25))}
        for c in told.values():
            index.upsert(*c)
            truth[c[0]] = c
        assert _answers(index) == _answers(_rebuilt(truth))
        for cid in list(told)[:10]:
            owner = rnd.choice(OWNERS)
            index.assign(cid, owner, NOW)
            truth[cid] = (*truth[cid][:3], owner, NOW)
        assert _answers(index) == _answers(_rebuilt(truth))
        with store.transaction() as s:  # the batch committed: its snapshots hold the same
            store.save_contacts(s, [_row(*truth[cid]) for cid in told])
        index.settle()
        assert _answers(index) == _answers(_rebuilt(truth))


ROUTED_RULES = RULES_YAML.replace(
    "routing:\n  pools: [{name: all, owners: [u1, u2]}]",
    "routing:\n  account_match: true\n  pools: [{name: all, owners: [u1, u2, u3]}]",
)


class _Rebuilt(RoutingIndex):
    """The index as runs used to build it: every stored contact, at the start of each run."""

    def settle(self) -> None:
        """Kept for the whole run, updated in memory."""


class _RebuildingJob(SyncJob):
    def _index(self) -> Any:
        index = _Rebuilt(self.rules.calendar.tz)
        ids = self.store.contact_ids(self.name)
        for cid, row in self.store.contacts(self.name, ids).items():
            index.upsert(cid, row.domain, utc(row.created_at) or NOW, row.owner_id, utc(row.assigned_at))
        return index


def _crm() -> FakeCrm:
    # u1 takes one contact a day; u3 is inactive, so what it owned is routed again.
    fake = FakeCrm(owners=[Owner("u1", capacity_per_day=1), Owner("u2"), Owner("u3", active=False)])
    for i in range(12):
        fake.put(contact(f"c{i:02d}", "CEO", domain=["acme.com", "beta.io", "gmail.com"][i % 3]))
    fake.person_sets("c03", owner_id="u3")
    return fake


def _demo(fake: FakeCrm, cid: str, minutes: int) -> None:
    fake.activities.append(
        Activity(f"a-{cid}-{minutes}", cid, "demo_request", NOW - timedelta(minutes=minutes))
    )


def _crm_owners(fake: FakeCrm) -> dict[str, Any]:
    return {cid: (c.stage, c.owner_id, c.assigned_at) for cid, c in sorted(fake.contacts.items())}


@pytest.mark.parametrize("decide_batch", [1, 4, 1000])
def test_runs_route_as_with_an_index_rebuilt_at_each_run(
    store: StateStore, tmp_path: Path, decide_batch: int
) -> None:
    """Account match, capacity per day and inactive owners over three runs (contacts turning MQL
    between them), batch by batch: the same owners as runs that rebuilt the index each time."""
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(ROUTED_RULES, encoding="utf-8")
    rules = load_rules(rules_path)
    ours, theirs = _crm(), _crm()
    reference = StateStore(_fresh_sqlite(tmp_path))
    for run, (hot, now) in enumerate(
        [(range(0, 12, 4), NOW), (range(1, 12, 2), NOW), (range(12), NOW + timedelta(days=1))]
    ):
        for fake in (ours, theirs):
            for i in hot:
                _demo(fake, f"c{i:02d}", run)
        SyncJob("test", ours, rules, store, clock=lambda now=now: now, decide_batch=decide_batch).run()
        _RebuildingJob(
            "test", theirs, rules, reference, clock=lambda now=now: now, decide_batch=decide_batch
        ).run()
        assert _crm_owners(ours) == _crm_owners(theirs)
    assert {c.owner_id for c in ours.contacts.values()} >= {"u1", "u2"}


def _fresh_sqlite(tmp_path: Path) -> Any:
    from leadsync.sync import database

    engine = database.engine(f"sqlite:///{tmp_path}/reference.db")
    database.migrate(engine)
    return engine


def test_an_idle_run_never_asks_the_store_for_routing(store: StateStore, tmp_path: Path) -> None:
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(ROUTED_RULES, encoding="utf-8")
    fake = _crm()
    for i in range(12):
        _demo(fake, f"c{i:02d}", 5)
    job = SyncJob("test", fake, load_rules(rules_path), store, clock=lambda: NOW)
    job.run()
    asked: list[str] = []
    store.contacts_at_domain = lambda *a: asked.append("domain") or []  # type: ignore[method-assign]
    store.assigned_between = lambda *a: asked.append("day") or []  # type: ignore[method-assign]
    result = job.run()
    assert result.counts.get("contacts_decided", 0) == 0 and asked == []


def test_a_run_sees_the_owners_another_replica_assigned(store: StateStore, tmp_path: Path) -> None:
    """Two jobs on one store (two replicas, one after the other holding the lease): the second
    one's account match finds the owner the first one routed, with no index to bring up to date."""
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(ROUTED_RULES, encoding="utf-8")
    rules = load_rules(rules_path)
    fake = FakeCrm(owners=[Owner("u1"), Owner("u2"), Owner("u3")])
    fake.put(contact("first", "CEO", domain="acme.com"))
    _demo(fake, "first", 5)
    one = SyncJob("test", fake, rules, store, clock=lambda: NOW)
    two = SyncJob("test", fake, rules, store, clock=lambda: NOW + timedelta(minutes=1))
    one.run()
    owner = fake.contacts["first"].owner_id
    assert owner is not None
    for i in range(3):  # round robin would hand these to three owners; account match to one
        fake.put(contact(f"later{i}", "CEO", domain="acme.com"))
        _demo(fake, f"later{i}", 1)
    two.run()
    assert {fake.contacts[f"later{i}"].owner_id for i in range(3)} == {owner}
