"""What the kill -9 tests share: a ``leadsync sync`` process killed while its k-th request is in
flight, the runs after it in this process, and the state stores on both backends.

A CRM here is a running sandbox (``set_faults``, ``clear_faults``, ``stats``); the config file
points a connection at it and ``env`` holds the secrets the config names.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
from click.testing import CliRunner

from leadsync.cli import main

__all__ = [
    "LEADSYNC",
    "NOW",
    "decided_history",
    "drop_state",
    "in_process",
    "kill_at",
    "routed",
    "routed_history",
    "state_url",
    "sync",
]

LEADSYNC = Path(sys.executable).with_name("leadsync")
NOW = "2026-11-23T10:00:00Z"


def in_process(*args: str, env: Mapping[str, str]) -> None:
    """A leadsync command run in this process, as ``leadsync ARGS`` would run it. The command
    points structlog at the runner's standard error, closed after it: the test's own logging
    configuration comes back, so a later test in this process does not log to a closed file."""
    saved = structlog.get_config()
    try:
        result = CliRunner().invoke(main, list(args), env=dict(env))
    finally:
        structlog.configure(**saved)
    assert result.exit_code == 0, (result.stdout + result.stderr)[-2000:]


def sync(config: Path, env: Mapping[str, str]) -> None:
    in_process("sync", "--config", str(config), "--now", NOW, env=env)


def kill_at(k: int, config: Path, sb: Any, folder: Path, env: Mapping[str, str]) -> None:
    """``leadsync sync`` in a process of its own, killed while its k-th request is in flight, then
    two runs after it."""
    sb.set_faults(latency_ms=25)
    log = (folder / "killed.log").open("w")
    process = subprocess.Popen(
        [str(LEADSYNC), "sync", "--config", str(config), "--now", NOW],
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while sb.stats()["requests"] < k and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    killed = process.poll() is None
    if killed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    log.close()
    assert killed, f"the run ended before request {k}: {(folder / 'killed.log').read_text()[-3000:]}"
    sb.clear_faults()
    sync(config, env)
    sync(config, env)


def state_url(backend: str, folder: Path) -> str:
    """A fresh state store: SQLite in ``folder`` (the config's folder), or a PostgreSQL schema."""
    if backend == "sqlite":
        return "sqlite:///state.db"
    from tests.sync.conftest import fresh_pg_url

    return fresh_pg_url()


def drop_state(backend: str, url: str) -> None:
    if backend == "postgresql":
        from tests.sync.conftest import drop_pg_schema

        drop_pg_schema(url)


def decided_history(state: str, folder: Path) -> Counter[tuple[Any, ...]]:
    """The decision history a state store holds, as (contact, field, before, after, cause) with
    how many times each: run ids and times aside (a killed run's differ from the reference's)."""
    from sqlalchemy import select

    from leadsync.sync.state import open_store
    from leadsync.sync.tables import HistoryRow

    if state.startswith("sqlite:///") and not state.startswith("sqlite:////"):
        state = f"sqlite:///{folder / state.removeprefix('sqlite:///')}"
    store = open_store(state)
    try:
        with store.transaction() as s:
            q = select(
                HistoryRow.contact_id, HistoryRow.field, HistoryRow.before, HistoryRow.after, HistoryRow.cause
            )
            return Counter(
                (cid, field, _key(before), _key(after), cause)
                for cid, field, before, after, cause in s.execute(q)
            )
    finally:
        store.close()


def _key(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def routed_history(history: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """A history without which owner a contact got and how (``routed`` for the history): the
    owner fields' values and causes, and each task's title kept."""
    out: Counter[tuple[Any, ...]] = Counter()
    for (cid, field, before, after, cause), n in history.items():
        if field in ("owner_id", "assigned_at"):
            after, cause = after is not None, "routing"
        out[cid, field, before, after, cause] += n
    return out


def routed(view: dict[str, Any], owner: str) -> dict[str, Any]:
    """A CRM view (``contacts``: id → fields; ``tasks``: key → (owner, subject)) without which
    owner each contact and task got (the field ``owner``); which contacts have one."""
    contacts = {cid: {k: v for k, v in f.items() if k != owner} for cid, f in view["contacts"].items()}
    owned = {cid for cid, f in view["contacts"].items() if f.get(owner)}
    tasks = {key: subject for key, (_, subject) in view["tasks"].items()}
    return {"contacts": contacts, "owned": owned, "tasks": tasks}
