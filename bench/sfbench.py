"""Shared by ``bench/sf_*.py``: a Salesforce sandbox (in this process or its own), a playbook, a ``SyncJob``.

Not a benchmark itself. The CRM-neutral parts (temporary folder, logs, the machine line, the
playbook's owners, the child process, its control calls and clock, the ``SyncJob``) come from
``syncbench.py``; this module adds what is Salesforce's. Everything talks to 127.0.0.1 only: the
sandbox listens there (HTTP and HTTPS on one port; simple-salesforce always calls ``https://``, so
the adapter trusts the sandbox's self-signed certificate through ``ca_file``).

- ``SfSandboxProcess`` runs ``python -m leadsync.sandboxes.salesforce --port 0 ...`` as a child, so
  the sandbox's CPU and memory are not the sync's (Salesforce is another machine in production).
  Its ``/__sandbox/*`` control endpoints give request counts (``stats``), the org's clock
  (``advance``), the daily API allowance (``limits``) and records (the reps, for the playbook).
- ``options`` builds the adapter's options as ``demo_org`` does (client credentials against the
  sandbox's connected app), plus ``clock``: the org's time, so the adapter's "now" is Salesforce's.
- ``prepare`` runs ``leadsync setup`` (leadsync's fields, permission set, history tracking) and
  writes the playbook with the org's reps as the pools' owners; ``make_job`` builds the job.

Imports only the standard library at module level (``sf_memory.py``'s harness must stay small).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import syncbench as sb

ROOT = sb.ROOT
DEFAULT_NOW = sb.DEFAULT_NOW
DEFAULT_RULES = sb.DEFAULT_RULES
# The org's daily API allowance in the sandbox: high enough that no benchmark reaches the
# adapter's budget (80% of it); the requests a run uses are reported, not limited.
SANDBOX_DAILY = 100_000_000


class SfSandboxProcess(sb.SandboxProcess):
    """A seeded Salesforce sandbox in a child process on 127.0.0.1 (a free port).

    ``stats``, ``reset_stats``, ``limits``, ``peak_rss_mib``, ``stop`` and ``clock`` (the org's
    time: the adapter's and the sync's ``now``) are the HubSpot sandbox process's: the control
    endpoints have the same paths.
    """

    def __init__(
        self,
        *,
        leads: int,
        seed: int = 1,
        users: int = 8,
        now: str = DEFAULT_NOW,
        daily: int = SANDBOX_DAILY,
    ) -> None:
        cmd = [sys.executable, "-m", "leadsync.sandboxes.salesforce", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--leads", str(leads), "--users", str(users), "--seed", str(seed), "--now", now]
        cmd += ["--daily-api-requests", str(daily)]
        self.now = sb.parse_now(now)
        self.t0 = time.monotonic()
        # "Salesforce sandbox listening on http://127.0.0.1:PORT (and https://..., CA file PATH)"
        line = self._spawn(cmd, "Salesforce sandbox listening on ")
        self.url = line.split()[0]
        self.ca_file = line.rsplit("CA file ", 1)[1].strip().rstrip(")")
        self.credentials: dict[str, Any] = self._control("GET", "/__sandbox/credentials")
        self._sync_clock()

    def usage(self) -> int:
        """API requests the org counted in its rolling 24 hours (``Sforce-Limit-Info``'s ``used``)."""
        return int(self.limits()["used"])

    def reps(self) -> list[str]:
        """The active sales reps' user ids (the seeded org's reps are in the Sales department)."""
        users = self._control("GET", "/__sandbox/records/User").values()
        return sorted(u["Id"] for u in users if u.get("IsActive") and u.get("Department") == "Sales")


def options(
    url: str, client_id: str, secret: str, ca_file: str, clock: Callable[[], datetime]
) -> dict[str, Any]:
    """The Salesforce connection's options against a sandbox (as ``demo_org``), on the org's clock."""
    return {
        "login_url": url,
        "auth": "client_credentials",
        "client_id": client_id,
        "token": secret,
        "ca_file": ca_file,
        "clock": clock,
    }


def process_options(org: SfSandboxProcess) -> dict[str, Any]:
    c = org.credentials
    return options(org.url, c["client_id"], c["client_secret"], org.ca_file, org.clock)


def in_process_options(sandbox: Any) -> dict[str, Any]:
    """For a ``SalesforceSandbox`` in this process: its clock is the org's own."""
    c = sandbox.credentials
    return options(sandbox.url, c.client_id, c.client_secret, sandbox.ca_file, sandbox.org.now)


def prepare(opts: dict[str, Any], rules: Path, reps: list[str], folder: Path) -> Path:
    """``leadsync setup`` against the org; the playbook with the org's reps as the pools' owners."""
    from leadsync.adapters.salesforce.adapter import from_options
    from leadsync.rules.loader import load_rules

    path = sb.playbook(rules, reps, folder)
    from_options(opts).setup(load_rules(path).reason_labels)
    return path


def make_job(
    opts: dict[str, Any],
    rules: Path,
    state_url: str,
    clock: Callable[[], datetime],
    *,
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
) -> Any:
    """A ``SyncJob`` (connection ``bench``) with a fresh Salesforce adapter, as the daemon builds it.

    ``batch_size`` is the connection's (contacts per write call; leadsync's default 200).
    """
    from leadsync.adapters.salesforce.adapter import from_options

    return sb.sync_job(from_options(opts), rules, state_url, clock, batch_size=batch_size, progress=progress)


def add_org_args(p: argparse.ArgumentParser, leads: int) -> None:
    """The options every Salesforce benchmark takes: org size, rules, data seed, the org's time."""
    p.add_argument("--leads", type=int, default=leads, help=f"leads seeded in the org (default {leads:,})")
    sb.add_data_args(p, "org")
    p.add_argument(
        "--batch-size",
        type=int,
        default=200,
        help="the connection's batch_size: contacts per write call (default 200, leadsync's default)",
    )
