"""HubSpot tasks, many a call and once per key (``TaskWriter`` through the adapter), on the sandbox."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, from_options
from leadsync.adapters.hubspot.errors import MaybeSent
from leadsync.adapters.hubspot.tasks import TASK_KEY
from leadsync.api import CrmError, FakeClock, TaskRequest
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits

TOKEN = "pat-tasks"
DUE = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def sb() -> Iterator[HubSpotSandbox]:
    limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
    with HubSpotSandbox(port=0, token=TOKEN, contacts=20, seed=3, limits=limits) as sandbox:
        yield sandbox


@pytest.fixture
def adapter(sb: HubSpotSandbox) -> HubSpotAdapter:
    # The wait for the search index after an unsure create is on this clock: no real seconds.
    adapter = from_options({"base_url": sb.url, "token": TOKEN, "clock": FakeClock()})
    adapter.setup(BUILTIN_REASONS)
    sb.reset_stats()
    return adapter


def _tasks(
    sb: HubSpotSandbox, n: int, *, owner: str | None = None, may_exist: bool = False
) -> list[TaskRequest]:
    owner = owner or next(str(o["id"]) for o in sb.owners if not o["archived"])
    ids = sorted(sb.contacts, key=int)[:n]
    return [
        TaskRequest(
            f"stage_mql:{cid}:2026-11-23T10:00:00Z", str(cid), owner, "First touch", DUE, may_exist=may_exist
        )
        for cid in ids
    ]


def _made(sb: HubSpotSandbox) -> Counter[str]:
    tasks = sb.objects("tasks")
    keys = (r.properties.get("leadsync_task_key") for r in tasks.values())
    return Counter(k for k in keys if k)  # the seeded tasks carry none


def _calls(sb: HubSpotSandbox) -> Counter[str]:
    return Counter({k: v for k, v in sb.stats()["by_endpoint"].items() if "/tasks" in k})


def test_new_tasks_go_in_one_call_and_come_back_in_order(sb: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    tasks = _tasks(sb, 12)
    results = adapter.create_tasks(tasks)
    assert [r.key for r in results] == [t.key for t in tasks]
    assert all(r.created and r.crm_id and not r.error for r in results)
    assert _calls(sb) == {"POST /crm/v3/objects/tasks/batch/create": 1}  # no search: first attempts
    assert _made(sb) == {t.key: 1 for t in tasks}
    linked = sb.objects("tasks")[int(results[0].crm_id or 0)]
    assert linked.properties["hubspot_owner_id"] == tasks[0].owner_id


def test_tasks_that_may_exist_are_looked_up_in_one_search_and_only_the_rest_created(
    sb: HubSpotSandbox, adapter: HubSpotAdapter
) -> None:
    tasks = _tasks(sb, 6, may_exist=True)
    before = from_options({"base_url": sb.url, "token": TOKEN}).create_tasks(tasks[:4])  # a crashed run's
    sb.reset_stats()
    results = adapter.create_tasks(tasks)
    assert [r.crm_id for r in results[:4]] == [r.crm_id for r in before]
    assert not any(r.created for r in results[:4]) and all(r.created for r in results[4:])
    assert _calls(sb) == {
        "POST /crm/v3/objects/tasks/search": 1,
        "POST /crm/v3/objects/tasks/batch/create": 1,
    }
    assert _made(sb) == {t.key: 1 for t in tasks}


def _owner_of(sb: HubSpotSandbox, key: str) -> str | None:
    tasks = sb.objects("tasks")
    [owner] = [
        t.properties.get("hubspot_owner_id") for t in tasks.values() if t.properties.get(TASK_KEY) == key
    ]
    return owner


def test_one_task_refused_for_its_owner_is_created_without_one(
    sb: HubSpotSandbox, adapter: HubSpotAdapter
) -> None:
    """HubSpot refuses a task whose owner id it does not have (INVALID_OWNER_ID); it is created
    once more without the owner, the others as they were (issue 13)."""
    tasks = _tasks(sb, 3)
    bad = TaskRequest("stage_mql:x:1", tasks[1].contact_id, "999999", "First touch", DUE, may_exist=False)
    results = adapter.create_tasks([tasks[0], bad, tasks[2]])
    assert [bool(r.crm_id) for r in results] == [True, True, True]
    assert _made(sb) == {tasks[0].key: 1, bad.key: 1, tasks[2].key: 1}
    assert not _owner_of(sb, bad.key) and _owner_of(sb, tasks[0].key) == tasks[0].owner_id


def test_a_whole_batch_refused_is_sent_again_one_task_a_call(
    sb: HubSpotSandbox, adapter: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = adapter.client.batch_create

    def strict(object_type: str, inputs: Any) -> Any:  # as HubSpot may answer a bad input: 400 for all
        if any(props.get("hubspot_owner_id") == "999999" for _, props, _ in inputs) and len(inputs) > 1:
            raise CrmError(
                "HubSpot refused POST .../batch/create (400): Property values were not valid", status=400
            )
        return real(object_type, inputs)

    monkeypatch.setattr(adapter.client, "batch_create", strict)
    tasks = _tasks(sb, 3)
    bad = TaskRequest("stage_mql:x:1", tasks[1].contact_id, "999999", "First touch", DUE, may_exist=False)
    results = adapter.create_tasks([tasks[0], bad, tasks[2]])
    assert [bool(r.crm_id) for r in results] == [True, True, True]
    assert _made(sb) == {tasks[0].key: 1, bad.key: 1, tasks[2].key: 1}  # the bad one without its owner
    assert not _owner_of(sb, bad.key)


def test_a_create_that_may_have_landed_is_looked_up_not_sent_again(
    sb: HubSpotSandbox, adapter: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = adapter.client.batch_create
    lost = [1]

    def answer_lost(object_type: str, inputs: Any) -> Any:  # HubSpot did it; the answer never came
        real(object_type, inputs)
        if lost:
            lost.pop()
            raise MaybeSent("HubSpot failed on POST .../batch/create (504)", status=504)
        raise AssertionError("sent again")

    monkeypatch.setattr(adapter.client, "batch_create", answer_lost)
    tasks = _tasks(sb, 5)
    results = adapter.create_tasks(tasks)
    assert all(r.created and r.crm_id for r in results)
    assert _made(sb) == {t.key: 1 for t in tasks}


def test_a_create_that_did_not_land_is_sent_once_more(
    sb: HubSpotSandbox, adapter: HubSpotAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = adapter.client.batch_create
    failures = [1]

    def flaky(object_type: str, inputs: Any) -> Any:
        if failures:
            failures.pop()
            raise MaybeSent("HubSpot failed on POST .../batch/create (502)", status=502)
        return real(object_type, inputs)

    monkeypatch.setattr(adapter.client, "batch_create", flaky)
    tasks = _tasks(sb, 4)
    assert all(r.created for r in adapter.create_tasks(tasks))
    assert _made(sb) == {t.key: 1 for t in tasks}


def test_a_server_error_on_a_create_is_not_retried_blindly(
    sb: HubSpotSandbox, adapter: HubSpotAdapter
) -> None:
    sb.set_faults(fail_next=2, match="tasks/batch/create")
    with pytest.raises(MaybeSent):
        adapter.create_tasks(_tasks(sb, 2))
    calls = _calls(sb)
    assert calls["POST /crm/v3/objects/tasks/batch/create"] == 2  # the create, then once more after looking
    assert calls["POST /crm/v3/objects/tasks/search"] == 1
