"""Crash safety with a real daemon process: `kill -9` at many points, then restart.

The run that dies is ``leadsync sync`` in its own process against the HubSpot sandbox. The
sandbox delays every request a little, so the test can kill the process while its k-th request is
in flight: the sandbox still applies it, but the process never hears back — the nastiest place to
die. After a restart, the CRM must look exactly as after an uninterrupted run: no lost write, no
duplicate task, no cursor past unwritten work. On SQLite and on PostgreSQL.

``leadsync setup`` and the runs after the kill are the same CLI commands called in this process
(click's runner): what is under test is the state the killed process left, and a process start
costs about a CPU-second, four times per kill point before.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leadsync.demo import _with_owners
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from tests.sync import kill9

History = Counter[tuple[Any, ...]]

SEED, CONTACTS = 11, 60
# Most leads become MQLs (a task each, routed round robin); some exhaust their attempts and move
# back to nurture (HubSpot's clear-then-set); students are disqualified.
RULES = """version: 1
timezone: Europe/Madrid
scoring:
  fit:
    - {name: has_title, if: {field: title, present: true}, points: 10}
    - {name: student, if: {field: title, matches: "(?i)student"}, points: -50}
  engagement:
    - {name: calls, activity: call, points: 5, per: occurrence, max_points: 20}
stages:
  mql: {score_at_least: 10}
disqualify:
  - {reason: student, if: {field: title, matches: "(?i)student"}}
sla: {first_touch_within: 2h, attempts: 2}
routing:
  account_match: true
  pools: [{name: all, owners: [o1, o2, o3], strategy: round_robin}]
actions:
  - {trigger: stage_mql, task: {title: "First touch (SLA)", due_in: sla}}
"""
WRITTEN = ("lifecyclestage", "hs_lead_status", "hubspot_owner_id")


def sandbox(contacts: int = CONTACTS) -> HubSpotSandbox:
    return HubSpotSandbox(
        port=0, seed=SEED, contacts=contacts, owners=5, now=datetime(2026, 11, 23, 10, tzinfo=UTC)
    ).start()


def write_config(folder: Path, sb: HubSpotSandbox, state: str, decide_batch: int = 1000) -> Path:
    owners = [str(o["id"]) for o in sb.owners if not o.get("archived")]
    (folder / "rules.yaml").write_text(_with_owners(RULES, owners))
    config = folder / "leadsync.yaml"
    config.write_text(
        f"state: {state}\nlog: {{level: info, format: json}}\nconnections:\n"
        f"  - name: hubspot\n    adapter: hubspot\n    rules: rules.yaml\n    token_env: KILL9_TOKEN\n"
        f"    decide_batch: {decide_batch}\n"
        f"    options: {{base_url: '{sb.url}', account_timezone: Europe/Madrid, batch_size: 10,\n"
        "               rate_per_10s: 10000, search_per_s: 1000}\n"
    )
    in_process("setup", "--config", str(config), sb=sb)
    sb.reset_stats()
    return config


def env(sb: HubSpotSandbox) -> dict[str, str]:
    return {"KILL9_TOKEN": sb.token}


def in_process(*args: str, sb: HubSpotSandbox) -> None:
    """A leadsync command run in this process, as ``leadsync ARGS`` would run it."""
    kill9.in_process(*args, env=env(sb))


def sync(config: Path, sb: HubSpotSandbox) -> None:
    kill9.sync(config, env(sb))


def crm_view(sb: HubSpotSandbox) -> dict[str, Any]:
    """What people see in HubSpot: leadsync's fields per contact, and its tasks by key."""
    contacts = {
        cid: {k: v for k, v in rec.properties.items() if k in WRITTEN or k.startswith("leadsync_")}
        for cid, rec in sb.contacts.items()
    }
    keys = [t.properties.get("leadsync_task_key") for t in sb.objects("tasks").values()]
    keys = [k for k in keys if k]
    assert len(keys) == len(set(keys)), "a task was created twice"
    tasks = {
        t.properties["leadsync_task_key"]: (
            t.properties.get("hubspot_owner_id"),
            t.properties.get("hs_task_subject"),
        )
        for t in sb.objects("tasks").values()
        if t.properties.get("leadsync_task_key")
    }
    return {"contacts": contacts, "tasks": tasks}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], int, History]]:
    """The CRM after uninterrupted runs, how many requests the first run made, and the decision
    history the runs recorded."""
    folder = tmp_path_factory.mktemp("reference")
    sb = sandbox()
    try:
        config = write_config(folder, sb, "sqlite:///state.db")
        sync(config, sb)
        requests = sb.stats()["requests"]
        sync(config, sb)
        yield crm_view(sb), requests, kill9.decided_history("sqlite:///state.db", folder)
    finally:
        sb.stop()


def kill_at(k: int, config: Path, sb: HubSpotSandbox, folder: Path) -> None:
    kill9.kill_at(k, config, sb, folder, env(sb))


def _state_url(backend: str, folder: Path) -> str:
    return kill9.state_url(backend, folder)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_at_many_points_then_restart(
    backend: str, reference: tuple[dict[str, Any], int, History], tmp_path: Path
) -> None:
    """The CRM as after uninterrupted runs, and the decision history too: each change recorded
    once (a batch committed before the kill is not decided again, one not committed is decided
    after the restart), with the same before, after and cause."""
    expected, requests, expected_history = reference
    assert requests > 12
    assert sum(n for (_, field, *_), n in expected_history.items() if field == "stage") > 10
    # Kill points over the whole first run: reads, writes, the task calls (all of its tasks in one
    # batch create), the reads of its own writes, the end; every request when the run is short.
    step = max(1, requests // 24)
    points = sorted({2, *range(3, requests, step), requests - 1})
    for k in points:
        folder = tmp_path / f"k{k}"
        folder.mkdir()
        sb = sandbox()
        state = _state_url(backend, folder)
        try:
            config = write_config(folder, sb, state)
            kill_at(k, config, sb, folder)
            assert crm_view(sb) == expected, f"killed at request {k} of {requests} ({backend})"
            history = kill9.decided_history(state, folder)
            assert history == expected_history, f"history, killed at request {k} of {requests} ({backend})"
        finally:
            sb.stop()
            if backend == "postgresql":
                from tests.sync.conftest import drop_pg_schema

                drop_pg_schema(state)


def routed(view: dict[str, Any]) -> dict[str, Any]:
    """A CRM view without which owner each contact and task got; which contacts have one."""
    return kill9.routed(view, "hubspot_owner_id")


BATCHES_CONTACTS, DECIDE_BATCH = 300, 40


@pytest.fixture(scope="module")
def batched_reference(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Any], int, History]]:
    """An uninterrupted backfill of several decision batches, its first run's requests, and its
    decision history."""
    folder = tmp_path_factory.mktemp("batched")
    sb = sandbox(BATCHES_CONTACTS)
    try:
        config = write_config(folder, sb, "sqlite:///state.db", DECIDE_BATCH)
        sync(config, sb)
        requests = sb.stats()["requests"]
        sync(config, sb)
        yield crm_view(sb), requests, kill9.decided_history("sqlite:///state.db", folder)
    finally:
        sb.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_across_decision_batches(
    backend: str, batched_reference: tuple[dict[str, Any], int, History], tmp_path: Path
) -> None:
    """Killed in a backfill of several decision batches, the CRM ends as after an uninterrupted
    run in every field and task, except *which* owner a routed contact got: the CRM returns
    contacts in modification order, which the interrupted run's writes change, so batches after
    the restart hold contacts in another order and a round robin (or an account match on a contact
    not yet routed) may hand them out differently. Every contact that an uninterrupted run routes is
    routed once, and each task goes to its contact's owner (README, Safety). The decision history
    likewise: the same changes, each once, but which owner and by which routing step."""
    expected_view, requests, expected_history = batched_reference
    expected = routed(expected_view)
    for k in sorted(random.Random(13).sample(range(5, requests), 2)):
        folder = tmp_path / f"k{k}"
        folder.mkdir()
        sb = sandbox(BATCHES_CONTACTS)
        state = _state_url(backend, folder)
        try:
            config = write_config(folder, sb, state, DECIDE_BATCH)
            kill_at(k, config, sb, folder)
            view = crm_view(sb)
            assert routed(view) == expected, f"killed at request {k} of {requests} ({backend})"
            for key, (owner, _) in view["tasks"].items():  # key: trigger:contact:time
                assert owner == view["contacts"][key.split(":")[1]]["hubspot_owner_id"], key
            history = kill9.routed_history(kill9.decided_history(state, folder))
            assert history == kill9.routed_history(expected_history), f"history, killed at request {k}"
        finally:
            sb.stop()
            if backend == "postgresql":
                from tests.sync.conftest import drop_pg_schema

                drop_pg_schema(state)
