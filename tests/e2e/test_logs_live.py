"""`leadsync sync` and `leadsync run` as real processes against the HubSpot sandbox: the log.

Every line of standard error is JSON (APScheduler's and alembic's too); every line of
a run, from the loop, the adapter and its threads alike, names the connection and the run; the
run's progress shows as ``run_progress`` with the total HubSpot's search reported; and on a
terminal (a pty) with the console format, a progress bar is drawn, never in a JSON log.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from tests.e2e.helpers import (
    LEADSYNC,
    NOW_TEXT,
    child_env,
    leadsync,
    no_secret,
    setup_portal,
    start_sandbox,
    write_config,
)

CONTACTS = 150


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[HubSpotSandbox]:
    sb = start_sandbox(contacts=CONTACTS)
    try:
        setup_portal(sb, write_config(tmp_path, sb).parent / "rules.yaml")
        yield sb
    finally:
        sb.stop()


def every_line_json(stderr: str) -> list[dict[str, Any]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"a log line is not JSON: {line!r}")
    return parsed


def run_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines from ``run_started`` to ``run_finished``, but APScheduler's scheduler thread's."""
    names = [e["event"] for e in lines]
    start, end = names.index("run_started"), names.index("run_finished")
    return [e for e in lines[start : end + 1] if e.get("logger") != "apscheduler.scheduler"]


def test_a_sync_logs_json_only_and_every_run_line_names_the_run(
    tmp_path: Path, portal: HubSpotSandbox
) -> None:
    config = write_config(tmp_path, portal, level="debug")
    run = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
    assert run.code == 0, run.err[-3000:]
    assert no_secret(run.err)
    lines = every_line_json(run.err)
    during = run_lines(lines)
    run_ids = {e.get("run_id") for e in during}
    assert len(run_ids) == 1 and None not in run_ids
    assert all(e.get("connection") == "hs" for e in during)
    loggers = {str(e.get("logger")) for e in lines}
    assert any(name.startswith("alembic") for name in loggers)  # the state store's migration
    # The HubSpot client's calls, many from the fan-out's threads: all named. (hubspot-api-client
    # turns urllib3's own logger down to warnings; tests/logs shows its lines as JSON.)
    assert len([e for e in during if e["event"] == "hubspot_call"]) > 5
    assert [e for e in during if e["event"] == "page_read"]  # the adapter's own events
    [final] = [e for e in lines if e["event"] == "run_progress"]
    assert final["final"] is True and final["read"] == final["total"] == CONTACTS
    assert final["written"] == CONTACTS and final["decided"] == CONTACTS


def test_the_daemon_logs_json_only_and_every_run_line_names_the_run(
    tmp_path: Path, portal: HubSpotSandbox
) -> None:
    config = write_config(tmp_path, portal, level="debug")
    run = leadsync("run", "--config", str(config), "--cycles", "1")
    assert run.code == 0, run.err[-3000:]
    lines = every_line_json(run.err)
    scheduler = [e for e in lines if str(e.get("logger")).startswith("apscheduler")]
    [running] = [e for e in scheduler if "Running job" in e["event"]]  # once plain text, now JSON
    assert running["connection"] == "hs"
    during = run_lines(lines)
    assert {(e.get("connection"), e.get("run_id") is not None) for e in during} == {("hs", True)}
    assert len({e["run_id"] for e in during}) == 1


def _on_a_pty(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``leadsync ARGS`` with standard error on a pseudo-terminal: (status, stdout, what the tty got)."""
    leader, follower = os.openpty()
    got = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side closed
                return
            if not chunk:
                return
            got.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        proc = subprocess.run(
            [str(LEADSYNC), *args], env=env, stdout=subprocess.PIPE, stderr=follower, text=True, timeout=60
        )
    finally:
        os.close(follower)
        reader.join(10)
        os.close(leader)
    return proc.returncode, proc.stdout, got.decode("utf-8", "replace")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_on_a_terminal_the_console_log_draws_a_progress_bar(
    tmp_path: Path, portal: HubSpotSandbox, fmt: str
) -> None:
    config = write_config(tmp_path, portal)
    config.write_text(config.read_text().replace("format: json", f"format: {fmt}"))
    env = {k: v for k, v in child_env().items() if k not in ("PYTEST_CURRENT_TEST", "LEADSYNC_PROGRESS")}
    env.update(TERM="xterm-256color", COLUMNS="140")
    code, out, tty = _on_a_pty(["sync", "--config", str(config), "--now", NOW_TEXT], env)
    assert code == 0, tty[-3000:]
    assert "hs: ok; 150 read" in out
    bar = f"{CONTACTS}/{CONTACTS}"
    if fmt == "console":
        assert bar in tty and f"{CONTACTS} decided" in tty and "ETA" in tty
        assert "run_finished" in tty  # the log still shows, above the bar
    else:  # a JSON log on a terminal: lines of JSON, never a bar
        assert bar not in tty
        assert all(json.loads(line) for line in tty.replace("\r\n", "\n").splitlines() if line.strip())
