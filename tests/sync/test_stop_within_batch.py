"""A stop request is seen between two contacts of a batch, not only between batches (issue 13).

A batch holds up to `decide_batch` (1,000) contacts; deciding them once took as long as a rule's
regex wanted. SIGTERM now ends the deciding at the contact in hand: what was decided is
committed and written, the cursor stays before the batch, and the next run decides the rest.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from leadsync.model import Activity, Contact, Owner
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore, open_store
from tests.support import rules
from tests.sync.fake_crm import FakeCrm

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RULES = rules(
    """
    scoring:
      fit:
        - {name: ceo, if: {field: title, matches: "(?i)ceo"}, points: 30}
        - {name: trap, if: {field: trap, present: true}, points: 1}
      engagement:
        - {name: demo, activity: demo_request, points: 80}
    stages:
      mql: {score_at_least: 100}
    routing:
      pools: [{name: all, owners: [u1, u2]}]
    actions:
      - {trigger: stage_mql, task: {title: "First touch", due_in: 2h}}
    """
)


class Trap(dict[str, Any]):
    """Properties that send the stop request when a rule reads them: SIGTERM mid-decision."""

    stop: threading.Event | None = None

    def get(self, key: str, default: Any = None) -> Any:
        if key == "trap" and self.stop is not None:
            self.stop.set()
        return super().get(key, default)


def crm(trap: Trap | None = None) -> FakeCrm:
    fake = FakeCrm(owners=[Owner("u1"), Owner("u2")])
    for i in range(7):
        props = trap if (trap is not None and i == 2) else {}
        fake.put(Contact(id=f"c{i}", created_at=NOW - timedelta(days=9), title="CEO", properties=props))
        fake.activities.append(Activity(f"a{i}", f"c{i}", "demo_request", NOW - timedelta(minutes=5)))
    return fake


def state(fake: FakeCrm) -> Any:
    people = {cid: (c.stage, c.owner_id, c.score) for cid, c in fake.contacts.items()}
    return people, sorted(fake.tasks)


def test_stop_between_two_contacts(store: StateStore) -> None:
    trap = Trap()
    fake = crm(trap)
    job = SyncJob("test", fake, RULES, store, clock=lambda: NOW)
    trap.stop = job.stop  # set while c2 is decided: c0, c1, c2 are done, c3 is not started

    result = job.run()
    assert result.status == "stopped"
    assert result.counts["contacts_read"] == 7 and result.counts["contacts_decided"] == 3
    assert [c for c in sorted(fake.contacts) if fake.contacts[c].stage == "mql"] == ["c0", "c1", "c2"]
    assert store.status("test")["pending_writes"] == 0  # what was decided was written
    assert store.cursor("test") is None  # not past the contacts still to decide

    trap.stop = None
    again = SyncJob("test", fake, RULES, store, clock=lambda: NOW).run()
    assert again.status == "ok" and again.counts["contacts_decided"] == 4  # c3-c6; c0-c2 are echoes
    reference = crm()
    SyncJob("test", reference, RULES, open_store("sqlite://"), clock=lambda: NOW).run()
    assert state(fake) == state(reference)
