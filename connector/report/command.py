"""``leadsync report`` (CONTRACT §6): its two sources, its window flags and its formats.

Every problem with the flags or the inputs is found before anything is written (an InputError,
printed as ``FILE:LINE: what`` with exit status 2 by the command line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from leadsync.errors import InputError, Problem
from leadsync.report.inputs import Records, decide_into, records_from_files, records_from_store
from leadsync.report.output import csv_files, to_json, write_folder, write_out
from leadsync.report.tally import ReportBuilder
from leadsync.report.text import render_text
from leadsync.report.window import Window, make_window
from leadsync.rules.compiled import Rules
from leadsync.rules.loader import load_rules
from leadsync.timeutil import parse_iso_ts

__all__ = ["ReportRequest", "build_report", "parse_date", "parse_now", "report_of", "run_report", "window_of"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ReportRequest:
    """The command line's flags. ``rules`` set: the records form; else the ``--config`` form."""

    rules: Path | None
    contacts: Path | None
    activities: Path | None
    owners: Path | None
    config: Path | None
    connection: str | None
    now: str | None
    start: str | None
    end: str | None
    by: str
    format: str
    out: Path | None


def parse_date(flag: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        if _DATE.match(text.strip()):
            return date.fromisoformat(text.strip())
    except ValueError:
        pass
    raise InputError([Problem(flag, 0, f"`{text}` is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01")])


def parse_now(text: str | None, flag: str = "--now") -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_iso_ts(text)
    except ValueError as exc:
        raise InputError([Problem(flag, 0, str(exc))]) from None


def _check_flags(req: ReportRequest) -> None:
    problems = []
    if req.rules is not None:
        for flag, value in (
            ("--contacts", req.contacts),
            ("--activities", req.activities),
            ("--now", req.now),
        ):
            if value is None:
                problems.append(
                    Problem(flag, 0, f"missing: the report from records needs {flag} with --rules")
                )
        for flag, given in (("--config", req.config), ("--connection", req.connection)):
            if given is not None:
                problems.append(
                    Problem(flag, 0, "give either --rules with the record files, or --config; not both")
                )
    else:
        for flag, path in (
            ("--contacts", req.contacts),
            ("--activities", req.activities),
            ("--owners", req.owners),
        ):
            if path is not None:
                problems.append(
                    Problem(flag, 0, "only with --rules (the --config form reads the state store)")
                )
    if req.format == "csv" and req.out is None:
        problems.append(
            Problem("--out", 0, "`--format csv` writes one file per table: give a folder with --out")
        )
    elif req.out is not None and req.format == "csv" and req.out.exists() and not req.out.is_dir():
        problems.append(Problem("--out", 0, f"{req.out} is a file; `--format csv` needs a folder"))
    elif req.out is not None and req.format != "csv" and req.out.is_dir():
        problems.append(Problem("--out", 0, f"{req.out} is a folder; name a file"))
    elif req.out is not None and req.format != "csv" and not req.out.resolve().parent.is_dir():
        problems.append(
            Problem("--out", 0, f"the folder {req.out.resolve().parent} does not exist; create it")
        )
    if problems:
        raise InputError(problems)


def _from_config(req: ReportRequest) -> tuple[Rules, Records]:
    """The rules of the connection and its records in the state store (opened read-only)."""
    from leadsync.commands import find_config
    from leadsync.logging import configure_logging
    from leadsync.settings import load_settings
    from leadsync.sync.opening import open_state

    settings = load_settings(find_config(req.config))
    configure_logging(settings.log.level, settings.log.format)
    conn = settings.connection(req.connection)
    rules = load_rules(conn.rules)
    store = open_state(settings.state, settings.state_at, read_only=True)
    try:
        return rules, records_from_store(store, conn.name, rules)
    finally:
        store.close()


def build_report(req: ReportRequest) -> tuple[Rules, dict[str, Any]]:
    """The report's JSON object for these flags (InputError for bad flags or input)."""
    _check_flags(req)
    now = parse_now(req.now)
    start, end = parse_date("--from", req.start), parse_date("--to", req.end)
    if req.rules is not None:
        assert req.contacts is not None and req.activities is not None
        rules = load_rules(req.rules)
        window = window_of(now, rules, start, end, req.by)
        records = records_from_files(rules, req.contacts, req.activities, req.owners)
    else:
        rules, records = _from_config(req)
        window = window_of(now, rules, start, end, req.by)
    return rules, report_of(rules, window, records, now)


def report_of(rules: Rules, window: Window, records: Records, now: datetime) -> dict[str, Any]:
    """The report's JSON object: every contact decided at ``now`` and counted in ``window``."""
    builder = ReportBuilder(rules, window, records.owners)
    decide_into(builder, rules, records, now)
    return builder.result()


def window_of(
    now: datetime,
    rules: Rules,
    start: date | None,
    end: date | None,
    by: str,
    flags: tuple[str, str] = ("--from", "--to"),
) -> Window:
    """The window of these dates (an InputError naming ``flags``' first when a date is given)."""
    try:
        return make_window(now, rules.calendar.tz, start, end, by)
    except ValueError as exc:
        raise InputError([Problem(flags[0] if start is not None else flags[1], 0, str(exc))]) from None


def run_report(req: ReportRequest, stdout: IO[bytes]) -> None:
    """Build the report and write it in the format asked for."""
    rules, report = build_report(req)
    if req.format == "csv":
        assert req.out is not None
        write_folder(csv_files(report), req.out)
    elif req.format == "json":
        write_out(to_json(report), req.out, stdout)
    elif req.format == "html":
        from leadsync.report.html import render_html

        write_out(render_html(report, rules), req.out, stdout)
    else:
        write_out(render_text(report, rules).encode(), req.out, stdout)
