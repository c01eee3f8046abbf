"""`leadsync run --http` as a real process: its metrics scraped and parsed, its health asked.

The daemon syncs a HubSpot sandbox once (every 1h), listening on a free port of 127.0.0.1 (it
logs the port it bound). Three contacts refuse every write, so that the run leaves dead letters.
What /metrics says must match the run's own summary (its `run_finished` event) and what
`leadsync status` reads from the state. Then, with the state on PostgreSQL behind a TCP proxy,
the proxy is stopped: /readyz answers 503 saying the state store is unreachable while /livez
stays 200, and readiness comes back with the proxy.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from tests.e2e.helpers import (
    LEADSYNC,
    child_env,
    json_events,
    leadsync,
    no_secret,
    setup_portal,
    start_sandbox,
    write_config,
)
from tests.observe.support import get, samples, value
from tests.sync.conftest import PG_URL, drop_pg_schema, fresh_pg_url

CONTACTS = 150  # the seed-7 portal of 150 makes MQLs, so tasks too
REFUSING = 3


class Daemon:
    """`leadsync run --config C --http 127.0.0.1:0` until stopped; its log, and where it listens."""

    def __init__(self, config: Path, folder: Path) -> None:
        self.err = folder / "daemon.stderr"
        self._file = self.err.open("w")
        self.proc = subprocess.Popen(
            [str(LEADSYNC), "run", "--config", str(config), "--http", "127.0.0.1:0"],
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=self._file,
            text=True,
            start_new_session=True,
        )

    def events(self) -> list[dict[str, Any]]:
        return json_events(self.err.read_text())

    def wait_for(self, event: str, timeout: float = 60) -> dict[str, Any]:
        """The first `event` of the log, once it came (the daemon is a real process: polled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e.get("event") == event]
            if found:
                return found[0]
            if self.proc.poll() is not None:
                pytest.fail(f"leadsync run exited ({self.proc.returncode}):\n{self.err.read_text()[-3000:]}")
            time.sleep(0.05)
        pytest.fail(f"no `{event}` within {timeout} s:\n{self.err.read_text()[-3000:]}")

    def url(self, path: str) -> str:
        return f"http://{self.wait_for('http_listening')['address']}{path}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._file.close()


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[HubSpotSandbox]:
    sb = start_sandbox(contacts=CONTACTS, now=None)  # the daemon decides at the real now
    try:
        setup_portal(sb, write_config(tmp_path, sb).with_name("rules.yaml"))
        yield sb
    finally:
        sb.stop()


def test_the_metrics_of_a_run_match_its_summary_and_the_state(portal: HubSpotSandbox, tmp_path: Path) -> None:
    sb = portal
    config = write_config(tmp_path, sb, every="1h")
    sb.reject_writes(*sorted(sb.contacts)[:REFUSING])
    daemon = Daemon(config, tmp_path)
    try:
        started = daemon.wait_for("run_started")
        run = daemon.wait_for("run_finished")
        status, headers, body = get(daemon.url("/metrics"))
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        s = samples(body.decode())
        state = leadsync("status", "--config", str(config))
        live = get(daemon.url("/livez"))
        ready = get(daemon.url("/readyz"))
    finally:
        code = daemon.stop()
    assert code == 0, daemon.err.read_text()[-3000:]
    stderr = daemon.err.read_text()
    assert "Traceback" not in stderr and no_secret(stderr)

    def metric(name: str, **labels: Any) -> float | None:
        return value(s, name, connection="hs", **labels)

    # The run's summary (its run_finished event) and the counters agree, one for one.
    assert run["status"] == "ok" and metric("leadsync_runs_total", outcome="ok") == 1
    assert metric("leadsync_records_read_total", kind="contacts") == run["contacts_read"] == CONTACTS
    assert metric("leadsync_records_read_total", kind="activities") == run["activities_read"]
    decisions = sum(v for (name, labels), v in s.items() if name == "leadsync_decisions_total")
    assert decisions == run["contacts_decided"] == CONTACTS
    assert metric("leadsync_writes_total", result="ok") == run["contacts_written"] > 0
    assert metric("leadsync_writes_total", result="refused") == run["writes_refused"] == REFUSING
    assert metric("leadsync_writes_total", result="retried") == run.get("writes_retry_later", 0)
    assert metric("leadsync_tasks_total", result="created") == run["tasks_created"] > 0
    assert metric("leadsync_dead_letters_total") == run["dead_letters"] == REFUSING
    assert metric("leadsync_conflicts_seen_total") == run.get("conflicts", 0)
    assert metric("leadsync_run_duration_seconds_count") == 1
    finished = metric("leadsync_last_success_timestamp_seconds")
    assert finished is not None and _ts(started["timestamp"]) <= finished <= _ts(run["timestamp"]) + 1

    # The backlog, read from the state at the scrape, is what `leadsync status` reads.
    match = re.search(
        r"backlog: (\d+) writes, (\d+) actions; dead letters: (\d+); conflicts: (\d+)", state.out
    )
    assert state.code == 0 and match, state.text
    writes, actions, dead, conflicts = (int(g) for g in match.groups())
    assert metric("leadsync_outbox_pending", kind="write") == writes
    assert metric("leadsync_outbox_pending", kind="task") == actions
    assert metric("leadsync_dead_letters_stored") == dead == REFUSING
    assert metric("leadsync_conflicts_stored") == conflicts
    assert value(s, "leadsync_state_up") == 1

    # HubSpot's daily quota, from its answers' headers (the sandbox's default: 1,000,000 a day).
    used = metric("leadsync_api_budget_used", unit="requests")
    assert metric("leadsync_api_budget_limit", unit="requests") == 1_000_000
    assert used is not None and 0 < used <= sum(sb.stats()["by_endpoint"].values())
    assert used + (metric("leadsync_api_budget_remaining", unit="requests") or 0) == 1_000_000

    assert metric("leadsync_connection_stopped") == 0
    assert live[0] == 200 and orjson.loads(live[2])["alive"] is True
    assert ready[0] == 200 and orjson.loads(ready[2]) == {"ready": True, "problems": [], "state": "ok"}
    # Labels: the connection's name and fixed words; no contact id anywhere.
    ids = {str(cid) for cid in sb.contacts}
    assert not [v for key in s for _, v in key[1] if v in ids]


def test_readiness_fails_while_the_state_store_is_gone(portal: HubSpotSandbox, tmp_path: Path) -> None:
    try:
        direct = fresh_pg_url()
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} ({exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    upstream = urlsplit(PG_URL)
    proxy = TcpProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432))
    proxy.start()
    state = direct.replace(f"@{upstream.hostname}:{upstream.port or 5432}/", f"@127.0.0.1:{proxy.port}/", 1)
    daemon = Daemon(write_config(tmp_path, portal, every="1h", state=state), tmp_path)
    try:
        daemon.wait_for("run_finished")
        assert get(daemon.url("/readyz"))[0] == 200

        proxy.stop()  # PostgreSQL is gone: every connection cut, nothing listens on its port
        status, _, body = get(daemon.url("/readyz"))
        answer = orjson.loads(body)
        assert status == 503 and answer["ready"] is False and answer["state"] == "failing"
        [problem] = answer["problems"]
        assert problem.startswith("the state store is unreachable: ") and "Connection refused" in problem
        assert get(daemon.url("/livez"))[0] == 200  # alive: a restart would not bring the database back
        status, _, body = get(daemon.url("/metrics"))
        s = samples(body.decode())
        assert status == 200 and value(s, "leadsync_state_up") == 0
        assert value(s, "leadsync_outbox_pending", connection="hs", kind="write") is None
        assert value(s, "leadsync_runs_total", connection="hs", outcome="ok") == 1  # kept in memory

        proxy.start()  # back on the same port: the pool reconnects, readiness returns
        assert get(daemon.url("/readyz"))[0] == 200
    finally:
        code = daemon.stop()
        proxy.stop()
        drop_pg_schema(direct)
    assert code == 0, daemon.err.read_text()[-3000:]
    assert "Traceback" not in daemon.err.read_text()


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class TcpProxy:
    """127.0.0.1:PORT → ``upstream`` until ``stop`` (which cuts every connection); ``start``
    again listens on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept() (close alone leaves it listening)
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
