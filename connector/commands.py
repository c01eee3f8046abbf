"""The daemon's commands: run, sync, status, retry, explain, check, setup (and history, its own module)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import SecretStr

from leadsync.api import CheckNeeds, CheckReport, CrmAdapter
from leadsync.errors import AuthError, CrmError, InputError, Problem, SetupRefused, printable
from leadsync.explain import render_explanation
from leadsync.logging import configure_logging
from leadsync.observe import ListenAddress, parse_listen
from leadsync.observe.access import beyond_loopback
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import decide_all
from leadsync.rules.loader import load_rules
from leadsync.rules.owners import routable_owners, unknown_owners
from leadsync.settings import Settings, load_settings
from leadsync.sync.changes import ContactPlan
from leadsync.sync.daemon import Daemon, build_job
from leadsync.sync.exclusive import StateInUse, StateLock, lock_path
from leadsync.sync.leases import LeaseHeld, one_off
from leadsync.sync.loop import RunResult, owners_from_store
from leadsync.sync.opening import open_state
from leadsync.sync.progress import ProgressView
from leadsync.sync.progressbar import TerminalProgress, wanted
from leadsync.sync.state import StateStore
from leadsync.timeutil import format_ts, parse_iso_ts

__all__ = ["find_config", "register"]

CONFIG_ENV = "LEADSYNC_CONFIG"
CONFIG_NAME = "leadsync.yaml"


def _config_file(_ctx: click.Context, _param: click.Parameter, given: Path | None) -> Path:
    return find_config(given)


def find_config(given: Path | None) -> Path:
    """``--config``, else ``$LEADSYNC_CONFIG``, else ``./leadsync.yaml``: the first one given must
    exist (a typo is not covered up by another file); none at all is an error saying all three."""
    env = os.environ.get(CONFIG_ENV, "")
    if given is not None:
        path, origin = given, "--config"
    elif env:
        path, origin = Path(env), CONFIG_ENV
    elif Path(CONFIG_NAME).is_file():
        return Path(CONFIG_NAME)
    else:
        text = (
            f"no config file: give --config FILE, set {CONFIG_ENV}=FILE, "
            f"or run from the folder holding {CONFIG_NAME}"
        )
        _fail(InputError([Problem("--config", 0, text)]))
    if not os.path.isfile(path):  # False, not an exception, when a folder on the way is closed
        what = "is a folder" if os.path.isdir(path) else "does not exist (or cannot be reached)"
        text = f"the config file {path} {what}; give the path of leadsync.yaml"
        _fail(InputError([Problem(origin, 0, text)]))
    return path


_CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    callback=_config_file,
    help=f"The daemon's config file (YAML); default: ${CONFIG_ENV}, then ./{CONFIG_NAME}.",
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


def _store(settings: Settings, *, read_only: bool = False) -> StateStore:
    """The state store the config names; a problem with it is reported at its `state:` line."""
    try:
        return open_state(settings.state, settings.state_at, read_only=read_only)
    except InputError as error:
        _fail(error)


def _view(settings: Settings) -> ProgressView | None:
    """The terminal's progress bars, on a terminal with the console log format (never in JSON)."""
    return TerminalProgress() if wanted(settings.log.format) else None


@click.command("run")
@_CONFIG
@click.option("--cycles", type=int, default=None, help="Stop after this many runs of every connection.")
@click.option(
    "--http",
    "listen",
    default=None,
    metavar="HOST:PORT",
    help="Serve /metrics, /livez, /readyz and /report here (e.g. 127.0.0.1:9464; a port alone is on "
    "127.0.0.1; 0.0.0.0:9464 for every interface, which needs http.token_env or http.token_file in "
    "the config). Overrides the config's http.listen.",
)
def run_command(config_path: Path, cycles: int | None, listen: str | None) -> None:
    """Run the sync daemon: every connection on its interval, until SIGTERM or SIGINT."""
    settings = _settings(config_path)
    try:
        address, origin = _listen(listen, settings, config_path)
        token = _http_token(address, origin, settings)
        store = _store(settings)
        daemon = Daemon(
            settings,
            store,
            cycles=cycles,
            listen=address,
            listen_from=origin,
            view=_view(settings),
            token=token,
        )
        code = daemon.serve()
    except InputError as error:
        _fail(error)
    except StateInUse as exc:
        _fail(InputError([Problem(str(config_path), settings.state_line, str(exc))]))
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


def _http_token(
    address: ListenAddress | None, origin: tuple[str, int], settings: Settings
) -> SecretStr | None:
    """The listener's token from the config (a ConfigError at its line when unreadable); an
    address beyond loopback without one is refused where it was given."""
    if address is None:
        return None
    token = settings.http.token() if settings.http is not None else None
    if token is None and not address.loopback:
        raise InputError([Problem(origin[0], origin[1], beyond_loopback(address))])
    return token


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
        store = _store(settings, read_only=dry_run)
        job = build_job(
            conn,
            store,
            clock=(lambda: now) if now else None,
            view=_view(settings),
            progress_every=settings.log.progress_seconds,
            history_days=settings.history_days,
        )
        with _one_writer(store, conn.name, settings, dry_run):
            result = job.run(dry_run=dry_run)
        store.close()  # SQLite folds its -wal file back into state.db and removes it
    except InputError as error:
        _fail(error)
    except (StateInUse, LeaseHeld) as exc:
        _fail(InputError([Problem(str(config_path), settings.state_line, str(exc))]))
    except SetupRefused as error:
        _refused(error, conn.name, job.last_result, config_path)
    except CrmError as error:
        _crm_fail(error)
    if dry_run:
        click.echo(render_plan(result.plans))
    click.echo(result.summary(conn.name), err=dry_run)


def _refused(error: SetupRefused, name: str, result: RunResult | None, config: Path) -> NoReturn:
    """A run stopped by a refusal in the CRM's setup: its summary, the fixes, exit status 1."""
    if sys.stderr.isatty():
        click.echo("", err=True)
    if result is not None:
        click.echo(result.summary(name))
    click.echo(f"leadsync: {name}: stopped, a configuration problem: {error}", err=True)
    setup = f"`leadsync setup --config {config}`"
    for fix in error.fixes:
        click.echo("  fix: " + fix.replace("`leadsync setup`", setup), err=True)
    sys.exit(1)


@contextmanager
def _one_writer(store: StateStore, connection: str, settings: Settings, dry_run: bool) -> Iterator[None]:
    """A one-off run that writes is the only writer of its connection: on SQLite it holds the
    state's lock file, on PostgreSQL the connection's lease. A dry run writes nothing: no lock."""
    if dry_run:
        yield
        return
    path = lock_path(store.engine)
    if path is not None:
        lock = StateLock(path, "leadsync sync").acquire()
        try:
            yield
        finally:
            lock.release()
    elif store.engine.dialect.name == "postgresql":
        with one_off(store, connection, settings.lease_ttl_seconds):
            yield
    else:
        yield


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
            what = a.describe()
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
    store = _store(settings)
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
    if s["dead_letters_by_cause"]:
        causes = sorted(s["dead_letters_by_cause"].items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        out.append(
            "dead letters by cause: "
            + ", ".join(
                f"{cause} {sum(kinds.values())} ("
                + ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(kinds.items()))
                + ")"
                for cause, kinds in causes
            )
            + "  (leadsync retry replays them)"
        )
    out.append("last runs:")
    for r in s["runs"]:
        c = r["counts"]
        out.append(
            f"  {format_ts(r['started_at'])} {_run_label(r):8} read {c.get('contacts_read', 0)}, "
            f"written {c.get('contacts_written', 0)}, tasks {c.get('tasks_created', 0)}"
            + (f"  error: {r['error']}" if r["error"] else "")
        )
    if not s["runs"]:
        out.append("  none yet")
    for d in store.recent_dead_letters(name, 5):
        cause = d.cause or "unclassified"
        out.append(printable(f"  dead letter {d.kind} {d.contact_id or d.key} [{cause}]: {d.error[:160]}"))
    return "\n".join(out)


def _run_label(run: dict[str, Any]) -> str:
    """A run's status, with its kind when it is not a sync (``retry: ok``)."""
    return run["status"] if run["kind"] == "sync" else f"{run['kind']}: {run['status']}"


@click.command("retry")
@_CONFIG
@_CONNECTION
@click.option("--dead-letters", "dead_letters", is_flag=True, help="Replay the dead letters (the default).")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="The dead letters, and every contact with a write or task waiting in the outbox, re-decided.",
)
@click.option("--now", "now_text", default=None, help="Decide as if at this time (replays, tests).")
def retry_command(
    config_path: Path, connection: str | None, dead_letters: bool, everything: bool, now_text: str | None
) -> None:
    """Replay dead letters: re-decide their contacts from state and write again."""
    from leadsync.sync.replay import retry

    settings = _settings(config_path)
    now = parse_iso_ts(now_text) if now_text else None
    try:
        conns = [settings.connection(connection)] if connection else list(settings.connections)
        store = _store(settings)
        for conn in conns:
            clock = (lambda: now) if now else None
            job = build_job(conn, store, clock=clock, history_days=settings.history_days)
            try:
                outcome = retry(job, everything=everything)
            except SetupRefused as error:
                _refused(error, conn.name, job.last_result, config_path)
            click.echo(outcome.summary(conn.name))
    except InputError as error:
        _fail(error)
    except CrmError as error:
        _crm_fail(error)


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
        store = _store(settings)
        crm_owners = owners_from_store(store, conn.name) or {o.id: o for o in adapter.read_owners()}
        owners = routable_owners(rules.owner_refs, crm_owners)  # ids the CRM lacks: inactive
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
    """Verify each connection's credentials, permissions, fields and the rules' owner ids."""
    settings = _settings(config_path)
    failed = False
    for conn in settings.connections:
        try:
            rules = load_rules(conn.rules)
            adapter = conn.make_adapter()
            report = _check(adapter, CheckNeeds(rules.reason_labels))
            owner_lines, owners_ok = _owner_problems(rules, adapter)
            report.details += owner_lines
            report.ok = report.ok and owners_ok
        except InputError as error:
            _fail(error)
        except CrmError as error:
            click.echo(f"{conn.name}: FAILED: {error}")
            failed = True
            continue
        click.echo(f"{conn.name}: {'ok' if report.ok else 'NOT READY'} {report.account}".rstrip())
        for scope in report.missing_scopes:
            click.echo(f"  missing scope: {scope}")
        for line in report.details:
            click.echo(f"  {line}")
        failed = failed or not report.ok
    sys.exit(1 if failed else 0)


def _check(adapter: CrmAdapter, needs: CheckNeeds) -> CheckReport:
    """The adapter's full check (``check_for``, optional) or its credentials-and-scopes one."""
    check_for = getattr(adapter, "check_for", None)
    report = check_for(needs) if callable(check_for) else adapter.check()
    assert isinstance(report, CheckReport)
    return report


def _owner_problems(rules: Rules, adapter: CrmAdapter) -> tuple[list[str], bool]:
    """Lines on the owner ids the rules name (each one the CRM lacks, with FILE:LINE), and
    whether they all exist."""
    if not rules.owner_refs:
        return [], True
    try:
        crm = {o.id: o for o in adapter.read_owners()}
    except AuthError as exc:
        return [f"owner ids not checked: reading the CRM's owners failed: {exc}"], False
    lines = [
        f"owner `{u.owner_id}`: MISSING — the CRM has no owner with this id; correct the owner id at "
        f"{u.places()} (routing skips it until then)"
        for u in unknown_owners(rules.owner_refs, crm)
    ]
    ok = not lines
    named = {r.owner_id for r in rules.owner_refs}
    inactive = sorted(o for o in named if o in crm and not crm[o].active)
    if inactive:
        lines.append(f"note: owners {', '.join(inactive)} are inactive in the CRM; routing skips them")
    if ok:
        lines.append(f"owners: the {len(named)} owner ids the rules name exist in the CRM")
    return lines, ok


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
    from leadsync.history_command import history_command

    for command in (
        run_command,
        sync_command,
        status_command,
        retry_command,
        explain_command,
        check_command,
        setup_command,
        demo_command,
        history_command,
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
