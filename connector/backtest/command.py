"""``leadsync backtest``: the flags, the inputs, and the output in the format asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from leadsync.backtest.inputs import load_outcomes, records_from_files, won_from_store
from leadsync.backtest.run import Playbook, backtest
from leadsync.backtest.tally import Period
from leadsync.backtest.text import render_text
from leadsync.errors import InputError, Problem
from leadsync.report.command import parse_date
from leadsync.report.inputs import Records, records_from_store
from leadsync.report.output import to_json, write_out
from leadsync.rules.compiled import Rules
from leadsync.rules.loader import load_rules
from leadsync.timeutil import duration_delta, parse_duration

__all__ = ["BacktestRequest", "run_backtest"]


@dataclass(frozen=True)
class BacktestRequest:
    rules: Path | None
    baseline: Path | None
    contacts: Path | None
    activities: Path | None
    outcomes: Path | None
    owners: Path | None
    config: Path | None
    connection: str | None
    start: str
    end: str
    window: str
    format: str
    out: Path | None


def _check(req: BacktestRequest) -> tuple[timedelta, Any, Any]:
    problems: list[Problem] = []
    if req.config is None:
        for flag, value in (
            ("--rules", req.rules),
            ("--contacts", req.contacts),
            ("--activities", req.activities),
            ("--outcomes", req.outcomes),
        ):
            if value is None:
                problems.append(
                    Problem(flag, 0, f"{flag} is required (or --config, to read the state store)")
                )
    else:
        for flag, value in (
            ("--contacts", req.contacts),
            ("--activities", req.activities),
            ("--outcomes", req.outcomes),
            ("--owners", req.owners),
        ):
            if value is not None:
                problems.append(
                    Problem(
                        flag, 0, f"{flag} and --config exclude each other: --config reads the state store"
                    )
                )
    window = timedelta(0)
    try:
        amount, unit = parse_duration(req.window)
        if unit != "d":
            raise ValueError(f"`{req.window}` must be in days, e.g. 90d")
        window = duration_delta(amount, unit)
    except ValueError as exc:
        problems.append(Problem("--window", 0, str(exc)))
    start = end = None
    try:
        start, end = parse_date("--from", req.start), parse_date("--to", req.end)
    except InputError as error:
        problems += error.problems
    if start is not None and end is not None and end < start:
        problems.append(Problem("--to", 0, f"--to {end} is before --from {start}"))
    if req.out is not None and not req.out.resolve().parent.is_dir():
        problems.append(
            Problem("--out", 0, f"the folder {req.out.resolve().parent} does not exist; create it")
        )
    if problems:
        raise InputError(problems)
    return window, start, end


def _from_config(req: BacktestRequest) -> tuple[Rules, Records]:
    from leadsync.commands import find_config
    from leadsync.logging import configure_logging
    from leadsync.settings import load_settings
    from leadsync.sync.opening import open_state

    settings = load_settings(find_config(req.config))
    configure_logging(settings.log.level, settings.log.format)
    conn = settings.connection(req.connection)
    rules = load_rules(req.rules) if req.rules is not None else load_rules(conn.rules)
    store = open_state(settings.state, settings.state_at, read_only=True)
    try:
        return rules, records_from_store(store, conn.name, rules)
    finally:
        store.close()


def build_backtest(req: BacktestRequest) -> dict[str, Any]:
    window, start, end = _check(req)
    as_of = None
    if req.config is None:
        assert req.rules and req.contacts and req.activities and req.outcomes
        new = load_rules(req.rules)
        books = [Playbook("new", new)]
        if req.baseline is not None:
            books.append(Playbook("baseline", load_rules(req.baseline)))
        outcomes = load_outcomes(req.outcomes)
        records, _ = records_from_files(
            tuple(b.rules for b in books), req.contacts, req.activities, req.owners
        )
    else:
        new, records = _from_config(req)
        books = [Playbook("new", new)]
        if req.baseline is not None:
            books.append(Playbook("baseline", load_rules(req.baseline)))
        as_of = datetime.now(UTC)
        outcomes = won_from_store(records, as_of)
    tz = new.calendar.tz
    until = datetime.combine(end + timedelta(days=1), time(), tz)
    return backtest(books, records, outcomes, Period(start, end, tz, window, as_of), until)


def run_backtest(req: BacktestRequest, stdout: IO[bytes]) -> None:
    result = build_backtest(req)
    data = to_json(result) if req.format == "json" else render_text(result).encode()
    write_out(data, req.out, stdout)
