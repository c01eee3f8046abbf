"""The state store on PostgreSQL, end to end: a sync and a re-sync leave HubSpot exactly as on SQLite.

Two sandboxes with the same seed and clock: the session's reference was synced with a SQLite
state, this one with ``state: postgresql://postgres@127.0.0.1:5432/test`` (its ``public`` schema
reset first). The properties leadsync wrote, the tasks it created and what `leadsync status`
reports must be the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import REFERENCE_CONTACTS, Outcome
from tests.e2e.helpers import (
    NOW_TEXT,
    leadsync,
    leadsync_tasks,
    no_secret,
    setup_portal,
    start_sandbox,
    write_config,
    written,
)
from tests.sync.conftest import PG_URL, drop_pg_schema, fresh_pg_url


def test_sync_and_resync_on_postgresql_match_sqlite(tmp_path: Path, reference: Outcome) -> None:
    try:
        state = fresh_pg_url()  # a schema of its own: test runs never share one
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} ({exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    sb = start_sandbox(contacts=REFERENCE_CONTACTS)
    try:
        config = write_config(tmp_path, sb, state=state)
        setup_portal(sb, tmp_path / "rules.yaml")
        first = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
        assert first.code == 0, first.err[-3000:]
        assert f"hs: ok; {REFERENCE_CONTACTS} read" in first.out
        assert f"{REFERENCE_CONTACTS} written" in first.out and "0 dead letters" in first.out
        writes = sb.stats()["by_endpoint"].get("POST /crm/v3/objects/contacts/batch/update", 0)
        again = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
        assert again.code == 0, again.err[-3000:]
        assert "0 changed, 0 written, 0 tasks" in again.out  # echoes only: nothing to write again
        assert sb.stats()["by_endpoint"].get("POST /crm/v3/objects/contacts/batch/update", 0) == writes
        status = leadsync("status", "--config", str(config))
        assert status.code == 0, status.err[-3000:]

        assert written(sb) == reference.contacts
        assert leadsync_tasks(sb) == reference.tasks
        assert status.out == reference.status
        assert no_secret(first.text + again.text + status.text)
    finally:
        sb.stop()
        drop_pg_schema(state)
