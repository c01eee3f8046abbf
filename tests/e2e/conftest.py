"""Shared end-to-end fixtures: the reference outcome of a clean sync, for "same outcome" checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.helpers import (
    NOW_TEXT,
    leadsync,
    leadsync_tasks,
    setup_portal,
    start_sandbox,
    write_config,
    written,
)

REFERENCE_CONTACTS = 150


@dataclass(frozen=True)
class Outcome:
    """What a person would see in HubSpot after leadsync ran: contact properties and tasks."""

    contacts: dict[str, dict[str, str | None]]
    tasks: list[tuple[str | None, ...]]
    status: str = ""  # `leadsync status` after the two runs


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """A clean `leadsync sync` + re-sync at NOW on SQLite, of the seed-7 portal of 150 contacts."""
    folder: Path = tmp_path_factory.mktemp("reference")
    sb = start_sandbox(contacts=REFERENCE_CONTACTS)
    try:
        config = write_config(folder, sb)
        setup_portal(sb, folder / "rules.yaml")
        for _ in range(2):
            run = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
            assert run.code == 0, run.err[-3000:]
        status = leadsync("status", "--config", str(config))
        assert status.code == 0, status.err[-3000:]
        outcome = Outcome(written(sb), leadsync_tasks(sb), status.out)
    finally:
        sb.stop()
    # A sanity check on the reference itself: every contact was written, some tasks were made.
    assert all(v["leadsync_score"] is not None for v in outcome.contacts.values())
    assert outcome.tasks
    yield outcome
