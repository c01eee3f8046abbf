"""``leadsync demo``: the whole loop on a local CRM sandbox, no account needed.

It starts a sandbox (found through the ``leadsync.sandboxes`` entry points, as adapters are),
writes a config and a state store in a folder, runs the daemon for a few cycles on an example
playbook, and prints what leadsync wrote back and how to look at it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from leadsync.errors import ConfigError, Problem
from leadsync.settings import load_settings
from leadsync.sync.daemon import Daemon
from leadsync.sync.loop import RunResult
from leadsync.sync.state import StateStore, open_store
from leadsync.sync.tables import ActionRow, ConflictRow, ContactRow, DeadLetterRow, WrittenRow

__all__ = ["run_demo"]

PLAYBOOK = "smarketing-2h.yaml"
TOKEN_ENV = "LEADSYNC_DEMO_TOKEN"


def _sandbox(name: str) -> Any:
    for ep in entry_points(group="leadsync.sandboxes"):
        if ep.name == name:
            return ep.load()
    raise ConfigError([Problem("demo", 0, f"no sandbox called `{name}` is installed")])


def run_demo(folder: Path | None, contacts: int, cycles: int, crm: str, echo: Callable[[str], None]) -> int:
    """Run the demo; the folder keeps config, rules and state.db for a look afterwards."""
    folder = folder or Path(tempfile.mkdtemp(prefix="leadsync-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "rules.yaml"
    with _sandbox(crm)(contacts=contacts) as portal:
        playbook = str(portal.get("playbook") or PLAYBOOK)  # a sandbox may pick the one its data suits
        text = (files("leadsync.examples") / "rules" / playbook).read_text(encoding="utf-8")
        rules.write_text(_with_owners(text, portal["owners"]), encoding="utf-8")
        echo(f"leadsync demo: {portal['describe']}")
        echo(f"  playbook: {playbook} (copied to {rules})")
        os.environ[TOKEN_ENV] = portal["options"].pop("token")
        config = folder / "leadsync.yaml"
        options = ", ".join(f"{k}: {v}" for k, v in portal["options"].items())
        config.write_text(
            "# written by `leadsync demo`\n"
            "state: sqlite:///state.db\n"
            "log: {level: warning, format: console}\n"
            "connections:\n"
            f"  - name: demo\n    adapter: {portal['adapter']}\n    rules: rules.yaml\n    every: 3s\n"
            f"    token_env: {TOKEN_ENV}\n    options: {{{options}}}\n",
            encoding="utf-8",
        )
        settings = load_settings(config)
        store = open_store(settings.state)
        from leadsync.rules.loader import load_rules

        conn = settings.connections[0]
        for line in conn.make_adapter().setup(load_rules(rules).reason_labels):
            echo(f"  setup: {line}")

        def report(name: str, result: RunResult) -> None:
            echo(f"  run {result.run_id}: {result.summary(name)}")

        echo(f"  running the daemon for {cycles} cycles...")
        Daemon(settings, store, cycles=cycles, on_result=report).serve()
        echo("")
        echo(_summary(store))
        store.close()
    echo("")
    echo(f"Look at it: leadsync status --config {config}")
    query = "select contact_id, stage, owner_id, sla_status from contacts limit 20"
    echo(f"            sqlite3 {folder / 'state.db'} '{query}'")
    echo(f"Your own CRM: copy {config} and {rules}, point the connection at your CRM (see README).")
    return 0


def _with_owners(text: str, owners: list[str]) -> str:
    """The playbook with its example owners (u-lia, ...) replaced by the sandbox's owners."""
    names: list[str] = []
    for pool in (yaml.safe_load(text).get("routing") or {}).get("pools") or []:
        names += [o for o in pool.get("owners", []) if o not in names]
    for i, name in enumerate(names):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", f'"{owners[i % len(owners)]}"', text)
    return text


def _summary(store: StateStore) -> str:
    with store.transaction() as s:

        def count(*where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(ContactRow).where(*where)) or 0)

        stages = dict(s.execute(select(ContactRow.stage, func.count()).group_by(ContactRow.stage)).all())
        sla = dict(
            s.execute(select(ContactRow.sla_status, func.count()).group_by(ContactRow.sla_status)).all()
        )
        tasks = s.scalars(select(ActionRow).where(ActionRow.status == "done")).all()
        owners = dict(
            s.execute(
                select(ContactRow.owner_id, func.count())
                .where(ContactRow.stage.in_(["mql", "sql"]))
                .group_by(ContactRow.owner_id)
            ).all()
        )
        reasons: dict[Any, int] = dict(
            s.execute(
                select(WrittenRow.value, func.count())
                .where(WrittenRow.field == "disqualification_reason", WrittenRow.value.is_not(None))
                .group_by(WrittenRow.value)
            ).all()
        )
        dead = int(s.scalar(select(func.count()).select_from(DeadLetterRow)) or 0)
        conflicts = int(s.scalar(select(func.count()).select_from(ConflictRow)) or 0)
        written = int(s.scalar(select(func.count(func.distinct(WrittenRow.contact_id)))) or 0)
    lines = [f"What leadsync wrote back ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC):"]
    lines.append(f"  contacts decided: {count()}, written to the CRM: {written}")
    lines.append("  stages: " + ", ".join(f"{k or 'lead'} {v}" for k, v in sorted(stages.items(), key=str)))
    lines.append(
        "  owners of MQLs/SQLs: "
        + (", ".join(f"{k or 'unassigned'} {v}" for k, v in sorted(owners.items(), key=str)) or "-")
    )
    lines.append("  SLA: " + ", ".join(f"{k or 'none'} {v}" for k, v in sorted(sla.items(), key=str)))
    lines.append(
        "  reason codes written: " + (", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none")
    )
    lines.append(f"  tasks created for reps: {len(tasks)}")
    for task in tasks[:5]:
        lines.append(
            f"    {task.payload.get('title') or 'notify'} -> {task.payload.get('owner_id') or 'no owner'}"
            f" (CRM task {task.crm_id})"
        )
    lines.append(f"  dead letters: {dead}, conflicts with manual changes: {conflicts}")
    return "\n".join(lines)
