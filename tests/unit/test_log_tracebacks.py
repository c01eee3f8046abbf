"""A logged exception is a traceback of lines and messages, never the values of local variables:
a crashed run's locals hold contacts' records (issue 13). structlog's console renderer would print
them through rich when rich is installed; leadsync formats exceptions as plain text first."""

from __future__ import annotations

import pytest
import structlog

from leadsync.logging import configure_logging


def _crash(record: dict[str, str]) -> None:
    email = record["email"]
    raise RuntimeError(f"could not decide contact {record['id']} ({len(email)} characters)")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_logged_traceback_shows_no_local_values(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", fmt)
    try:
        _crash({"id": "101", "email": "@".join(["jane.doe", "example.com"])})  # not in a source line
    except RuntimeError:
        structlog.get_logger("t").exception("run_crashed", connection="crm")
    err = capsys.readouterr().err
    assert "run_crashed" in err and "could not decide contact 101" in err
    assert "_crash" in err  # the traceback is there
    assert "jane.doe@example.com" not in err
