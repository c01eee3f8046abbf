"""Processes starting together on a fresh state store: one migrates, the others wait (issue 13).

Before the lock, 7 of 17 PostgreSQL and 8 of 41 SQLite trials of two processes ended in a
traceback (a table created twice, or the version row inserted twice). Here N processes open the
same fresh store at once, released together from a pipe once all of them have imported leadsync.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from leadsync.sync import database
from tests.sync.conftest import drop_pg_schema, fresh_pg_url

PROCESSES = 6
TRIALS = 3
_OPEN = (
    "import sys; from leadsync.sync.state import open_store; "
    "sys.stdin.read(1); open_store(sys.argv[1]).close()"
)


def _open_together(url: str, n: int = PROCESSES) -> list[tuple[int, str]]:
    """``open_store(url)`` in ``n`` processes released at once; each one's exit status and stderr."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN, url],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("x")
        p.stdin.flush()
    out = []
    for p in procs:
        _, err = p.communicate(timeout=60)
        out.append((p.returncode, err))
    return out


def _assert_migrated(url: str) -> None:
    engine = database.engine(url)
    try:
        with engine.connect() as conn:
            assert database.current_revisions(conn) == database.head_revisions()
        assert {"runs", "cursors", "contacts"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_processes_on_a_fresh_sqlite_file_all_start(tmp_path: Path, trial: int) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    results = _open_together(url)
    assert [code for code, _ in results] == [0] * PROCESSES, [err[-2000:] for _, err in results]
    assert not any("Traceback" in err for _, err in results)
    _assert_migrated(url)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_processes_on_a_fresh_postgresql_schema_all_start(trial: int) -> None:
    url = fresh_pg_url()
    try:
        results = _open_together(url)
        assert [code for code, _ in results] == [0] * PROCESSES, [err[-2000:] for _, err in results]
        assert not any("Traceback" in err for _, err in results)
        _assert_migrated(url)
    finally:
        drop_pg_schema(url)
