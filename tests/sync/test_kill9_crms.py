"""Crash safety with a real daemon process on Salesforce and Zoho: ``kill -9`` at seeded random
points of a backfill of several decision batches, then restart (as tests/sync/test_kill9.py does
on HubSpot, with its helpers: tests/sync/kill9.py).

The killed run is ``leadsync sync`` in a process of its own against the CRM's sandbox; the
sandbox delays each request a little, so the process dies while its k-th request is in flight.
After two runs more, the CRM must be as after an uninterrupted backfill in every field and task,
except *which* owner a routed person got (README, Safety: the order a restart reads people in
can change, and round robin hands them out in that order); each routed person is routed once,
each task goes to its person's owner, no task is made twice. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.sandboxes.zoho.sandbox import SECRET_ENV, ZohoSandbox
from tests.harnesses import salesforce as sf
from tests.harnesses import zoho
from tests.soak.soak import RULES
from tests.sync import kill9

START = datetime(2026, 11, 23, 10, tzinfo=UTC)
# 500 people, 200 a page: three decision batches (batches are whole pages). Small write batches
# spread the writes over many calls, so the random points land among reads, writes and tasks.
PEOPLE, DECIDE_BATCH, POINTS = 500, 150, 2
# A CRM's view after a backfill, its first run's requests, and the decision history recorded.
Reference = Callable[[str], tuple[dict[str, Any], int, Counter[tuple[Any, ...]]]]


@dataclass(frozen=True)
class Crm:
    """How to start one CRM's sandbox, point a connection at it, and see leadsync's work in it."""

    start: Callable[[], Any]
    owners: Callable[[Any], list[str]]
    options: Callable[[Any], dict[str, Any]]
    env: Callable[[Any], dict[str, str]]
    view: Callable[[Any], dict[str, Any]]
    owner_field: str


def _sf_start() -> SalesforceSandbox:
    return SalesforceSandbox(port=0, seed=3, leads=PEOPLE, now=START).start()


def _sf_owners(sb: SalesforceSandbox) -> list[str]:
    staff = (sb.org.api_user, sb.org.admin_user)
    return [u["Id"] for u in sb.users(active=True) if u["Id"] not in staff]


def _sf_options(sb: SalesforceSandbox) -> dict[str, Any]:
    return {
        "login_url": sb.url,
        "auth": "client_credentials",
        "client_id": sb.credentials.client_id,
        "ca_file": sb.ca_file,
        "query_batch": 200,
        "batch_size": 25,
    }


def _sf_view(sb: SalesforceSandbox) -> dict[str, Any]:
    leads = {rid: {f: r.get(f) for f in sf.WRITTEN} for rid, r in sb.records_json("Lead").items()}
    made = [t for t in sb.records_json("Task").values() if t.get("Leadsync_Key__c")]
    return _view(leads, [(t["Leadsync_Key__c"], t.get("OwnerId"), t.get("Subject")) for t in made])


def _zoho_start() -> ZohoSandbox:
    return ZohoSandbox(port=0, seed=3, leads=PEOPLE, now=START).start()


def _zoho_owners(sb: ZohoSandbox) -> list[str]:
    return [u["id"] for u in sb.users() if sb.org.active(u["id"]) and u["id"] != sb.org.api_user]


def _zoho_options(sb: ZohoSandbox) -> dict[str, Any]:
    c = sb.credentials
    return {
        "accounts_url": sb.accounts_url,
        "api_url": sb.url,
        "client_id": c.client_id,
        "client_secret_env": SECRET_ENV,
    }


def _zoho_view(sb: ZohoSandbox) -> dict[str, Any]:
    people = {
        r["id"]: {f: str(r.get(f)) for f in zoho.WRITTEN}
        for module in ("Leads", "Contacts")
        for r in sb.records_json(module)
    }
    made = [t for t in sb.records_json("Tasks") if t.get("Leadsync_Key")]
    return _view(people, [(t["Leadsync_Key"], str(t.get("Owner")), t.get("Subject")) for t in made])


def _view(people: dict[str, dict[str, Any]], tasks: list[tuple[str, Any, Any]]) -> dict[str, Any]:
    keys = [key for key, _, _ in tasks]
    assert len(keys) == len(set(keys)), "a task was created twice"
    return {"contacts": people, "tasks": {key: (owner, subject) for key, owner, subject in tasks}}


CRMS = {
    "salesforce": Crm(
        _sf_start,
        _sf_owners,
        _sf_options,
        lambda sb: {"KILL9_TOKEN": sb.credentials.client_secret},
        _sf_view,
        "OwnerId",
    ),
    "zoho": Crm(
        _zoho_start,
        _zoho_owners,
        _zoho_options,
        lambda sb: {"KILL9_TOKEN": sb.credentials.refresh_token, SECRET_ENV: sb.credentials.client_secret},
        _zoho_view,
        "Owner",
    ),
}


def write_config(folder: Path, name: str, sb: Any, state: str) -> Path:
    """The connection's config and rules, and ``leadsync setup`` run on the CRM."""
    crm = CRMS[name]
    owners = "[" + ", ".join(f'"{o}"' for o in crm.owners(sb)) + "]"
    (folder / "rules.yaml").write_text(RULES.replace("OWNERS", owners))
    connection = {
        "name": name,
        "adapter": name,
        "rules": "rules.yaml",
        "token_env": "KILL9_TOKEN",
        "decide_batch": DECIDE_BATCH,
        "options": crm.options(sb),
    }
    config = folder / "leadsync.yaml"
    config.write_text(
        yaml.safe_dump(
            {"state": state, "log": {"level": "info", "format": "json"}, "connections": [connection]}
        )
    )
    kill9.in_process("setup", "--config", str(config), env=crm.env(sb))
    sb.reset_stats()
    return config


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """Each CRM after an uninterrupted backfill (two runs), how many requests the first made, and
    the decision history the runs recorded."""
    found: dict[str, tuple[dict[str, Any], int, Counter[tuple[Any, ...]]]] = {}

    def reference(name: str) -> tuple[dict[str, Any], int, Counter[tuple[Any, ...]]]:
        if name not in found:
            crm, folder = CRMS[name], tmp_path_factory.mktemp(f"reference-{name}")
            sb = crm.start()
            try:
                config = write_config(folder, name, sb, "sqlite:///state.db")
                kill9.sync(config, crm.env(sb))
                requests = sb.stats()["requests"]
                kill9.sync(config, crm.env(sb))
                found[name] = (crm.view(sb), requests, kill9.decided_history("sqlite:///state.db", folder))
            finally:
                sb.stop()
        return found[name]

    yield reference


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("name", list(CRMS))
def test_kill_9_across_decision_batches(
    name: str, backend: str, references: Reference, tmp_path: Path
) -> None:
    crm = CRMS[name]
    expected_view, requests, expected_history = references(name)
    assert len(expected_view["tasks"]) > 100 and requests > 20
    expected = kill9.routed(expected_view, crm.owner_field)
    for k in sorted(random.Random(f"{name}-{backend}").sample(range(5, requests), POINTS)):
        folder = tmp_path / f"k{k}"
        folder.mkdir()
        sb = crm.start()
        state = kill9.state_url(backend, folder)
        try:
            config = write_config(folder, name, sb, state)
            kill9.kill_at(k, config, sb, folder, crm.env(sb))
            view = crm.view(sb)
            assert kill9.routed(view, crm.owner_field) == expected, f"killed at request {k} of {requests}"
            for key, (owner, _) in view["tasks"].items():  # key: trigger:person:time
                assert owner == view["contacts"][key.split(":")[1]][crm.owner_field], key
            history = kill9.routed_history(kill9.decided_history(state, folder))
            assert history == kill9.routed_history(expected_history), f"history, killed at request {k}"
        finally:
            sb.stop()
            kill9.drop_state(backend, state)
