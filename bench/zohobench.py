"""Shared by ``bench/zoho_*.py``: a Zoho CRM sandbox (in this process or its own), a playbook, a ``SyncJob``.

Not a benchmark itself. The CRM-neutral parts (temporary folder, logs, the machine line, the
playbook's owners, the child processes, the org's clock, the ``SyncJob``, progress lines) come
from ``syncbench.py``; this module adds what is Zoho's. Everything talks to 127.0.0.1 only: the
sandbox serves Zoho Accounts' token endpoint and the API on one port, and the adapter's
``accounts_url`` and ``api_url`` point at it.

- ``ZohoSandboxProcess`` runs ``python -m leadsync.sandboxes.zoho --port 0 ...`` as a child, so the
  sandbox's CPU and memory are not the sync's (Zoho is another machine in production). Its
  ``/__sandbox/*`` control endpoints give request counts and credits used (``stats``), the org's
  clock (``advance``) and the integration user's credentials.
- ``options`` builds the adapter's options as ``demo_zoho`` does (the client secret in an
  environment variable), plus ``clock``: the org's time, so the adapter's "now" is Zoho's.
- ``prepare`` runs ``leadsync setup`` (leadsync's custom fields) and writes the playbook with the
  org's active reps as the pools' owners; ``make_job`` builds the job.

Imports only the standard library at module level (``zoho_memory.py``'s harness must stay small).
"""

from __future__ import annotations

import argparse
import os
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
SECRET_ENV = "LEADSYNC_BENCH_ZOHO_SECRET"
# An Enterprise org's day (50,000 + 1,000 a user licence; the sandbox's default is 10 licences):
# https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html
DAILY_CREDITS = 60_000
# Zoho's daily credits by edition: (base, per user licence, maximum). Zoho's pages disagree on the
# base (50,000 on zoho.com's v2-v8 pages, 15,000/10,000/5,000 on zoho.eu's); the larger is used.
EDITIONS = {
    "Free": (5_000, 0, 5_000),
    "Standard": (50_000, 250, 100_000),
    "Professional": (50_000, 500, 3_000_000),
    "Enterprise": (50_000, 1_000, 5_000_000),
    "Ultimate": (50_000, 2_000, 10**12),
}
# Concurrent calls per org and app, by edition (the same page).
CONCURRENCY = {"Free": 5, "Standard": 10, "Professional": 15, "Enterprise": 20, "Ultimate": 25}


def edition_credits(edition: str, users: int) -> int:
    base, per_user, most = EDITIONS[edition]
    return min(most, base + per_user * users)


class ZohoSandboxProcess(sb.SandboxProcess):
    """A seeded Zoho CRM sandbox in a child process on 127.0.0.1 (a free port).

    ``stats``, ``reset_stats``, ``limits``, ``peak_rss_mib``, ``stop`` and ``clock`` (the org's time:
    the adapter's and the sync's ``now``) are the HubSpot sandbox process's: the control endpoints
    have the same paths.
    """

    def __init__(
        self,
        *,
        leads: int,
        contacts: int,
        seed: int = 1,
        now: str = DEFAULT_NOW,
        daily_credits: int = DAILY_CREDITS,
        concurrency: int = 10,
    ) -> None:
        cmd = [sys.executable, "-m", "leadsync.sandboxes.zoho", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--leads", str(leads), "--contacts", str(contacts), "--seed", str(seed)]
        cmd += ["--now", now.replace("Z", "+00:00"), "--daily-credits", str(daily_credits)]
        cmd += ["--concurrency", str(concurrency)]
        self.now = sb.parse_now(now)
        self.t0 = time.monotonic()
        self.url = self._spawn(cmd, "Zoho CRM sandbox listening on ").split()[0]
        self.credentials: dict[str, Any] = self._control("GET", "/__sandbox/credentials")
        self._sync_clock()

    def credits_used(self) -> int:
        """Credits the org counted in its rolling 24 hours."""
        return int(self.stats()["credits"]["used"])


def options(url: str, credentials: dict[str, Any], clock: Callable[[], datetime]) -> dict[str, Any]:
    """The Zoho connection's options against a sandbox (as ``demo_zoho``), on the org's clock."""
    os.environ[SECRET_ENV] = str(credentials["client_secret"])
    return {
        "accounts_url": url,
        "api_url": url,
        "client_id": credentials["client_id"],
        "client_secret_env": SECRET_ENV,
        "token": credentials["refresh_token"],
        "clock": clock,
    }


def in_process_options(sandbox: Any) -> dict[str, Any]:
    """For a ``ZohoSandbox`` in this process: its clock is the org's own."""
    c = sandbox.credentials
    creds = {"client_id": c.client_id, "client_secret": c.client_secret, "refresh_token": c.refresh_token}
    return options(sandbox.url, creds, sandbox.clock)


def prepare(opts: dict[str, Any], rules: Path, folder: Path) -> Path:
    """``leadsync setup`` against the org; the playbook with the org's active reps as the pools' owners.

    The reps are the active users other than the integration user (whose refresh token this is).
    """
    from leadsync.adapters.zoho.adapter import from_options
    from leadsync.rules.loader import load_rules

    adapter = from_options(opts)
    me = adapter.client.get("/users", {"type": "CurrentUser"}) or {}
    mine = {str(u.get("id")) for u in me.get("users") or []}
    reps = [o.id for o in adapter.read_owners() if o.active and o.id not in mine]
    path = sb.playbook(rules, reps, folder)
    adapter.setup(load_rules(path).reason_labels)
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
    """A ``SyncJob`` (connection ``bench``) with a fresh Zoho adapter, as the daemon builds it.

    ``batch_size`` is the connection's (changes per ``write_contacts``; leadsync's default 200,
    which the adapter sends as update calls of 100, Zoho's most).
    """
    from leadsync.adapters.zoho.adapter import from_options

    return sb.sync_job(from_options(opts), rules, state_url, clock, batch_size=batch_size, progress=progress)


def add_org_args(p: argparse.ArgumentParser, leads: int) -> None:
    """The options every Zoho benchmark takes: org size, rules, data seed, the org's time."""
    p.add_argument("--leads", type=int, default=leads, help=f"leads seeded in the org (default {leads:,})")
    p.add_argument(
        "--contacts", type=int, help="contacts seeded besides the leads (default a tenth of the leads)"
    )
    sb.add_data_args(p, "org")
    p.add_argument(
        "--batch-size",
        type=int,
        default=200,
        help="the connection's batch_size: changes per write_contacts (default 200, leadsync's default)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary state folder")


def contacts_of(a: argparse.Namespace) -> int:
    return a.leads // 10 if a.contacts is None else int(a.contacts)
