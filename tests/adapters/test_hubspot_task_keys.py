"""HubSpot's task key is a unique-value property (issue 13): HubSpot itself refuses a second task
with a key, so two processes cannot both create one; ``setup`` moves an older portal's keys from
the non-unique ``leadsync_action_key`` to ``leadsync_task_key``. On the sandbox, which keeps
unique values as HubSpot does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, from_options
from leadsync.adapters.hubspot.client import HubSpotClient
from leadsync.adapters.hubspot.provisioning import GROUP
from leadsync.adapters.hubspot.tasks import LEGACY_KEY, TASK_KEY, TASK_TO_CONTACT
from leadsync.api import FakeClock, TaskRequest
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits

TOKEN = "pat-keys"
DUE = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def sb() -> Iterator[HubSpotSandbox]:
    limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
    with HubSpotSandbox(port=0, token=TOKEN, contacts=12, seed=5, limits=limits) as sandbox:
        yield sandbox


def _adapter(sb: HubSpotSandbox) -> HubSpotAdapter:
    return from_options({"base_url": sb.url, "token": TOKEN, "clock": FakeClock()})


def _tasks(sb: HubSpotSandbox, n: int) -> list[TaskRequest]:
    owner = next(str(o["id"]) for o in sb.owners if not o["archived"])
    return [
        TaskRequest(
            f"stage_mql:{cid}:2026-11-23T10:00:00Z", str(cid), owner, "First touch", DUE, may_exist=False
        )
        for cid in sorted(sb.contacts, key=int)[:n]
    ]


def _keys(sb: HubSpotSandbox, prop: str = TASK_KEY) -> Counter[str]:
    return Counter(r.properties.get(prop) for r in sb.objects("tasks").values() if r.properties.get(prop))


def test_setup_creates_the_key_with_unique_values_and_says_so(sb: HubSpotSandbox) -> None:
    lines = _adapter(sb).setup(BUILTIN_REASONS)
    assert f"created task property `{TASK_KEY}` (text, unique values)" in lines
    assert sb.store.schema.get("tasks", TASK_KEY).to_json()["hasUniqueValue"] is True
    again = _adapter(sb).setup(BUILTIN_REASONS)
    assert f"task property `{TASK_KEY}`: already there (unique values)" in again


def test_two_processes_creating_the_same_tasks_make_each_once(sb: HubSpotSandbox) -> None:
    """Neither looks first (first attempts): HubSpot refuses the second process's creates, and it
    finds the first's tasks instead of a dead letter."""
    first, second = _adapter(sb), _adapter(sb)
    first.setup(BUILTIN_REASONS)
    tasks = _tasks(sb, 5)
    made = first.create_tasks(tasks)
    again = second.create_tasks(tasks)
    assert _keys(sb) == {t.key: 1 for t in tasks}
    assert all(r.created for r in made)
    assert [(r.crm_id, r.created, r.error) for r in again] == [(r.crm_id, False, None) for r in made]


def test_a_key_is_unique_ignoring_case_in_single_and_batch_writes(sb: HubSpotSandbox) -> None:
    adapter = _adapter(sb)
    adapter.setup(BUILTIN_REASONS)
    [made] = adapter.create_tasks(_tasks(sb, 1))
    client: HubSpotClient = adapter.client
    contact = sorted(sb.contacts, key=int)[1]
    status, body = client.batch_create(
        "tasks",
        [
            (
                "a",
                {"hs_timestamp": "2026-11-23T12:00:00Z", TASK_KEY: made.key.upper()},
                (str(contact), TASK_TO_CONTACT),
            )
        ],
    )
    assert status == 207
    [error] = body["errors"]
    assert error["category"] == "CONFLICT" and f"Existing ID: {made.crm_id}" in error["message"]
    _, body = client.batch_create(
        "tasks", [("b", {"hs_timestamp": "2026-11-23T12:00:00Z"}, (str(contact), TASK_TO_CONTACT))]
    )
    other = body["results"][0]["id"]
    status, body = client.batch_update("tasks", [(str(other), {TASK_KEY: made.key})])
    assert status == 207 and body["errors"][0]["category"] == "CONFLICT"
    assert _keys(sb) == {made.key: 1}


def _legacy_portal(sb: HubSpotSandbox) -> tuple[HubSpotClient, list[str]]:
    """A portal an older leadsync set up: the non-unique key, tasks carrying it, one made twice."""
    client = _adapter(sb).client
    client.create_group("tasks", GROUP, "leadsync")
    client.create_property(
        "tasks",
        {
            "name": LEGACY_KEY,
            "label": "leadsync action key",
            "type": "string",
            "fieldType": "text",
            "groupName": GROUP,
        },
    )
    contacts = sorted(sb.contacts, key=int)
    keys = [f"stage_mql:{cid}:2026-11-23T10:00:00Z" for cid in contacts[:4]]
    inputs = [
        (k, {"hs_timestamp": "2026-11-23T12:00:00Z", LEGACY_KEY: k}, (str(c), TASK_TO_CONTACT))
        for k, c in zip(keys, contacts[:4], strict=True)
    ]
    client.batch_create("tasks", inputs)
    client.batch_create("tasks", inputs[1:2])  # two processes made this one twice
    return client, keys


def test_setup_moves_an_older_portals_keys_to_the_unique_property(sb: HubSpotSandbox) -> None:
    _, keys = _legacy_portal(sb)
    oldest = min(i for i, r in sb.objects("tasks").items() if r.properties.get(LEGACY_KEY) == keys[1])
    twin = max(i for i, r in sb.objects("tasks").items() if r.properties.get(LEGACY_KEY) == keys[1])
    lines = _adapter(sb).setup(BUILTIN_REASONS)
    assert f"task keys: copied 4 from `{LEGACY_KEY}` to `{TASK_KEY}`" in lines
    [duplicates] = [line for line in lines if line.startswith("found 1 duplicate")]
    assert str(twin) in duplicates
    assert _keys(sb) == {k: 1 for k in keys}
    assert sb.objects("tasks")[oldest].properties[TASK_KEY] == keys[1]
    # The adapter finds the old tasks by the new key: a run after the upgrade makes none again.
    results = _adapter(sb).create_tasks(
        [TaskRequest(k, k.split(":")[1], None, "First touch", DUE) for k in keys]
    )
    assert not any(r.created for r in results) and all(r.crm_id for r in results)
    assert f"task keys: copied 0 from `{LEGACY_KEY}` to `{TASK_KEY}`, 4 were there" in _adapter(sb).setup(
        BUILTIN_REASONS
    )


def test_a_key_property_made_without_unique_values_is_a_problem_setup_names(sb: HubSpotSandbox) -> None:
    client = _adapter(sb).client
    client.create_group("tasks", GROUP, "leadsync")
    client.create_property(
        "tasks",
        {"name": TASK_KEY, "label": "by hand", "type": "string", "fieldType": "text", "groupName": GROUP},
    )
    [problem] = [line for line in _adapter(sb).setup(BUILTIN_REASONS) if TASK_KEY in line]
    assert problem.startswith("problem:") and "delete it" in problem and "leadsync setup" in problem
