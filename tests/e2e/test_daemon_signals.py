"""`leadsync run` as a real process: SIGTERM or SIGINT mid-backfill finishes the batch and exits 0.

The sandbox answers every request 30 ms late, so backfilling 300 contacts takes several seconds.
Search pages hold 200 contacts; with `decide_batch: 150` a decision batch closes at the end of the
first page that brings it to 150 contacts with news, so the backfill is two batches of whole pages
(200, then 100), each committed with its cursor and then written in write calls of 20. (With the
default of 1,000 the 300 contacts would be one batch, and the run would end before a signal.) The
signal is sent once the first write call of the first batch is done. The state must then hold
whole batches only: every contact it knows has its write done (or pending) in the outbox, the CRM
holds leadsync's values for exactly those contacts, and a later `leadsync sync` finishes the
backfill with an empty backlog.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from leadsync.sandboxes.hubspot.sandbox import Faults, HubSpotSandbox
from leadsync.settings import load_settings
from leadsync.sync.state import open_store
from leadsync.sync.tables import ContactRow, OutboxRow, RunRow
from tests.e2e.helpers import (
    LEADSYNC,
    TOKEN_TAIL,
    child_env,
    json_events,
    leadsync,
    no_secret,
    setup_portal,
    start_sandbox,
    write_config,
)

CONTACTS = 300


@pytest.fixture
def slow_portal(tmp_path: Path) -> Iterator[tuple[HubSpotSandbox, Path]]:
    sb = start_sandbox(contacts=CONTACTS, now=None, faults=Faults(latency_ms=30))
    try:
        config = write_config(tmp_path, sb, batch_size=20, decide_batch=150)
        setup_portal(sb, tmp_path / "rules.yaml")
        sb.reset_stats()
        yield sb, config
    finally:
        sb.stop()


def _wait_for(path: Path, event: str, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e.get("event") == event for e in json_events(path.read_text())):
            return
        if proc.poll() is not None:
            pytest.fail(
                f"leadsync run exited ({proc.returncode}) before `{event}`:\n{path.read_text()[-3000:]}"
            )
        time.sleep(0.05)
    pytest.fail(f"no `{event}` within {timeout} s:\n{path.read_text()[-3000:]}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_mid_backfill_finishes_the_batch_and_exits_0(
    slow_portal: tuple[HubSpotSandbox, Path], tmp_path: Path, signum: signal.Signals
) -> None:
    sb, config = slow_portal
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(LEADSYNC), "run", "--config", str(config)],
            env=child_env(),
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        try:
            _wait_for(err_path, "contacts_written", proc, timeout=30)
            proc.send_signal(signum)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stdout, stderr = out_path.read_text(), err_path.read_text()
    assert code == 0, stderr[-3000:]
    events = [e["event"] for e in json_events(stderr)]
    assert "stop_requested" in events and events[-1] == "daemon_stopped", events
    assert events.index("stop_requested") < events.index("daemon_stopped")
    assert "Traceback" not in stderr
    assert no_secret(stdout + stderr)

    settings = load_settings(config)
    store = open_store(settings.state)
    try:
        with store.transaction() as s:
            runs = s.scalars(select(RunRow)).all()
            known = set(s.scalars(select(ContactRow.contact_id)))
            outbox = {r.contact_id: r.status for r in s.scalars(select(OutboxRow))}
        # The signal came mid-backfill: the run stopped early, after the first batch (one whole
        # search page of 200: a batch ends at a page's end, not at the 150th contact).
        assert [r.status for r in runs] == ["stopped"], [(r.status, r.error) for r in runs]
        assert 0 < len(known) < CONTACTS and len(known) % 200 == 0, len(known)
        # No half-written batch: every contact of a committed batch has its write in the outbox
        # (sent, or pending for the next run), and nothing outside them was written or queued.
        assert set(outbox) == known
        assert set(outbox.values()) <= {"done", "pending"}
        in_crm = {cid for cid, rec in sb.contacts.items() if rec.get("leadsync_score") is not None}
        done = {cid for cid, status in outbox.items() if status == "done"}
        assert done <= in_crm <= known
    finally:
        store.close()

    state_files = [p for p in tmp_path.iterdir() if p.name.startswith("state.db")]
    assert state_files and not any(TOKEN_TAIL.encode() in p.read_bytes() for p in state_files)

    sb.clear_faults()
    done_run = leadsync("sync", "--config", str(config))
    assert done_run.code == 0, done_run.err[-3000:]
    assert "hs: ok;" in done_run.out
    status = leadsync("status", "--config", str(config))
    assert status.code == 0, status.err
    assert f"== hs: {CONTACTS:,} contacts known" in status.out
    assert "backlog: 0 writes, 0 actions" in status.out
    assert all(rec.get("leadsync_score") is not None for rec in sb.contacts.values())
    assert no_secret(done_run.text + status.text)


def test_a_rejected_token_stops_the_daemon_loudly(tmp_path: Path) -> None:
    """An AuthError stops the connection's job with a clear log line; with no connection left, exit 1."""
    wrong = "pat-na1-0d0d0d0d-e2e3-4d1e-9a5e-00000bad70c3"
    sb = start_sandbox(contacts=10, now=None)
    try:
        config = write_config(tmp_path, sb)
        run = leadsync("run", "--config", str(config), token=wrong, timeout=30)
    finally:
        sb.stop()
    assert run.code == 1, run.text[-3000:]
    events = {e["event"]: e for e in run.events()}
    assert "auth_failed" in events and "daemon_stopped" in events
    assert "rejected the token (401)" in events["auth_failed"]["error"]
    assert "leadsync check" in events["auth_failed"]["action"]
    assert "Traceback" not in run.err
    assert "00000bad70c3" not in run.text and no_secret(run.text)
