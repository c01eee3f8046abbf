"""End-to-end helpers: a HubSpot sandbox on 127.0.0.1, a config in tmp_path, `leadsync` as a process.

Everything here talks only to 127.0.0.1: the sandbox runs in the test process, and the
``leadsync`` subprocesses get its URL through the config's ``options.base_url``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from leadsync.adapters.hubspot.adapter import from_options
from leadsync.rules.loader import load_rules
from leadsync.sandboxes.hubspot.sandbox import Faults, HubSpotSandbox, RateLimits

ROOT = Path(__file__).resolve().parents[2]
LEADSYNC = Path(sys.executable).with_name("leadsync")
if not LEADSYNC.exists():
    LEADSYNC = ROOT / ".venv" / "bin" / "leadsync"
PLAYBOOK = ROOT / "examples" / "rules" / "smarketing-2h.yaml"

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Madrid (office hours)
NOW_TEXT = "2026-11-23T10:00:00Z"
TOKEN = "pat-na1-7c0ffee0-e2e0-4d1e-9a5e-5ec2e75ec2e7"
TOKEN_TAIL = "5ec2e75ec2e7"  # what must never show, masked prefix or not
TOKEN_ENV = "LEADSYNC_E2E_TOKEN"
ALL_SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.owners.read",
    "sales-email-read",
    "crm.schemas.contacts.write",
]
# The sandbox enforces HubSpot's real limits by default; raised so a backfill takes seconds.
FAST = RateLimits(ten_second_max=100_000, search_per_second=10_000)
# What leadsync writes on a contact (mappings/hubspot.yaml and `leadsync setup`).
WRITTEN_PROPERTIES = (
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "leadsync_score",
    "leadsync_score_breakdown",
    "leadsync_reason",
    "leadsync_sla_status",
    "leadsync_sla_due_at",
    "leadsync_mql_at",
    "leadsync_sql_at",
    "leadsync_assigned_at",
)


def start_sandbox(
    *,
    contacts: int = 150,
    seed: int = 7,
    now: datetime | None = NOW,
    limits: RateLimits | None = None,
    faults: Faults | None = None,
) -> HubSpotSandbox:
    """A running sandbox with six owners (two of them archived) and the test token (every scope)."""
    return HubSpotSandbox(
        port=0,
        token=TOKEN,
        seed=seed,
        contacts=contacts,
        owners=6,
        now=now,
        limits=limits or FAST,
        faults=faults,
    ).start()


def active_owners(sb: HubSpotSandbox) -> list[str]:
    return [str(o["id"]) for o in sb.owners if not o.get("archived")]


def playbook_for(sb: HubSpotSandbox) -> str:
    """The smarketing playbook with its example owners (u-irene, ...) replaced by the sandbox's."""
    text = PLAYBOOK.read_text(encoding="utf-8")
    names: list[str] = []
    for pool in yaml.safe_load(text)["routing"]["pools"]:
        names += [o for o in pool["owners"] if o not in names]
    owners = active_owners(sb)
    for i, name in enumerate(names):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", f'"{owners[i % len(owners)]}"', text)
    return text


def write_config(
    folder: Path,
    sb: HubSpotSandbox,
    *,
    state: str = "sqlite:///state.db",
    every: str = "1h",
    batch_size: int = 50,
    decide_batch: int | None = None,
    level: str = "info",
    options: dict[str, Any] | None = None,
) -> Path:
    """rules.yaml and leadsync.yaml in ``folder``; the token comes from ``TOKEN_ENV``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(playbook_for(sb), encoding="utf-8")
    opts: dict[str, Any] = {
        "base_url": sb.url,
        "account_timezone": "Europe/Madrid",
        "rate_per_10s": 10_000,
        "search_per_s": 1_000,
        "batch_size": min(batch_size, 100),
        "timeout": 20,
        **(options or {}),
    }
    connection: dict[str, Any] = {
        "name": "hs",
        "adapter": "hubspot",
        "rules": "rules.yaml",
        "every": every,
        "batch_size": batch_size,
    }
    if decide_batch is not None:
        connection["decide_batch"] = decide_batch
    connection.update(token_env=TOKEN_ENV, options=opts)
    config = {"state": state, "log": {"level": level, "format": "json"}, "connections": [connection]}
    path = folder / "leadsync.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def setup_portal(sb: HubSpotSandbox, rules: Path) -> None:
    """What `leadsync setup` does, in process: create leadsync's properties in the sandbox."""
    adapter = from_options(
        {"base_url": sb.url, "token": TOKEN, "rate_per_10s": 10_000, "search_per_s": 1_000}
    )
    adapter.setup(load_rules(rules).reason_labels)


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def events(self) -> list[dict[str, Any]]:
        return json_events(self.err)


def child_env(token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    env.pop("HUBSPOT_TOKEN", None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if token is not None:
        env[TOKEN_ENV] = token
    return env


def leadsync(*args: str, token: str | None = TOKEN, timeout: float = 60, cwd: Path | None = None) -> Run:
    """``leadsync ARGS`` as a real process; its exit status, stdout and stderr."""
    p = subprocess.run(
        [str(LEADSYNC), *args],
        env=child_env(token),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    return Run(p.returncode, p.stdout, p.stderr)


def json_events(text: str) -> list[dict[str, Any]]:
    """The JSON log lines of a stderr (other lines skipped)."""
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def written(sb: HubSpotSandbox) -> dict[str, dict[str, str | None]]:
    """Per contact, the properties leadsync writes, as the sandbox holds them now."""
    return {cid: {p: rec.get(p) for p in WRITTEN_PROPERTIES} for cid, rec in sorted(sb.contacts.items())}


def leadsync_tasks(sb: HubSpotSandbox) -> list[tuple[str | None, ...]]:
    """The tasks leadsync created: (key, owner, subject, due), sorted."""
    out = []
    for rec in sb.objects("tasks").values():
        key = rec.get("leadsync_task_key")
        if key:
            out.append(
                (key, rec.get("hubspot_owner_id"), rec.get("hs_task_subject"), rec.get("hs_timestamp"))
            )
    return sorted(out, key=str)


def requests_to(sb: HubSpotSandbox, *endpoints: str) -> int:
    """How many requests the sandbox received on these endpoints (``"POST /crm/v3/..."``)."""
    by = sb.stats()["by_endpoint"]
    return sum(int(by.get(e, 0)) for e in endpoints)


def write_requests(sb: HubSpotSandbox) -> dict[str, int]:
    """Every request that could change a record: batch/update, PATCH, and object creates."""
    by = sb.stats()["by_endpoint"]
    return {
        e: n
        for e, n in by.items()
        if e.startswith(("PATCH ", "PUT ", "DELETE "))
        or e.endswith("/batch/update")
        or e.endswith("/batch/create")
        or re.fullmatch(r"POST /crm/v3/objects/[a-z_]+", e)
    }


def no_secret(text: str) -> bool:
    return TOKEN not in text and TOKEN_TAIL not in text
