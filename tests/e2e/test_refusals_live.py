"""Nothing waits a day (issue 12, item 1), against a live HubSpot sandbox on 127.0.0.1, with
`leadsync` as real processes, on SQLite and on PostgreSQL:

- a sync before `leadsync setup` stops as a configuration problem (exit 1, the fix named, nothing
  dead-lettered); after `setup` the next run writes everything, as a clean sync would have;
- an edit of the rules file (the MQL bar 70 → 20) re-decides every known contact from state at
  the next run, which says so; `sync --dry-run` shows the new rules' plan first; the daemon picks
  up an edit at its next run;
- `leadsync retry` replays dead letters, and `leadsync status` counts them by cause.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.settings import load_settings
from leadsync.sync.daemon import Daemon
from leadsync.sync.run import RunResult
from leadsync.sync.state import open_store
from tests.e2e.conftest import REFERENCE_CONTACTS, Outcome
from tests.e2e.helpers import (
    NOW_TEXT,
    TOKEN,
    TOKEN_ENV,
    leadsync,
    leadsync_tasks,
    no_secret,
    setup_portal,
    start_sandbox,
    write_config,
    write_requests,
    written,
)

BAR = re.compile(r"mql: \{score_at_least: 70\}")


def lower_the_bar(rules: Path) -> None:
    text = rules.read_text(encoding="utf-8")
    assert BAR.search(text), "the playbook's MQL bar moved"
    rules.write_text(BAR.sub("mql: {score_at_least: 20}", text), encoding="utf-8")


def mqls(sb: HubSpotSandbox) -> set[str]:
    return {cid for cid, v in written(sb).items() if v["lifecyclestage"] == "marketingqualifiedlead"}


@pytest.fixture
def portal() -> Iterator[HubSpotSandbox]:
    sb = start_sandbox(contacts=40)
    try:
        yield sb
    finally:
        sb.stop()


def test_a_sync_before_setup_stops_and_loses_nothing(
    tmp_path: Path, leadsync_store_url: str, reference: Outcome
) -> None:
    sb = start_sandbox(contacts=REFERENCE_CONTACTS)
    try:
        config = write_config(tmp_path, sb, state=leadsync_store_url)
        before = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
        assert before.code == 1, before.text[-3000:]
        assert before.out.startswith("hs: refused; ")
        # The first write call (batch_size 50) is refused: the run stops there, the rest wait too.
        assert "150 changed, 0 written" in before.out
        assert "50 refused by the CRM's setup and kept due" in before.out
        assert "0 dead letters" in before.out
        assert "stopped, a configuration problem" in before.err and "missing_field" in before.err
        assert "fix: the CRM has no field `leadsync_score" in before.err
        assert f"run `leadsync setup --config {config}`" in before.err
        assert "Traceback" not in before.err and no_secret(before.text)
        assert not any(v["leadsync_score"] for v in written(sb).values())

        status = leadsync("status", "--config", str(config))
        assert "dead letters: 0;" in status.out and "refused" in status.out
        assert f"backlog: {REFERENCE_CONTACTS} writes" in status.out

        setup = leadsync("setup", "--config", str(config))
        assert setup.code == 0, setup.text[-2000:]
        for _ in range(2):
            after = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
            assert after.code == 0, after.text[-3000:]
            assert "0 dead letters" in after.out
        # What a clean `setup` then sync + re-sync wrote: every contact, the same values and tasks.
        assert written(sb) == reference.contacts
        assert leadsync_tasks(sb) == reference.tasks
        status = leadsync("status", "--config", str(config))
        assert "backlog: 0 writes, 0 actions; dead letters: 0;" in status.out
    finally:
        sb.stop()


def test_a_rules_edit_re_decides_every_contact_from_state(
    tmp_path: Path, leadsync_store_url: str, portal: HubSpotSandbox
) -> None:
    config = write_config(tmp_path, portal, state=leadsync_store_url)
    setup_portal(portal, tmp_path / "rules.yaml")
    first = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
    assert first.code == 0 and "rules changed" not in first.out, first.text[-3000:]
    mql_before = mqls(portal)
    lower_the_bar(tmp_path / "rules.yaml")

    writes = write_requests(portal)
    plan = leadsync("sync", "--config", str(config), "--now", NOW_TEXT, "--dry-run")
    assert plan.code == 0, plan.text[-3000:]
    assert re.search(r"hs: ok; rules changed \(sha [0-9a-f]{12}\): 40 contacts re-decided", plan.err)
    planned = set(re.findall(r"^(\d+) \([^)]*\): \S+ -> \S+$", plan.out, re.MULTILINE))
    promoted = set(re.findall(r"^(\d+) \([^)]*\): lead -> mql$", plan.out, re.MULTILINE))
    assert promoted and not promoted & mql_before
    assert write_requests(portal) == writes  # the dry run wrote nothing

    run = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
    assert run.code == 0, run.text[-3000:]
    sha = re.search(r"rules changed \(sha ([0-9a-f]{12})\): 40 contacts re-decided", run.out)
    assert sha and sha.group(1) in plan.err
    assert f"{len(planned)} changed, {len(planned)} written" in run.out  # the others: nothing
    assert mqls(portal) == mql_before | promoted
    # From state: the re-decided contacts' activities were not read again.
    [finished] = [e for e in run.events() if e.get("event") == "run_finished"]
    assert finished["contacts_redecided"] == 40 and finished.get("activities_read", 0) == 0

    again = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
    assert again.code == 0 and "rules changed" not in again.out and "0 changed" in again.out


def test_the_daemon_takes_an_edit_at_its_next_run(
    tmp_path: Path, leadsync_store_url: str, portal: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leadsync run` builds its jobs once; each run reads the rules file again if it changed."""
    config = write_config(tmp_path, portal, state=leadsync_store_url, every="1s")
    setup_portal(portal, tmp_path / "rules.yaml")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    settings = load_settings(config)
    store = open_store(settings.state)
    results: list[RunResult] = []

    def edit_after_first(_: str, result: RunResult) -> None:
        results.append(result)
        if len(results) == 1:
            lower_the_bar(tmp_path / "rules.yaml")

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert Daemon(settings, store, cycles=2, on_result=edit_after_first).serve() == 0
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        store.close()
    first, second = results
    assert first.rules_changed is None and second.rules_changed is not None
    assert second.counts["contacts_redecided"] == 40 and second.counts.get("contacts_written", 0) > 0


def test_retry_replays_dead_letters_and_status_counts_them_by_cause(
    tmp_path: Path, leadsync_store_url: str, portal: HubSpotSandbox
) -> None:
    config = write_config(tmp_path, portal, state=leadsync_store_url)
    setup_portal(portal, tmp_path / "rules.yaml")
    refused = sorted(portal.contacts)[:3]
    portal.reject_writes(*refused)
    first = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
    assert first.code == 0 and "3 dead letters" in first.out, first.text[-3000:]
    status = leadsync("status", "--config", str(config))
    assert "dead letters: 3;" in status.out
    assert "dead letters by cause: VALIDATION_ERROR 3 (3 writes)" in status.out

    still = leadsync("retry", "--config", str(config), "--now", NOW_TEXT)
    assert still.code == 0, still.text[-3000:]
    assert (
        "retried 3 dead letters (3 contacts, 0 tasks): 0 cleared, 3 refused again; 3 dead letters now"
        in still.out
    )

    portal.reject_writes(*refused, reject=False)
    ok = leadsync("retry", "--config", str(config), "--dead-letters", "--now", NOW_TEXT)
    assert ok.code == 0, ok.text[-3000:]
    assert "3 written" in ok.out and "3 cleared, 0 refused again; 0 dead letters now" in ok.out
    assert all(written(portal)[cid]["leadsync_score"] is not None for cid in refused)
    status = leadsync("status", "--config", str(config))
    assert "dead letters: 0;" in status.out and "dead letters by cause" not in status.out
    assert "retry: ok" in status.out
