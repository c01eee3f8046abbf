"""The ``leadsync`` command line."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from leadsync import __version__
from leadsync.errors import InputError, Problem
from leadsync.timeutil import parse_iso_ts

# A command imports what it needs when it runs: `leadsync --version` and `leadsync validate` do not
# pay for the rules engine's compilers or the daemon's database layer (SQLAlchemy, Alembic, the
# scheduler), which `leadsync run` and its kin import when one of them is asked for.

__all__ = ["main"]

EXIT_BAD_INPUT = 2
_FILE = click.Path(path_type=Path, dir_okay=False)


def _fail(error: InputError) -> NoReturn:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    sys.exit(EXIT_BAD_INPUT)


def _now(value: str) -> datetime:
    try:
        return parse_iso_ts(value)
    except ValueError as exc:
        raise InputError([Problem("--now", 0, str(exc))]) from None


# The first paragraph of each daemon command's help, so that `leadsync --help` lists them without
# importing them (2.5 CPU-seconds); tests/cli/test_lazy_imports.py keeps it equal to their help.
DAEMON_COMMANDS_HELP = {
    "check": "Verify each connection's credentials, permissions, fields and the rules' owner ids.",
    "demo": "No account needed: a local CRM sandbox, the daemon for a few cycles, and what it wrote.",
    "explain": "Read one contact live from the CRM and explain its decision, now.",
    "history": "One contact's decision history: what leadsync changed, when and why (reads the state only).",
    "retry": "Replay dead letters: re-decide their contacts from state and write again.",
    "run": "Run the sync daemon: every connection on its interval, until SIGTERM or SIGINT.",
    "setup": "Create, idempotently, the CRM fields leadsync writes (score, SLA, reason codes...).",
    "status": "Last runs, backlog, dead letters and SLA counts, per connection (reads the state only).",
    "sync": "One sync run of one connection (read what changed, decide, write back).",
}


class _Commands(click.Group):
    """The offline commands are defined here; the daemon's (``leadsync.commands``) are added the
    first time a command this group does not know is asked for, or the list of them. ``--help``
    lists them from ``DAEMON_COMMANDS_HELP`` without importing them."""

    _daemon_loaded = False

    def _load_daemon_commands(self) -> None:
        if not self._daemon_loaded:
            self._daemon_loaded = True
            from leadsync.commands import register

            register(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_daemon_commands()
        return super().list_commands(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self._daemon_loaded:
            super().format_commands(ctx, formatter)
            return
        names = sorted({*super().list_commands(ctx), *DAEMON_COMMANDS_HELP})
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = super().get_command(ctx, name)
            if command is not None:
                rows.append((name, command.get_short_help_str(limit)))
            else:
                stand_in = click.Command(name, help=DAEMON_COMMANDS_HELP[name])
                rows.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and not self._daemon_loaded:
            self._load_daemon_commands()
            command = super().get_command(ctx, cmd_name)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadsync")
def main() -> None:
    """leadsync: runs the marketing-sales revenue contract inside your CRM."""


@main.command("evaluate")
@click.option("--rules", "rules_path", type=_FILE, required=True, help="The rules file (YAML).")
@click.option("--contacts", type=_FILE, required=True, help="contacts.jsonl")
@click.option("--activities", type=_FILE, required=True, help="activities.jsonl")
@click.option("--owners", type=_FILE, default=None, help="owners.jsonl (without it nobody is routed)")
@click.option("--now", "now_text", required=True, help="The decision time, e.g. 2026-11-23T10:00:00Z")
@click.option("--out", type=_FILE, default=None, help="Write decisions here instead of standard output.")
@click.option(
    "--explain",
    "explain_id",
    default=None,
    metavar="ID",
    help="Print one contact's decision for a person instead of the decisions.",
)
def evaluate_command(
    rules_path: Path,
    contacts: Path,
    activities: Path,
    owners: Path | None,
    now_text: str,
    out: Path | None,
    explain_id: str | None,
) -> None:
    """Decide every contact offline: no CRM, no state. Writes one decision per contact."""
    from leadsync.evaluate import evaluate, output
    from leadsync.explain import render_explanation
    from leadsync.rules.loader import load_rules

    try:
        now = _now(now_text)
        rules = load_rules(rules_path)
        if explain_id is None:
            with output(out, sys.stdout.buffer) as write:
                result = evaluate(rules, contacts, activities, owners, now, write=write)
        else:
            result = evaluate(rules, contacts, activities, owners, now, explain=explain_id)
    except InputError as error:
        _fail(error)
    if explain_id is not None:
        decision = result.explained
        if decision is None:
            _fail(InputError([Problem(str(contacts), 0, f"no contact with id `{explain_id}`")]))
        click.echo(render_explanation(decision, result.notes, rules, now))
        return
    click.echo(f"leadsync evaluate: {result.summary()}", err=True)


@main.command("validate")
@click.argument("rules_path", type=_FILE, metavar="RULES.yaml")
def validate_command(rules_path: Path) -> None:
    """Check a rules file; list every problem as FILE:LINE, or summarize it on one screen."""
    from leadsync.rules.loader import rules_from_source
    from leadsync.rules.yamlsource import load_yaml
    from leadsync.summary import summarize

    try:
        source = load_yaml(rules_path)
        rules = rules_from_source(source)
    except InputError as error:
        _fail(error)
    click.echo(summarize(rules, source))


@main.command("plan")
@click.option("--rules", "rules_path", type=_FILE, required=True, help="The rules file (YAML).")
def plan_command(rules_path: Path) -> None:
    """Turn the sales quota into the leads marketing must deliver, per month and per quarter."""
    from leadsync.quota import make_plan
    from leadsync.rules.loader import rules_from_source
    from leadsync.rules.yamlsource import load_yaml

    try:
        source = load_yaml(rules_path)
        rules = rules_from_source(source)
    except InputError as error:
        _fail(error)
    plan = make_plan(rules.source.commitments)
    if isinstance(plan, list):
        line = source.line(("commitments",))
        names = ", ".join(f"`commitments.{n}`" for n in plan)
        _fail(InputError([Problem(str(rules_path), line, f"`plan` needs {names} in the rules file")]))
    click.echo(plan.render())


@main.command("report")
@click.option("--rules", "rules_path", type=_FILE, default=None, help="The rules file (the records form).")
@click.option("--contacts", type=_FILE, default=None, help="contacts.jsonl (with --rules)")
@click.option("--activities", type=_FILE, default=None, help="activities.jsonl (with --rules)")
@click.option("--owners", type=_FILE, default=None, help="owners.jsonl (with --rules; names the owners)")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Report from the daemon's state store instead (default: $LEADSYNC_CONFIG, then ./leadsync.yaml).",
)
@click.option("--connection", default=None, help="Which connection of --config (when there are several).")
@click.option("--now", "now_text", default=None, help="Decide at this time (required with --rules).")
@click.option(
    "--from", "start", default=None, metavar="YYYY-MM-DD", help="First day (default: 2 months back)."
)
@click.option(
    "--to", "end", default=None, metavar="YYYY-MM-DD", help="Last day, inclusive (default: now's date)."
)
@click.option("--by", type=click.Choice(["month", "week"]), default="month", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv", "html"]),
    default="text",
    show_default=True,
    help="html: one self-contained page (tables and charts, nothing fetched when it opens).",
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="A file (a folder for csv).")
def report_command(
    rules_path: Path | None,
    contacts: Path | None,
    activities: Path | None,
    owners: Path | None,
    config_path: Path | None,
    connection: str | None,
    now_text: str | None,
    start: str | None,
    end: str | None,
    by: str,
    fmt: str,
    out: Path | None,
) -> None:
    """The weekly review: MQLs against the commitment, the funnel, SLA and speed to lead, reasons."""
    from leadsync.report.command import ReportRequest, run_report

    request = ReportRequest(
        rules_path, contacts, activities, owners, config_path, connection, now_text, start, end, by, fmt, out
    )
    try:
        run_report(request, sys.stdout.buffer)
    except InputError as error:
        _fail(error)


@main.command("export")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The daemon's config (default: $LEADSYNC_CONFIG, then ./leadsync.yaml).",
)
@click.option("--connection", default=None, help="Which connection of --config (when there are several).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="A new folder (or an earlier export's) for contacts.jsonl, activities.jsonl, owners.jsonl.",
)
def export_command(config_path: Path | None, connection: str | None, out: Path) -> None:
    """Write the state store's contacts, activities and owners as JSON Lines files (CONTRACT §1)."""
    from leadsync.sync.export import run_export

    try:
        exported = run_export(config_path, connection, out)
    except InputError as error:
        _fail(error)
    click.echo(f"leadsync export: {exported.summary(out)}", err=True)


@main.command("convert")
@click.option("--mapping", "mapping_path", type=_FILE, required=True, help="The column mapping (YAML).")
@click.argument("csv_path", type=_FILE, metavar="FILE.csv")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The folder for contacts.jsonl, activities.jsonl and outcomes.jsonl.",
)
def convert_command(mapping_path: Path, csv_path: Path, out: Path) -> None:
    """Turn a CSV export into canonical records through a column mapping (see README)."""
    from leadsync.convert.run import convert

    try:
        result = convert(mapping_path, csv_path, out)
    except InputError as error:
        _fail(error)
    click.echo(f"leadsync convert: {result.summary()}", err=True)


@main.command("backtest")
@click.option("--rules", "rules_path", type=_FILE, default=None, help="The playbook to test (NEW.yaml).")
@click.option("--baseline", type=_FILE, default=None, help="The current playbook, side by side.")
@click.option("--contacts", type=_FILE, default=None, help="contacts.jsonl")
@click.option("--activities", type=_FILE, default=None, help="activities.jsonl")
@click.option("--outcomes", type=_FILE, default=None, help='outcomes.jsonl: {"contact_id", "outcome", "at"}')
@click.option("--owners", type=_FILE, default=None, help="owners.jsonl (without it nobody is routed)")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Read contacts, activities and owners from the state store; a customer now is won.",
)
@click.option("--connection", default=None, help="Which connection of --config (when there are several).")
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="First day of creation.")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Last day, inclusive.")
@click.option("--window", default="90d", show_default=True, help="Won within this long after the handoff.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--out", type=_FILE, default=None, help="Write here instead of standard output.")
def backtest_command(
    rules_path: Path | None,
    baseline: Path | None,
    contacts: Path | None,
    activities: Path | None,
    outcomes: Path | None,
    owners: Path | None,
    config_path: Path | None,
    connection: str | None,
    start: str,
    end: str,
    window: str,
    fmt: str,
    out: Path | None,
) -> None:
    """Replay a playbook over the past, point in time, next to the current one (see README)."""
    from leadsync.backtest.command import BacktestRequest, run_backtest

    request = BacktestRequest(
        rules_path,
        baseline,
        contacts,
        activities,
        outcomes,
        owners,
        config_path,
        connection,
        start,
        end,
        window,
        fmt,
        out,
    )
    try:
        run_backtest(request, sys.stdout.buffer)
    except InputError as error:
        _fail(error)
