"""The daemon's commands: run, sync, status, explain, check, setup."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from leadsync.errors import AuthError, CrmError, InputError, Problem, printable
from leadsync.explain import render_explanation
from leadsync.logging import configure_logging
from leadsync.observe import ListenAddress, parse_listen
from leadsync.rules.decide import decide_all
from leadsync.rules.loader import load_rules
from leadsync.settings import Settings, load_settings
from leadsync.sync.changes import ContactPlan
from leadsync.sync.daemon import Daemon, build_job
from leadsync.sync.loop import owners_from_store
from leadsync.sync.state import StateStore, open_store
from leadsync.timeutil import format_ts, parse_iso_ts

__all__ = ["register"]

_CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The daemon's config file (YAML).",
)
_CONNECTION = click.option("--connection", default=None, help="Which connection (when there are several).")


def _fail(error: InputError) -> NoReturn:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    sys.exit(2)


def _crm_fail(error: CrmError) -> NoReturn:
    kind = "authentication failed" if isinstance(error, AuthError) else "the CRM call failed"
    click.echo(f"leadsync: {kind}: {error}", err=True)
    sys.exit(3)


def _settings(path: Path) -> Settings:
    try:
        settings = load_settings(path)
    except InputError as error:
        _fail(error)
    configure_logging(settings.log.level, settings.log.format)
    return settings


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(n: int) -> None:
        click.echo(f"\r{n:,} contacts read…", err=True, nl=False)

    return show


@click.command("run")
@_CONFIG
@click.option("--cycles", type=int, default=None, help="Stop after this many runs of every connection.")
@click.option(
    "--http",
    "listen",
    default=None,
    metavar="HOST:PORT",
    help="Serve /metrics, /livez and /readyz here (e.g. 127.0.0.1:9464; a port alone is on "
    "127.0.0.1; 0.0.0.0:9464 for every interface). Overrides the config's http.listen.",
)
def run_command(config_path: Path, cycles: int | None, listen: str | None) -> None:
    """Run the sync daemon: every connection on its interval, until SIGTERM or SIGINT."""
    settings = _settings(config_path)
    try:
        address, origin = _listen(listen, settings, config_path)
        store = open_store(settings.state)
        daemon = Daemon(settings, store, cycles=cycles, listen=address, listen_from=origin)
        code = daemon.serve()
    except InputError as error:
        _fail(error)
    sys.exit(code)


def _listen(
    option: str | None, settings: Settings, config: Path
) -> tuple[ListenAddress | None, tuple[str, int]]:
    """Where to serve metrics and health (None: nowhere), and where that was said."""
    if option is not None:
        try:
            return parse_listen(option), ("--http", 0)
        except ValueError as exc:
            raise InputError([Problem("--http", 0, str(exc))]) from None
    if settings.http is None:
        return None, ("--http", 0)
    return settings.http.address, (str(config), settings.http.line)


@click.command("sync")
@_CONFIG
@_CONNECTION
@click.option("--once", is_flag=True, help="One run, then exit (the default for this command).")
@click.option("--dry-run", is_flag=True, help="Print the plan per contact and field; write nothing anywhere.")
@click.option("--now", "now_text", default=None, help="Decide as if at this time (replays, tests).")
def sync_command(
    config_path: Path, connection: str | None, once: bool, dry_run: bool, now_text: str | None
) -> None:
    """One sync run of one connection (read what changed, decide, write back)."""
    settings = _settings(config_path)
    now = parse_iso_ts(now_text) if now_text else None
    try:
        conn = settings.connection(connection)
        store = open_store(settings.state)
        job = build_job(conn, store, clock=(lambda: now) if now else None, progress=_progress())
        result = job.run(dry_run=dry_run)
    except InputError as error:
        _fail(error)
    except CrmError as error:
        _crm_fail(error)
    if sys.stderr.isatty():
        click.echo("", err=True)
    if dry_run:
        click.echo(render_plan(result.plans))
    click.echo(result.summary(conn.name), err=dry_run)


def render_plan(plans: list[ContactPlan]) -> str:
    """The dry run's plan: per contact, each field from → to, and each action."""
    lines = []
    for p in plans:
        if not p.change and not p.actions and not p.decision.conflicts:
            continue
        lines.append(
            f"{p.contact.id} ({p.contact.email or '-'}): {p.decision.previous_stage} -> {p.decision.stage}"
        )
        for name, value in p.change.items():
            lines.append(f"  {name}: {_show(p.current.get(name))} -> {_show(value)}")
        for a in p.actions:
            what = f'task "{a.title}" due {format_ts(a.due_at)}' if a.type == "task" else f"notify {a.to}"
            lines.append(f"  + {what} for {a.owner_id or 'no owner'} [{a.key}]")
        for conflict in p.decision.conflicts:
            lines.append(f"  ! {conflict.field}: a person set {_show(conflict.crm_value)} in the CRM; kept")
    return "\n".join(lines) if lines else "Nothing to change."


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return format_ts(value) or ""
    return "-" if value in (None, "") else str(value)


@click.command("status")
@_CONFIG
def status_command(config_path: Path) -> None:
    """Last runs, backlog, dead letters and SLA counts, per connection (reads the state only)."""
    settings = _settings(config_path)
    store = open_store(settings.state)
    for conn in settings.connections:
        click.echo(render_status(conn.name, store))


def render_status(name: str, store: StateStore) -> str:
    s = store.status(name)
    out = [f"== {name}: {s['contacts']:,} contacts known"]
    out.append("stages: " + (", ".join(f"{k} {v}" for k, v in sorted(s["stages"].items())) or "-"))
    out.append("SLA: " + (", ".join(f"{k} {v}" for k, v in sorted(s["sla"].items())) or "-"))
    out.append(
        f"backlog: {s['pending_writes']} writes, {s['pending_actions']} actions; "
        f"dead letters: {s['dead_letters']}; conflicts: {s['conflicts']}"
    )
    out.append("last runs:")
    for r in s["runs"]:
        c = r["counts"]
        out.append(
            f"  {format_ts(r['started_at'])} {r['status']:8} read {c.get('contacts_read', 0)}, "
            f"written {c.get('contacts_written', 0)}, tasks {c.get('tasks_created', 0)}"
            + (f"  error: {r['error']}" if r["error"] else "")
        )
    if not s["runs"]:
        out.append("  none yet")
    for d in store.recent_dead_letters(name, 5):
        out.append(printable(f"  dead letter {d.kind} {d.contact_id or d.key}: {d.error[:160]}"))
    return "\n".join(out)


@click.command("explain")
@click.argument("contact_id")
@_CONFIG
@_CONNECTION
def explain_command(contact_id: str, config_path: Path, connection: str | None) -> None:
    """Read one contact live from the CRM and explain its decision, now."""
    settings = _settings(config_path)
    try:
        conn = settings.connection(connection)
        rules = load_rules(conn.rules)
        adapter = conn.make_adapter()
        contacts = adapter.get_contacts([contact_id])
        if not contacts:
            raise InputError([Problem(conn.name, 0, f"the CRM has no contact with id `{contact_id}`")])
        activities = adapter.read_activities([contact_id])
        store = open_store(settings.state)
        owners = owners_from_store(store, conn.name) or {o.id: o for o in adapter.read_owners()}
    except InputError as error:
        _fail(error)
    except CrmError as error:
        _crm_fail(error)
    now = datetime.now(UTC)
    notes: list[str] = []
    [decision] = decide_all(
        rules, contacts, lambda _: activities, owners or None, now, explain=contact_id, notes=notes
    )
    click.echo(render_explanation(decision, notes, rules, now))


@click.command("check")
@_CONFIG
def check_command(config_path: Path) -> None:
    """Verify each connection's credentials and permissions; say exactly what is missing."""
    settings = _settings(config_path)
    failed = False
    for conn in settings.connections:
        try:
            report = conn.make_adapter().check()
        except InputError as error:
            _fail(error)
        except CrmError as error:
            report = None
            click.echo(f"{conn.name}: FAILED: {error}")
            failed = True
        if report is not None:
            click.echo(f"{conn.name}: {'ok' if report.ok else 'NOT READY'} {report.account}".rstrip())
            for scope in report.missing_scopes:
                click.echo(f"  missing scope: {scope}")
            for line in report.details:
                click.echo(f"  {line}")
            failed = failed or not report.ok
    sys.exit(1 if failed else 0)


@click.command("setup")
@_CONFIG
@_CONNECTION
def setup_command(config_path: Path, connection: str | None) -> None:
    """Create, idempotently, the CRM fields leadsync writes (score, SLA, reason codes...)."""
    settings = _settings(config_path)
    try:
        conn = settings.connection(connection)
        rules = load_rules(conn.rules)
        lines = conn.make_adapter().setup(rules.reason_labels)
    except InputError as error:
        _fail(error)
    except CrmError as error:
        _crm_fail(error)
    for line in lines:
        click.echo(line)


def register(group: click.Group) -> None:
    for command in (
        run_command,
        sync_command,
        status_command,
        explain_command,
        check_command,
        setup_command,
        demo_command,
    ):
        group.add_command(command)


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep config, rules and state.db here (default: a new temporary folder).",
)
@click.option("--contacts", type=click.IntRange(10, 20000), default=300, show_default=True)
@click.option("--cycles", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option("--crm", default="hubspot", show_default=True, help="Which installed sandbox to run.")
def demo_command(folder: Path | None, contacts: int, cycles: int, crm: str) -> None:
    """No account needed: a local CRM sandbox, the daemon for a few cycles, and what it wrote."""
    from leadsync.demo import run_demo

    configure_logging("warning", "console")
    try:
        sys.exit(run_demo(folder, contacts, cycles, crm, click.echo))
    except InputError as error:
        _fail(error)
