"""HubSpot under leadsync.testing's suites: the adapter on the local HubSpot portal.

``HubSpotAdapterHarness`` serves the adapter contract; ``HubSpotSyncHarness`` the sync contract,
on a portal set up for leadsync where visitors just asked for a demo after reading the pricing
page (``portal``), under the HubSpot demo's playbook. HubSpot has no lead conversion, no record
locks and no switch for its workflows on an API write; the adapter does not read deletions.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, from_options
from leadsync.adapters.hubspot.convert import contact_from_record
from leadsync.api import FakeClock, RetryPolicy
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits
from leadsync.testing import (
    AUTOMATION,
    CONVERT,
    DELETE,
    LOCKS,
    CallTap,
    QuotaStop,
    SleepRecorder,
    SyncHarness,
    example_playbook,
    http_calls,
)
from tests.harnesses import reason_labels

TOKEN = "pat-contract"
# The sandbox enforces HubSpot's real limits by default; the adapter's limiter is raised to match,
# so the 10,500-contact read takes seconds, not the 11 s that 5 searches a second would.
FAST = RateLimits(ten_second_max=100_000, search_per_second=10_000)
DAY_MS = 86_400_000
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid
PLAYBOOK = "smarketing-2h.yaml"  # what `leadsync demo` runs on HubSpot
SEED = 3  # a portal whose seeded contacts make no task under the playbook: only the visitors do
WRITTEN = ("lifecyclestage", "hs_lead_status", "hubspot_owner_id")
TASK_FIELDS = ("leadsync_task_key", "hubspot_owner_id", "hs_task_subject", "hs_timestamp")


def _adapter(sb: HubSpotSandbox, **options: Any) -> HubSpotAdapter:
    base: dict[str, Any] = {
        "base_url": sb.url,
        "token": sb.token,
        "retry": SleepRecorder().policy(),
        "rate_per_10s": 10_000,
        "search_per_s": 1_000,
    }
    return from_options({**base, **options})


def _canonical(sb: HubSpotSandbox, contact_id: str, field: str, adapter: HubSpotAdapter) -> Any:
    record = {"id": contact_id, "properties": dict(sb.contacts[contact_id].properties)}
    return contact_from_record(record, adapter.mapping).get(field)


class HubSpotAdapterHarness:
    """The adapter contract's view of a HubSpot sandbox."""

    reason_labels = BUILTIN_REASONS

    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self.sb = sandbox
        self._edits = itertools.count(1)
        self._adapter = self.make_adapter()

    def make_adapter(self, retry: RetryPolicy | None = None) -> HubSpotAdapter:
        # The rate limiter waits out a window a 429 filled on this clock: no real seconds.
        return _adapter(self.sb, retry=retry or SleepRecorder().policy(), clock=FakeClock())

    def seed_contacts(self, n: int, *, equal_timestamps: bool = False) -> list[str]:
        """``n`` leads created a day ago: three to a timestamp, or all at one."""
        self.sb.seed(contacts=0, owners=8, engagements=False)
        store = self.sb.store
        base = store.now_ms() - DAY_MS
        ids = []
        for i in range(n):
            at = base if equal_timestamps else base + (i // 3) * 1000
            values = {
                "email": f"lead{i}@example{i % 40}.com",
                "firstname": f"Lead{i}",
                "lifecyclestage": "lead",
            }
            ids.append(str(store.add("contacts", values, at).id))
        return ids

    def touch(self, contact_id: str) -> None:
        self.sb.set_property(contact_id, "jobtitle", f"Edited {next(self._edits)}")

    def inject(self, fault: str, times: int = 1) -> None:
        if fault == "rate_limit":
            self.sb.set_faults(storm=times)
        elif fault == "server_error":
            self.sb.set_faults(fail_next=times)
        elif fault == "unauthorized":
            self.sb.expire_token(TOKEN)
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def call_count(self) -> int:
        return int(self.sb.stats()["requests"])

    def reject_writes_for(self, contact_id: str) -> None:
        self.sb.reject_writes(contact_id)

    def contact_value(self, contact_id: str, field: str) -> Any:
        return _canonical(self.sb, contact_id, field, self._adapter)

    def task_count(self, key: str) -> int:
        tasks = self.sb.objects("tasks")
        return sum(1 for tid in tasks if tasks[tid].properties.get("leadsync_task_key") == key)

    def expected_owners(self) -> dict[str, bool]:
        return {str(o["id"]): not o["archived"] for o in self.sb.owners}


# -- the sync contract ---------------------------------------------------------------------------


class PortalClock:
    """The portal's clock: ``NOW`` when the portal starts, then real time, and ``advance``."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return NOW + timedelta(seconds=time.monotonic() - self._t0 + self._offset)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


def portal(contacts: int = 40, visitors: int = 1) -> tuple[HubSpotSandbox, PortalClock]:
    """A fresh portal set up for leadsync, where ``visitors`` (CEOs who read the pricing page)
    just asked for a demo: each an MQL at 80 points, and a task for its owner."""
    clock = PortalClock()
    sb = HubSpotSandbox(
        port=0, token=TOKEN, seed=SEED, contacts=contacts, owners=6, now=NOW, limits=FAST, clock=clock
    ).start()
    _adapter(sb).setup(reason_labels(PLAYBOOK))
    store = sb.store
    for i in range(visitors):
        seen = store.now_ms() - 9 * 60_000
        values = {
            "email": f"visitor{i}@energia-norte.es",
            "firstname": f"Visitor {i}",
            "lastname": "Vidal",
            "jobtitle": "CEO",
            "company": "Energía Norte",
            "country": "Spain",
            "lifecyclestage": "lead",
            "hs_analytics_last_url": "https://www.leadsync.example/pricing",
            "hs_analytics_last_visit_timestamp": _iso(seen),
            "recent_conversion_event_name": "Demo request",
            "recent_conversion_date": _iso(seen + 60_000),
        }
        store.add("contacts", values, store.now_ms() - 3 * DAY_MS, source="FORM")
    return sb, clock


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class HubSpotSyncHarness(SyncHarness[HubSpotSandbox]):
    """The sync contract's view of a HubSpot portal."""

    now = NOW
    lacks: ClassVar[Mapping[str, str]] = {
        AUTOMATION: "HubSpot has no per-request switch for its workflows",
        LOCKS: "HubSpot does not lock records",
        CONVERT: "HubSpot has no leads to convert: a contact stays a contact",
        DELETE: "the HubSpot adapter does not read deletions (its search never lists archived contacts)",
    }

    def __init__(self) -> None:
        self._clocks: dict[int, PortalClock] = {}
        self._mapping_adapter: HubSpotAdapter | None = None

    def start(self, people: int = 40, hot: int = 1) -> HubSpotSandbox:
        sb, clock = portal(contacts=people, visitors=hot)
        self._clocks[id(sb)] = clock
        return sb

    def stop(self, crm: HubSpotSandbox) -> None:
        self._clocks.pop(id(crm), None)
        crm.stop()

    def adapter(self, crm: HubSpotSandbox, **options: Any) -> HubSpotAdapter:
        return _adapter(crm, **options)

    def playbook(self, crm: HubSpotSandbox) -> str:
        return example_playbook(PLAYBOOK, [str(o["id"]) for o in crm.owners if not o["archived"]])

    def advance(self, crm: HubSpotSandbox, seconds: float) -> None:
        self._clocks[id(crm)].advance(seconds)

    def state(self, crm: HubSpotSandbox) -> dict[str, Any]:
        """Leadsync's fields on every contact, and its tasks."""
        contacts = {
            cid: {k: v for k, v in rec.properties.items() if k in WRITTEN or k.startswith("leadsync_")}
            for cid, rec in crm.contacts.items()
        }
        tasks = crm.objects("tasks")
        made = sorted(
            tuple(tasks[t].properties.get(f) or "" for f in TASK_FIELDS)
            for t in tasks
            if tasks[t].properties.get("leadsync_task_key")
        )
        return {"contacts": contacts, "tasks": made}

    def people(self, crm: HubSpotSandbox) -> list[str]:
        return sorted(crm.contacts, key=int)

    def record(self, crm: HubSpotSandbox, person_id: str) -> Mapping[str, Any]:
        return dict(crm.contacts[person_id].properties)

    def value(self, crm: HubSpotSandbox, person_id: str, field: str) -> Any:
        if self._mapping_adapter is None:
            self._mapping_adapter = self.adapter(crm)
        return _canonical(crm, person_id, field, self._mapping_adapter)

    def task_keys(self, crm: HubSpotSandbox) -> list[str]:
        tasks = crm.objects("tasks")
        keys = (tasks[t].properties.get("leadsync_task_key") for t in tasks)
        return sorted(k for k in keys if k)

    def calls(self, crm: HubSpotSandbox, tap: CallTap) -> AbstractContextManager[None]:
        return http_calls(crm.url, tap)

    def rep_edit(self, crm: HubSpotSandbox, person_id: str) -> Mapping[str, Any]:
        """A rep puts the contact back to marketing (nurture: Lead + Bad timing), or, if it is
        there, on to sales (SQL), and gives it to another rep."""
        before = crm.contacts[person_id].properties
        rep = next(
            str(o["id"])
            for o in crm.owners
            if not o["archived"] and str(o["id"]) != before.get("hubspot_owner_id")
        )
        if before.get("hs_lead_status") != "BAD_TIMING":
            edit = {"lifecyclestage": "lead", "hs_lead_status": "BAD_TIMING", "hubspot_owner_id": rep}
        else:
            edit = {
                "lifecyclestage": "salesqualifiedlead",
                "hs_lead_status": "IN_PROGRESS",
                "hubspot_owner_id": rep,
            }
        for name, value in edit.items():
            crm.set_property(person_id, name, value)
        return edit

    def refuse(self, crm: HubSpotSandbox, person_id: str, refuse: bool = True) -> Sequence[str]:
        crm.reject_writes(person_id, reject=refuse)
        return [f"Record {person_id} was rejected"]

    def reset_calls(self, crm: HubSpotSandbox) -> None:
        crm.reset_stats()

    def write_calls(self, crm: HubSpotSandbox) -> list[str]:
        """Creates and updates: every call but searches, reads and the owners and properties GETs."""
        calls = crm.stats()["by_endpoint"].items()
        reads = ("GET ", "POST /crm/v3/objects/contacts/search", "POST /crm/v3/objects/tasks/search")
        return [
            e
            for e, n in calls
            if not e.startswith(reads) and not e.endswith(("/batch/read", "/search"))
            for _ in range(n)
        ]

    def exhaust_quota(self, crm: HubSpotSandbox) -> QuotaStop:
        crm.set_limits(daily_max=int(crm.stats()["requests"]) + 6)  # the day ends a few calls in
        return QuotaStop("daily API quota")

    def use_up_quota(self, crm: HubSpotSandbox) -> QuotaStop:
        crm.set_limits(daily_max=0)
        return QuotaStop("daily API quota")

    def restore_quota(self, crm: HubSpotSandbox) -> None:
        crm.set_limits(daily_max=RateLimits().daily_max)
