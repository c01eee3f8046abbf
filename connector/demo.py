"""``leadsync demo``: the whole loop on a local CRM sandbox, no account needed.

It starts a sandbox (found through the ``leadsync.sandboxes`` entry points, as adapters are),
writes a config and a state store in a folder, runs the daemon for a few cycles on an example
playbook, prints what leadsync wrote back, writes ``leadsync report`` (CONTRACT §6) of the
sandbox's months of history into the folder (``REPORTS``), and prints its headline numbers and how
to look further.
"""

from __future__ import annotations

import io
import json
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
from leadsync.sync.loop import RunResult, owners_from_store
from leadsync.sync.state import StateStore, open_store
from leadsync.sync.tables import ActionRow, ConflictRow, ContactRow, DeadLetterRow, WrittenRow

__all__ = ["run_demo"]

PLAYBOOK = "smarketing-2h.yaml"
TOKEN_ENV = "LEADSYNC_DEMO_TOKEN"
CONNECTION = "demo"  # the one connection of the demo's config
# The report files the demo writes into its folder: (``--format``, file name).
REPORTS = (("html", "report.html"), ("text", "report.txt"), ("json", "report.json"))


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
        config.write_text(_config_text(portal["adapter"], portal["options"]), encoding="utf-8")
        settings = load_settings(config)
        store = open_store(settings.state)
        from leadsync.rules.loader import load_rules

        conn = settings.connections[0]
        for line in conn.make_adapter().setup(load_rules(rules).reason_labels):
            echo(f"  setup: {line}")
        if "history" in portal:  # the sandbox's past lives in the fields setup has just created
            portal["history"]()

        def report(name: str, result: RunResult) -> None:
            echo(f"  run {result.run_id}: {result.summary(name)}")

        echo(f"  running the daemon for {cycles} cycles...")
        Daemon(settings, store, cycles=cycles, on_result=report).serve()
        echo("")
        echo(_summary(store))
        store.close()
    echo("")
    _write_reports(folder, config, echo)
    echo("")
    echo(f"Look at it: leadsync status --config {config}")
    echo(f"            leadsync report --config {config} --by week")
    query = "select contact_id, stage, owner_id, sla_status from contacts limit 20"
    echo(f"            sqlite3 {folder / 'state.db'} '{query}'")
    echo(f"Your own CRM: change the lines marked CHANGE in {config} and the SANDBOX owner ids in")
    echo(f"            {rules}, then `leadsync setup` and `leadsync check`")
    echo("            (README: From the demo to your CRM).")
    return 0


# Options that only a local sandbox needs (its address, its certificate), and what each
# adapter needs instead to reach a real CRM (README: The config file).
_SANDBOX_ONLY = {"base_url", "login_url", "accounts_url", "api_url", "ca_file"}
_REAL_OPTIONS = {
    "hubspot": "{account_timezone: Europe/Madrid}",
    "salesforce": "{auth: jwt, client_id: 3MVG9..., username: leadsync@acme.com}",
    "zoho": "{client_id: 1000.XXXX, data_center: eu}",
}
_TOKEN_HINT = {
    "hubspot": "your private-app token's variable, e.g. HUBSPOT_TOKEN (or token_file:)",
    "salesforce": "the JWT private key: token_file: /run/secrets/leadsync.key",
    "zoho": "your refresh token's variable, e.g. ZOHO_REFRESH_TOKEN (or token_file:)",
}


def _config_text(adapter: str, options: dict[str, Any]) -> str:
    """The demo's config, every line an admin changes for a real CRM marked ``CHANGE``."""
    lines = [
        f"# written by `leadsync demo` for a local {adapter} sandbox. To run it on your own CRM, change",
        "# the lines marked CHANGE (README: From the demo to your CRM), correct the owner ids in",
        "# rules.yaml, then `leadsync setup`, `leadsync check` and `leadsync sync --once --dry-run`.",
        "state: sqlite:///state.db",
        "log: {level: warning, format: console}",
        "connections:",
        f"  - name: {CONNECTION}",
        f"    adapter: {adapter}                # CHANGE if your CRM is another: hubspot, salesforce, zoho",
        "    rules: rules.yaml              # its routing pools name the SANDBOX's owner ids: CHANGE them",
        "    every: 3s                      # CHANGE: 5m for a real CRM",
        f"    token_env: {TOKEN_ENV}  # CHANGE: {_TOKEN_HINT.get(adapter, 'your token')}",
        "    options:                       # CHANGE: the sandbox's; yours are like "
        + _REAL_OPTIONS.get(adapter, "the adapter's README says"),
    ]
    for key, value in options.items():
        why = "SANDBOX only: delete" if key in _SANDBOX_ONLY else "SANDBOX's value: CHANGE to yours"
        lines.append(f"      {key}: {json.dumps(value, default=str)}  # {why}")
    return "\n".join(lines) + "\n"


SANDBOX_NOTE = (
    "SANDBOX owner ids (the local sandbox's reps): CHANGE to your CRM's owner ids; "
    "`leadsync check` names any your CRM lacks"
)


def _with_owners(text: str, owners: list[str]) -> str:
    """The playbook with its example owners (u-lia, ...) replaced by the sandbox's owners, each
    line holding one marked as the sandbox's, so an admin knows which ids to change."""
    names: list[str] = []
    for pool in (yaml.safe_load(text).get("routing") or {}).get("pools") or []:
        names += [o for o in pool.get("owners", []) if o not in names]
    out: list[str] = []
    for line in text.splitlines():
        changed = line
        for i, name in enumerate(names):
            changed = re.sub(
                rf"(?<![\w-]){re.escape(name)}(?![\w-])", f'"{owners[i % len(owners)]}"', changed
            )
        out.append(f"{changed}  # {SANDBOX_NOTE}" if changed != line else line)
    head = (
        "# Copied by `leadsync demo`. The owner ids below marked SANDBOX are the local sandbox's: an\n"
        "# admin replaces them with the CRM's own owner ids before pointing leadsync at a real CRM.\n"
    )
    return head + "\n".join(out) + "\n"


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
    names = {oid: owner.name for oid, owner in owners_from_store(store, CONNECTION).items() if owner.name}

    def who(oid: str | None) -> str:
        return "unassigned" if not oid else f"{names[oid]} ({oid})" if oid in names else oid

    lines.append(
        "  owners of MQLs/SQLs: "
        + (", ".join(f"{who(k)} {v}" for k, v in sorted(owners.items(), key=str)) or "-")
    )
    lines.append("  SLA: " + ", ".join(f"{k or 'none'} {v}" for k, v in sorted(sla.items(), key=str)))
    lines.append(
        "  reason codes written: " + (", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none")
    )
    lines.append(f"  tasks created for reps: {len(tasks)}")
    for task in tasks[:5]:
        lines.append(
            f"    {task.payload.get('title') or 'notify'} -> {who(task.payload.get('owner_id'))}"
            f" (CRM task {task.crm_id})"
        )
    lines.append(f"  dead letters: {dead}, conflicts with manual changes: {conflicts}")
    return "\n".join(lines)


def _write_reports(folder: Path, config: Path, echo: Callable[[str], None]) -> None:
    """``leadsync report --config`` as each of ``REPORTS`` into ``folder`` (one ``now`` for all, so
    they show the same numbers), then its headline numbers."""
    from leadsync.report.command import ReportRequest, run_report

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for fmt, name in REPORTS:
        request = ReportRequest(
            rules=None,
            contacts=None,
            activities=None,
            owners=None,
            config=config,
            connection=None,
            now=now,
            start=None,
            end=None,
            by="month",
            format=fmt,
            out=folder / name,
        )
        run_report(request, io.BytesIO())
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    window = report["window"]
    echo(f"The weekly review of the sandbox's last months ({window['from']} to {window['to']}):")
    for line in _headlines(report):
        echo(f"  {line}")
    echo(f"  open it in a browser: {folder / 'report.html'}")
    echo("  (the same numbers in " + ", ".join(str(folder / name) for _, name in REPORTS[1:]) + ")")


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _headlines(report: dict[str, Any]) -> list[str]:
    """What a RevOps admin looks at first: this month's MQLs against the commitment, SLA compliance
    over the window, the best source, the top reason leads were lost and the texts to map."""
    month = report["commitment"][-1]
    committed = (
        "no commitment in the rules"
        if month["committed"] is None
        else f"marketing committed {month['committed']}"
    )
    lines = [
        f"MQLs handed to sales in {month['month']}: {month['handoffs']} so far, on pace for "
        f"{month['projected']} ({committed})"
    ]
    if report.get("sla"):
        periods = report["sla"]["periods"]
        on_time, late = sum(p["on_time"] for p in periods), sum(p["late"] for p in periods)
        rate = on_time / (on_time + late) if on_time + late else None
        lines.append(
            f"first sales touch within the SLA: {on_time} on time, {late} late ({_percent(rate)} compliance)"
        )
    sources = [s for s in report["funnel"]["by_source"] if s["handoffs"] >= 3 and s["sql_rate"] is not None]
    if sources:
        best = max(sources, key=lambda s: (s["sql_rate"], s["handoffs"]))
        lines.append(
            f"best source: {best['source']}, {_percent(best['sql_rate'])} of its {best['handoffs']} "
            "handoffs became SQL"
        )
    reasons = report["reasons"]
    if reasons["rows"]:
        top = reasons["rows"][0]
        label = f" ({top['label']})" if top["label"] else ""
        lines.append(
            f"top reason leads were lost: {top['reason']}{label}, {top['count']} of {reasons['total']}"
        )
    if reasons["unknown"]:
        texts = ", ".join(repr(u["value"]) for u in reasons["unknown"][:3])
        lines.append(f"reason texts matching no code (add them as aliases in the rules): {texts}")
    return lines
