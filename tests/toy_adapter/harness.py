"""The toy adapter's harnesses for leadsync.testing's two suites, as a third-party author writes them.

The adapter is built through leadsync's registry (``adapter_factory("toy")``), the way a
connection would build it; the fake CRM is driven through its Python back door.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from leadsync.api import CrmAdapter, RetryPolicy
from leadsync.model import BUILTIN_REASONS
from leadsync.registry import adapter_factory
from leadsync.testing import (
    AUTOMATION,
    CONVERT,
    LOCKS,
    CallTap,
    QuotaStop,
    SleepRecorder,
    SyncHarness,
    example_playbook,
    http_calls,
)
from tests.toy_adapter.adapter import CUSTOM, STANDARD, contact_from_json
from tests.toy_adapter.fake import TOKEN, ToyCrm

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid
PLAYBOOK = "smarketing-2h.yaml"  # pricing page +20 (twice at most), demo request +50, CEO +10: MQL at 70
TITLES = ["CEO", "Head of Sales", "Marketing Manager", "Student", "Engineer", "Operations Lead"]
PAGES = ["/pricing", "/blog/lead-scoring", "/", "/integrations"]
WRITTEN = ("stage", "owner", *CUSTOM.values())


def toy_adapter(crm: ToyCrm, **options: Any) -> CrmAdapter:
    """The toy adapter on ``crm``, found by name as a connection finds it."""
    factory = adapter_factory("toy")
    adapter: CrmAdapter = factory(
        {"base_url": crm.url, "token": TOKEN, "retry": SleepRecorder().policy(), **options}
    )
    return adapter


def _owners(crm: ToyCrm) -> None:
    crm.owners = [
        {"id": f"o{i}", "name": f"Rep {i}", "email": f"rep{i}@toy.example", "active": i != 6}
        for i in range(1, 7)
    ]


class ToyAdapterHarness:
    """The adapter contract's view of a toy CRM."""

    reason_labels = BUILTIN_REASONS

    def __init__(self, crm: ToyCrm) -> None:
        self.crm = crm
        _owners(crm)
        self._edits = itertools.count(1)

    def make_adapter(self, retry: RetryPolicy | None = None) -> CrmAdapter:
        return toy_adapter(self.crm, retry=retry or SleepRecorder().policy())

    def seed_contacts(self, n: int, *, equal_timestamps: bool = False) -> list[str]:
        """``n`` new leads created a day ago (the toy CRM orders changes by sequence, not time)."""
        crm, base = self.crm, self.crm.now() - timedelta(days=1)
        with crm.lock:
            crm.clear_people()
            ids = [f"p{i}" for i in range(n)]
            for i, pid in enumerate(ids):
                at = base if equal_timestamps else base + timedelta(seconds=i // 3)
                crm.add_person(
                    pid, at, email=f"lead{i}@example{i % 40}.com", first_name=f"Lead{i}", stage="lead"
                )
        return ids

    def touch(self, contact_id: str) -> None:
        self.crm.person_sets(contact_id, title=f"Edited {next(self._edits)}")

    def inject(self, fault: str, times: int = 1) -> None:
        if fault == "rate_limit":
            self.crm.fail_next(429, times)
        elif fault == "server_error":
            self.crm.fail_next(503, times)
        elif fault == "unauthorized":
            self.crm.revoked = True
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def call_count(self) -> int:
        return len(self.crm.calls)

    def reject_writes_for(self, contact_id: str) -> None:
        self.crm.refused.add(contact_id)

    def contact_value(self, contact_id: str, field: str) -> Any:
        return contact_from_json(self.crm.people[contact_id].json()).get(field)

    def task_count(self, key: str) -> int:
        return sum(1 for t in self.crm.tasks.values() if t["key"] == key)

    def expected_owners(self) -> dict[str, bool]:
        return {o["id"]: o["active"] for o in self.crm.owners}


# -- the sync contract ---------------------------------------------------------------------------


def toy_crm(people: int = 40, hot: int = 1) -> ToyCrm:
    """A running toy CRM set up for leadsync: ``people`` leads with page views and calls (none
    reaches the playbook's 70 points), and ``hot`` CEOs who read the pricing page twice and just
    asked for a demo (100 points: an MQL, and a task for its owner). The same every time."""
    crm = ToyCrm(now=NOW).start()
    _owners(crm)
    rng = random.Random(3)
    for i in range(people):
        pid = f"p{i + 1}"
        owner = rng.choice([None, None, "o1", "o2", "o6"])
        values = {
            "email": f"lead{i}@company{i % 15}.example",
            "first_name": f"Lead{i}",
            "last_name": "Toy",
            "title": rng.choice(TITLES),
            "company": f"Company {i % 15}",
            "country": rng.choice(["ES", "FR", "DE"]),
            "employees": rng.choice([10, 80, 600]),
            "stage": "lead",
            "owner": owner,
        }
        crm.add_person(pid, NOW - timedelta(days=rng.randint(5, 400)), **values)
        for _ in range(rng.randint(0, 3)):
            at = NOW - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 600))
            if rng.random() < 0.7:
                crm.log(pid, "page_view", at, url=rng.choice(PAGES))
            else:
                crm.log(pid, "call", at, owner=owner or "o1", outcome=rng.choice(["connected", "no_answer"]))
    for i in range(hot):
        pid = f"v{i + 1}"
        crm.add_person(
            pid,
            NOW - timedelta(days=3),
            email=f"visitor{i}@energia-norte.example",
            first_name=f"Visitor {i}",
            last_name="Vidal",
            title="CEO",
            company="Energía Norte",
            country="ES",
            employees=1200,
            stage="lead",
            owner=None,
        )
        for minutes in (50, 30):
            crm.log(pid, "page_view", NOW - timedelta(minutes=minutes), url="/pricing")
        crm.log(pid, "demo_request", NOW - timedelta(minutes=9))
    toy_adapter(crm).setup(BUILTIN_REASONS)
    crm.calls.clear()
    return crm


class ToySyncHarness(SyncHarness[ToyCrm]):
    """The sync contract's view of a toy CRM."""

    now = NOW
    lacks: ClassVar[Mapping[str, str]] = {
        AUTOMATION: "the toy CRM runs no automation on writes",
        LOCKS: "the toy CRM does not lock records",
        CONVERT: "the toy CRM keeps one kind of person: nothing to convert",
    }

    def start(self, people: int = 40, hot: int = 1) -> ToyCrm:
        return toy_crm(people, hot)

    def stop(self, crm: ToyCrm) -> None:
        crm.stop()

    def adapter(self, crm: ToyCrm, **options: Any) -> CrmAdapter:
        return toy_adapter(crm, **options)

    def playbook(self, crm: ToyCrm) -> str:
        return example_playbook(PLAYBOOK, [o["id"] for o in crm.owners if o["active"]])

    def advance(self, crm: ToyCrm, seconds: float) -> None:
        crm.advance(seconds)

    def state(self, crm: ToyCrm) -> dict[str, Any]:
        with crm.lock:
            people = {p.id: tuple(str(p.values.get(f)) for f in WRITTEN) for p in crm.people.values()}
            tasks = sorted(
                tuple(str(t[f]) for f in ("key", "person", "owner", "title", "due"))
                for t in crm.tasks.values()
            )
        return {"people": people, "tasks": tasks}

    def people(self, crm: ToyCrm) -> list[str]:
        return sorted(crm.people, key=lambda pid: (pid[0], int(pid[1:])))

    def record(self, crm: ToyCrm, person_id: str) -> Mapping[str, Any]:
        return crm.people[person_id].json()

    def value(self, crm: ToyCrm, person_id: str, field: str) -> Any:
        return contact_from_json(crm.people[person_id].json()).get(field)

    def task_keys(self, crm: ToyCrm) -> list[str]:
        return sorted(crm.tasks)

    def calls(self, crm: ToyCrm, tap: CallTap) -> AbstractContextManager[None]:
        return http_calls(crm.url, tap)

    def rep_edit(self, crm: ToyCrm, person_id: str) -> Mapping[str, Any]:
        before = crm.people[person_id].values
        rep = next(o["id"] for o in crm.owners if o["active"] and o["id"] != before.get("owner"))
        edit = {
            STANDARD["stage"]: "nurture" if before.get("stage") != "nurture" else "sql",
            STANDARD["owner_id"]: rep,
        }
        crm.person_sets(person_id, **edit)
        return edit

    def refuse(self, crm: ToyCrm, person_id: str, refuse: bool = True) -> Sequence[str]:
        (crm.refused.add if refuse else crm.refused.discard)(person_id)
        return ["VALIDATION_RULE", "partner team"]

    def reset_calls(self, crm: ToyCrm) -> None:
        crm.calls.clear()

    def write_calls(self, crm: ToyCrm) -> list[str]:
        return [c for c in crm.calls if c.startswith(("PATCH", "PUT", "POST /tasks", "POST /fields"))]

    def exhaust_quota(self, crm: ToyCrm) -> QuotaStop:
        crm.daily_max = crm.used + 5  # the day ends a few calls into the run
        return QuotaStop("daily quota")

    def use_up_quota(self, crm: ToyCrm) -> QuotaStop:
        crm.daily_max = crm.used
        return QuotaStop("daily quota")

    def restore_quota(self, crm: ToyCrm) -> None:
        crm.daily_max = 1_000_000

    def delete(self, crm: ToyCrm, person_id: str) -> None:
        crm.delete(person_id)
