"""`leadsync --version` and the offline commands do not import the daemon's layers (issue 14):
the database layer, the scheduler and the sync loop cost about a CPU-second to import, which every
command paid. Checked by what a fresh interpreter has imported, not by timing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DAEMON_LAYERS = ("sqlalchemy", "alembic", "apscheduler", "leadsync.sync.loop", "leadsync.commands")
RULES = Path(__file__).resolve().parents[1] / "sync" / "rules.yaml"


def _imported_after(*args: str) -> set[str]:
    script = (
        "import json, sys\n"
        "from leadsync.cli import main\n"
        f"try:\n    main({list(args)!r})\n"
        "except SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_version_imports_nothing_of_the_daemon() -> None:
    modules = _imported_after("--version")
    assert not [m for m in DAEMON_LAYERS if m in modules]
    assert "leadsync.rules.compiled" not in modules


def test_validate_imports_nothing_of_the_daemon() -> None:
    modules = _imported_after("validate", str(RULES))
    assert "leadsync.rules.loader" in modules
    assert not [m for m in DAEMON_LAYERS if m in modules]


def test_a_daemon_command_is_found_when_asked_for() -> None:
    modules = _imported_after("status", "--help")
    assert "leadsync.commands" in modules


def test_report_from_records_imports_nothing_of_the_daemon() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "report"
    modules = _imported_after(
        "report",
        "--rules",
        str(example / "rules.yaml"),
        "--contacts",
        str(example / "contacts.jsonl"),
        "--activities",
        str(example / "activities.jsonl"),
        "--now",
        "2026-12-09T16:30:00Z",
        "--format",
        "json",
        "--out",
        "/dev/null",
    )
    assert "leadsync.report.tally" in modules
    assert not [m for m in DAEMON_LAYERS if m in modules]


def test_help_lists_every_command_without_importing_the_daemon() -> None:
    modules = _imported_after("--help")
    assert not [m for m in DAEMON_LAYERS if m in modules]


def test_help_reads_as_it_would_with_the_daemon_commands_loaded() -> None:
    import click
    from click.testing import CliRunner

    from leadsync.cli import DAEMON_COMMANDS_HELP, _Commands, main

    assert isinstance(main, _Commands)
    lazy = CliRunner().invoke(main, ["--help"]).output
    main._load_daemon_commands()
    try:
        loaded = CliRunner().invoke(main, ["--help"]).output
        ctx = click.Context(main)
        offline = set(click.Group.list_commands(main, ctx)) - set(DAEMON_COMMANDS_HELP)
        daemon = set(main.list_commands(ctx)) - offline
    finally:
        for name in DAEMON_COMMANDS_HELP:
            main.commands.pop(name, None)
        main._daemon_loaded = False
    assert daemon == set(DAEMON_COMMANDS_HELP)
    assert lazy == loaded
