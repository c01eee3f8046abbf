"""Shared by ``bench/sync_*.py``: a HubSpot sandbox in its own process, a playbook, a ``SyncJob``.

Not a benchmark itself. Everything talks to 127.0.0.1 only: the sandbox listens there, and the
adapter is pointed at its URL.

- ``SandboxProcess`` runs ``python -m adapters.hubspot.sandbox --port 0 ...`` as a child, so the
  sandbox's CPU and memory are not the sync's: it is the stand-in for HubSpot, which is another
  machine in production. Its ``/__sandbox/*`` control endpoints give request counts and limits.
- ``playbook`` copies an example rules file with its pools' example owners (``u-lia``, ...)
  replaced by the sandbox's owner ids, as ``leadsync demo`` does.
- ``make_job`` builds the HubSpot adapter (``from_options``) and a ``SyncJob`` on a state store.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from run import cpu_model  # bench/run.py: stdlib only, safe to import

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "pat-bench"
DEFAULT_NOW = "2026-11-23T10:00:00Z"  # a Monday, 11:00 in Madrid: inside business hours
DEFAULT_RULES = "examples/rules/smarketing-2h.yaml"
# The sandbox's limits when a benchmark measures something other than the rate (calls, memory).
UNLIMITED = {"ten_second_max": 10_000_000, "search_per_second": 1_000_000}


def scratch(prefix: str, keep: bool = False) -> Path:
    """A new temporary folder (state.db, the playbook), removed when the process exits unless ``keep``."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if not keep:
        atexit.register(shutil.rmtree, folder, True)
    return folder


def parse_now(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def quiet_logs() -> None:
    """leadsync logs at warning level only (a run logs a line per page at info)."""
    from connector.logging import configure_logging

    configure_logging("warning")


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}"


def resolve(path: str) -> Path:
    """A path as given, else relative to the repository root."""
    p = Path(path)
    return p if p.exists() or p.is_absolute() else ROOT / p


class SandboxProcess:
    """A seeded HubSpot sandbox in a child process on 127.0.0.1 (a free port)."""

    def __init__(
        self,
        *,
        contacts: int,
        seed: int = 1,
        owners: int = 8,
        now: str = DEFAULT_NOW,
        limits: dict[str, int] | None = None,
    ) -> None:
        cmd = [sys.executable, "-m", "adapters.hubspot.sandbox", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--token", TOKEN, "--contacts", str(contacts), "--owners", str(owners)]
        cmd += ["--seed", str(seed), "--now", now]
        for name, value in (limits or {}).items():
            cmd += ["--" + name.replace("_", "-"), str(value)]
        self.now = parse_now(now)
        self.t0 = time.monotonic()  # the portal's clock starts at `now` about here
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = ""
        for line in self.proc.stdout:
            if line.startswith("HubSpot sandbox listening on "):
                self.url = line.split(" on ", 1)[1].strip()
                break
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the sandbox did not start (exit status {self.proc.poll()})")
        # It prints four more lines (they fit in the pipe's buffer); the pipe stays open until
        # stop(), or the sandbox would die of a broken pipe.

    def clock(self) -> datetime:
        """The portal's time (it runs in real time from ``now``): the sync's ``now``."""
        return self.now + timedelta(seconds=time.monotonic() - self.t0)

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "/__sandbox/stats")
        return result

    def reset_stats(self) -> None:
        self._control("POST", "/__sandbox/stats/reset", {})

    def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "/__sandbox/limits")
        return result

    def peak_rss_mib(self) -> float:
        """The sandbox process's high-water RSS so far (VmHWM), for the record."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # its main() stops the server on Ctrl-C
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def adapter_options(url: str, *, fast: bool = False) -> dict[str, Any]:
    """The HubSpot connection's options; ``fast`` lifts the adapter's own limiter to its maximum."""
    options: dict[str, Any] = {"base_url": url, "token": TOKEN, "account_timezone": "Europe/Madrid"}
    if fast:
        options.update(rate_per_10s=10_000, search_per_s=1_000)
    return options


def playbook(rules: Path, owner_ids: list[str], folder: Path) -> Path:
    """``rules`` with its pools' example owners replaced by these owner ids (as ``leadsync demo``)."""
    from connector.demo import _with_owners

    out = folder / rules.name
    out.write_text(_with_owners(rules.read_text(encoding="utf-8"), owner_ids), encoding="utf-8")
    return out


def prepare(url: str, rules: Path, folder: Path) -> Path:
    """``leadsync setup`` against the portal (leadsync's properties); the playbook for its owners."""
    from adapters.hubspot.adapter import from_options
    from connector.rules.loader import load_rules

    adapter = from_options(adapter_options(url, fast=True))
    owners = [o.id for o in adapter.read_owners() if o.active]
    path = playbook(rules, owners, folder)
    adapter.setup(load_rules(path).reason_labels)
    return path


def make_job(
    url: str,
    rules: Path,
    state_url: str,
    clock: Callable[[], datetime],
    *,
    fast: bool = False,
    progress: Callable[[int], None] | None = None,
    read_ahead: int | None = None,
    **options: Any,
) -> Any:
    """A ``SyncJob`` (connection ``bench``) with a fresh HubSpot adapter and its own rate limiter.

    ``options`` are the adapter's (``concurrency``, ``retry``, ...); ``read_ahead`` the loop's.
    """
    from adapters.hubspot.adapter import from_options
    from connector.rules.loader import load_rules
    from connector.sync.loop import SyncJob
    from connector.sync.state import open_store

    adapter = from_options({**adapter_options(url, fast=fast), **options})
    store = open_store(state_url)
    extra = {} if read_ahead is None else {"read_ahead": read_ahead}
    return SyncJob("bench", adapter, load_rules(rules), store, clock=clock, progress=progress, **extra)


def fmt(n: float, digits: int = 0) -> str:
    return f"{n:,.{digits}f}"


def add_portal_args(p: argparse.ArgumentParser, contacts: int) -> None:
    """The options every sync benchmark takes: portal size, rules, data seed, the portal's time."""
    p.add_argument(
        "--contacts", type=int, default=contacts, help=f"contacts in the portal (default {contacts})"
    )
    p.add_argument("--rules", default=DEFAULT_RULES, help=f"default {DEFAULT_RULES}")
    p.add_argument("--seed", type=int, default=1, help="the sandbox's data seed (default 1)")
    p.add_argument("--now", default=DEFAULT_NOW, help=f"the portal's time at start ({DEFAULT_NOW})")
