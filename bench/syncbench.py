"""Shared by ``bench/sync_*.py``: a HubSpot sandbox in its own process, a playbook, a ``SyncJob``.

Not a benchmark itself. Everything talks to 127.0.0.1 only: the sandbox listens there, and the
adapter is pointed at its URL.

- ``SandboxProcess`` runs ``python -m leadsync.sandboxes.hubspot --port 0 ...`` as a child, so the
  sandbox's CPU and memory are not the sync's: it is the stand-in for HubSpot, which is another
  machine in production. Its ``/__sandbox/*`` control endpoints give request counts and limits.
- ``playbook`` copies an example rules file with its pools' example owners (``u-lia``, ...)
  replaced by the sandbox's owner ids, as ``leadsync demo`` does.
- ``make_job`` builds the HubSpot adapter (``from_options``) and a ``SyncJob`` on a state store.

And what every CRM's benchmarks share (``sfbench.py`` and ``zohobench.py`` build on it): the
command line (``parser``, ``add_data_args``), the temporary folder, quiet logs, the machine line
(with the load average), ``SandboxProcess._spawn`` for a sandbox in a child process, ``control``
(its ``/__sandbox`` calls), ``org_time`` and ``running_clock`` (a sandbox's clock, read once and
run on), ``sync_job``, ``run_child`` (a measured child: its peak RSS from ``os.wait4()``),
``Progress`` lines, ``pin`` (sandbox and sync on a CPU each) and ``cpu_seconds``. What they
measure and print alike (Markdown tables, calls against a minimum, where the time went, peak RSS)
is ``benchkit.py``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
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
from dataclasses import dataclass
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
    from leadsync.logging import configure_logging

    configure_logging("warning")


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; {load()}"


def parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring's first paragraph is the description."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )


def control(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A ``/__sandbox`` control call on a sandbox at ``url`` (any process, any CRM)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def org_time(url: str) -> tuple[datetime, float]:
    """A sandbox's time (``advance`` by 0 s) and the monotonic instant it held (mid-call).

    The Salesforce and Zoho orgs' clocks start when the child builds them (before seeding).
    """
    before = time.monotonic()
    now = control(url, "POST", "/__sandbox/advance", {"seconds": 0})["result"]
    after = time.monotonic()
    return datetime.fromisoformat(str(now).replace("Z", "+00:00")), (before + after) / 2


def running_clock(start: datetime, t0: float) -> Callable[[], datetime]:
    """A clock that reads ``start`` at the monotonic instant ``t0`` and runs on in real time
    (Linux's monotonic clock is one for all processes, so a child can run its sandbox's)."""
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


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
        cmd = [sys.executable, "-m", "leadsync.sandboxes.hubspot", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--token", TOKEN, "--contacts", str(contacts), "--owners", str(owners)]
        cmd += ["--seed", str(seed), "--now", now]
        for name, value in (limits or {}).items():
            cmd += ["--" + name.replace("_", "-"), str(value)]
        self.now = parse_now(now)
        self.t0 = time.monotonic()  # the portal's clock starts at `now` about here
        self.url = self._spawn(cmd, "HubSpot sandbox listening on ").strip()

    def _spawn(self, cmd: list[str], banner: str) -> str:
        """Start the sandbox's command; the rest of its line starting with ``banner`` (its URL).

        The sandbox prints a few more lines (they fit in the pipe's buffer); the pipe stays open
        until ``stop()``, or the sandbox would die of a broken pipe.
        """
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(banner):
                rest = line[len(banner) :]
                if rest.startswith("http://127.0.0.1:"):
                    return rest
                break
        self.stop()
        raise RuntimeError(f"the sandbox did not start (exit status {self.proc.poll()})")

    def clock(self) -> datetime:
        """The portal's (or org's) time: it runs in real time from ``now``; the sync's ``now``."""
        return self.now + timedelta(seconds=time.monotonic() - self.t0)

    def _sync_clock(self) -> None:
        """Read the org's clock once (it started when the child built it, before seeding)."""
        self.now, self.t0 = org_time(self.url)

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return control(self.url, method, path, body)

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
    from leadsync.demo import _with_owners

    out = folder / rules.name
    out.write_text(_with_owners(rules.read_text(encoding="utf-8"), owner_ids), encoding="utf-8")
    return out


def prepare(url: str, rules: Path, folder: Path) -> Path:
    """``leadsync setup`` against the portal (leadsync's properties); the playbook for its owners."""
    from leadsync.adapters.hubspot.adapter import from_options
    from leadsync.rules.loader import load_rules

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
    from leadsync.adapters.hubspot.adapter import from_options

    adapter = from_options({**adapter_options(url, fast=fast), **options})
    extra = {} if read_ahead is None else {"read_ahead": read_ahead}
    return sync_job(adapter, rules, state_url, clock, progress=progress, **extra)


def sync_job(adapter: Any, rules: Path, state_url: str, clock: Callable[[], datetime], **loop: Any) -> Any:
    """A ``SyncJob`` (connection ``bench``) on ``adapter``, the playbook ``rules`` and a state store;
    ``loop`` are the loop's options (``progress``, ``batch_size``, ``read_ahead``)."""
    from leadsync.rules.loader import load_rules
    from leadsync.sync.loop import SyncJob
    from leadsync.sync.state import open_store

    store = open_store(state_url)
    return SyncJob("bench", adapter, load_rules(rules), store, clock=clock, **loop)


@dataclass
class ChildRun:
    """A measured child process: its exit status, its last JSON line, peak RSS and wall seconds;
    and the harness's own high-water RSS (KiB) when it started the child."""

    returncode: int
    report: dict[str, Any]
    peak_mib: float
    wall: float
    harness_kib: int


def run_child(cmd: list[str]) -> ChildRun:
    """Run ``cmd``; its peak RSS is ``ru_maxrss`` from ``os.wait4()`` on that very process.

    The child prints a JSON line last on standard output (its report); standard error passes
    through. The caller must stay small: Linux charges a parent's high-water RSS at fork/exec to
    the child's ``ru_maxrss``.
    """
    import resource

    harness_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    lines = output.decode().strip().splitlines()
    report = json.loads(lines[-1]) if proc.returncode == 0 and lines else {}
    return ChildRun(proc.returncode, report, usage.ru_maxrss / 1024, wall, harness_kib)


class Progress:
    """A progress line on standard error every ``every`` contacts read (a ``SyncJob`` callback).

    ``extra`` adds to the line (requests so far, the peak RSS so far); ``start()`` restarts the clock.
    """

    def __init__(self, every: int, noun: str, extra: Callable[[], str] | None = None) -> None:
        self.every, self.noun, self.extra = every, noun, extra
        self.shown = 0
        self.started = time.perf_counter()

    def start(self) -> None:
        self.shown, self.started = 0, time.perf_counter()

    def __call__(self, touched: int) -> None:
        if touched >= self.shown + self.every:
            self.shown = touched - touched % self.every
            secs = time.perf_counter() - self.started
            more = f", {self.extra()}" if self.extra else ""
            print(f"#   {secs:6.1f} s: {touched:,} {self.noun} read{more}", file=sys.stderr, flush=True)


def peak_rss_so_far() -> str:
    """This process's high-water RSS so far, for a progress line."""
    import resource

    return f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``), or NaN."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def pin(sandbox_pid: int) -> str:
    """The sandbox on the last CPU, this process on the first (when there are two or more)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "not pinned (one CPU)"
    os.sched_setaffinity(sandbox_pid, {cpus[-1]})
    for tid in os.listdir(f"/proc/{sandbox_pid}/task"):  # its threads too (the server's)
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), {cpus[-1]})
    os.sched_setaffinity(0, {cpus[0]})
    return f"sandbox on CPU {cpus[-1]}, sync on CPU {cpus[0]}"


def load() -> str:
    """The 1-, 5- and 15-minute load averages (the machine runs other work too)."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def add_portal_args(p: argparse.ArgumentParser, contacts: int) -> None:
    """The options every sync benchmark takes: portal size, rules, data seed, the portal's time."""
    p.add_argument(
        "--contacts", type=int, default=contacts, help=f"contacts in the portal (default {contacts})"
    )
    add_data_args(p, "portal")


def add_data_args(p: argparse.ArgumentParser, crm: str) -> None:
    """The options every CRM's benchmarks take after the size: rules, data seed, the ``crm``'s time."""
    p.add_argument("--rules", default=DEFAULT_RULES, help=f"default {DEFAULT_RULES}")
    p.add_argument("--seed", type=int, default=1, help="the sandbox's data seed (default 1)")
    p.add_argument("--now", default=DEFAULT_NOW, help=f"the {crm}'s time at start ({DEFAULT_NOW})")
