"""The daemon's commands as real processes against a live HubSpot sandbox on 127.0.0.1.

check (all scopes / one scope missing / wrong token), setup (idempotent), explain (one contact,
live), sync --dry-run (a plan, no writes), sync + status, a person's change in HubSpot (kept,
reported as a conflict), and the demo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.settings import load_settings
from leadsync.sync.state import open_store
from leadsync.sync.tables import ConflictRow, ContactRow, WrittenRow
from tests.e2e.helpers import (
    ALL_SCOPES,
    NOW_TEXT,
    TOKEN,
    Run,
    active_owners,
    leadsync,
    no_secret,
    setup_portal,
    start_sandbox,
    write_config,
    write_requests,
)

NO_WRITE_TOKEN = "pat-na1-0b0b0b0b-e2e1-4d1e-9a5e-0000deadbeef"
WRONG_TOKEN = "pat-na1-0c0c0c0c-e2e2-4d1e-9a5e-0000badbad00"


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubSpotSandbox, Path]]:
    """A portal as HubSpot gives it: no leadsync properties yet."""
    sb = start_sandbox(contacts=20)
    sb.add_token(NO_WRITE_TOKEN, [s for s in ALL_SCOPES if s != "crm.objects.contacts.write"])
    try:
        yield sb, write_config(tmp_path_factory.mktemp("bare"), sb)
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def checks(bare: tuple[HubSpotSandbox, Path]) -> dict[str, Run]:
    """`leadsync check` with each token, run side by side (check only reads)."""
    _, config = bare
    tokens = {"all": TOKEN, "no_write": NO_WRITE_TOKEN, "wrong": WRONG_TOKEN}
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        futures = {
            k: pool.submit(leadsync, "check", "--config", str(config), token=t) for k, t in tokens.items()
        }
        return {k: f.result() for k, f in futures.items()}


class TestCheck:
    def test_every_scope_but_no_properties_yet_says_to_run_setup(self, checks: dict[str, Run]) -> None:
        """Scopes alone are not enough: before `leadsync setup` the properties it writes are missing
        (after setup it is ok: tests/e2e/test_check_live.py)."""
        run = checks["all"]
        assert run.code == 1, run.text
        assert run.out.startswith("hs: NOT READY ")
        assert "missing scope" not in run.out
        assert all(f"scope {s}: granted" in run.out for s in ALL_SCOPES)
        assert "contact property `leadsync_score` (score): MISSING — run `leadsync setup`" in run.out
        assert "task property `leadsync_task_key`: MISSING — run `leadsync setup`" in run.out
        assert "owners: the 4 owner ids the rules name exist in the CRM" in run.out
        assert no_secret(run.text)

    def test_a_missing_scope_is_named_exactly(self, checks: dict[str, Run]) -> None:
        run = checks["no_write"]
        assert run.code == 1, run.text
        assert run.out.startswith("hs: NOT READY")
        missing = re.findall(r"^\s*missing scope: (\S+)$", run.out, re.MULTILINE)
        assert missing == ["crm.objects.contacts.write"]
        flagged = [line for line in run.out.splitlines() if "MISSING" in line and "scope" in line]
        assert len(flagged) == 1 and "crm.objects.contacts.write" in flagged[0]
        assert all(f"scope {s}: granted" in run.out for s in ALL_SCOPES if s != missing[0])
        assert "Traceback" not in run.text and "0000deadbeef" not in run.text

    def test_a_wrong_token_says_authentication_failed(self, checks: dict[str, Run]) -> None:
        run = checks["wrong"]
        assert run.code != 0
        assert "NOT READY" in run.out and "rejected the token (401)" in run.out
        assert "wrong, expired or revoked" in run.out
        assert "Traceback" not in run.text and "0000badbad00" not in run.text

    def test_a_wrong_token_stops_a_sync_with_a_clear_message(self, bare: tuple[HubSpotSandbox, Path]) -> None:
        sb, config = bare
        before = write_requests(sb)
        run = leadsync("sync", "--config", str(config), "--now", NOW_TEXT, token=WRONG_TOKEN)
        assert run.code == 3, run.text
        assert "leadsync: authentication failed: HubSpot rejected the token (401)" in run.err
        assert "Traceback" not in run.text and "0000badbad00" not in run.text
        assert write_requests(sb) == before


def test_setup_twice_creates_once_then_says_everything_exists(tmp_path: Path) -> None:
    sb = start_sandbox(contacts=10)
    try:
        config = write_config(tmp_path, sb)
        first = leadsync("setup", "--config", str(config))
        assert first.code == 0, first.text
        assert "created contact property `leadsync_score` (number)" in first.out
        assert "created task property `leadsync_task_key` (text, unique values)" in first.out
        creates = {k: v for k, v in write_requests(sb).items() if "/properties/" in k}
        second = leadsync("setup", "--config", str(config))
        assert second.code == 0, second.text
        lines = [line for line in second.out.splitlines() if line.strip()]
        assert len(lines) >= 10
        assert all("already there" in line for line in lines), second.out
        assert "created" not in second.out and "updated" not in second.out
        # ... and it asked HubSpot to change nothing.
        assert {k: v for k, v in write_requests(sb).items() if "/properties/" in k} == creates
        assert no_secret(first.text + second.text)
    finally:
        sb.stop()


@dataclass
class Story:
    """One portal's life under leadsync, recorded step by step for the tests below."""

    sb: HubSpotSandbox
    config: Path
    runs: dict[str, Run] = field(default_factory=dict)
    writes_after_dry_run: dict[str, int] = field(default_factory=dict)
    assigned: dict[str, str] = field(default_factory=dict)  # contact → owner leadsync wrote
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # kind → (contact, value)
    conflicts: set[tuple[str, str]] = field(default_factory=set)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """dry run → status → sync → status → a person's changes in HubSpot → sync → status (at NOW)."""
    folder = tmp_path_factory.mktemp("story")
    sb = start_sandbox(contacts=150)
    try:
        config = write_config(folder, sb)
        setup_portal(sb, folder / "rules.yaml")
        sb.reset_stats()
        st = Story(sb, config)
        st.runs["dry"] = leadsync("sync", "--dry-run", "--config", str(config), "--now", NOW_TEXT)
        st.writes_after_dry_run = write_requests(sb)
        st.runs["status0"] = leadsync("status", "--config", str(config))
        st.runs["sync1"] = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
        st.runs["status1"] = leadsync("status", "--config", str(config))

        store = open_store(load_settings(config).state)
        try:
            with store.transaction() as s:
                wrote = list(s.scalars(select(WrittenRow).where(WrittenRow.field.in_(["owner_id", "stage"]))))
            st.assigned = {w.contact_id: w.value for w in wrote if w.field == "owner_id" and w.value}
            promoted = sorted(w.contact_id for w in wrote if w.field == "stage" and w.value == "mql")
            # Three people's changes, on contacts leadsync routed or made MQL itself: a reassignment
            # to another active owner, one to a deactivated owner, and a stage moved back to lead.
            assert promoted, "leadsync made no MQL at NOW"
            c = promoted[0]
            routed = sorted(x for x in st.assigned if x != c)
            assert len(routed) >= 2, routed
            a, b = routed[:2]
            other = next(o for o in active_owners(sb) if o != st.assigned[a])
            archived = next(str(o["id"]) for o in sb.owners if o.get("archived"))
            sb.set_property(a, "hubspot_owner_id", other)
            sb.set_property(b, "hubspot_owner_id", archived)
            sb.set_property(c, "lifecyclestage", "lead")
            st.changed = {"active_owner": (a, other), "inactive_owner": (b, archived), "stage": (c, "lead")}

            st.runs["sync2"] = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
            st.runs["status2"] = leadsync("status", "--config", str(config))
            with store.transaction() as s:
                st.conflicts = {(r.contact_id, r.field) for r in s.scalars(select(ConflictRow))}
        finally:
            store.close()
        yield st
    finally:
        sb.stop()


class TestDryRun:
    def test_prints_each_contacts_field_changes(self, story: Story) -> None:
        run = story.runs["dry"]
        assert run.code == 0, run.err[-3000:]
        # One block per contact: "ID (email): from -> to", then "  field: old -> new" lines.
        heads = re.findall(r"^(\d+) \(\S+\): (\w+) -> (\w+)$", run.out, re.MULTILINE)
        assert len(heads) == 150
        assert re.search(r"^  score: - -> \d+$", run.out, re.MULTILINE)
        assert re.search(r"^  stage: lead -> mql$", run.out, re.MULTILINE)
        assert re.search(r"^  owner_id: - -> \d+$", run.out, re.MULTILINE)
        assert re.search(
            r'^  \+ task "First touch \(SLA\)" due \S+ for \d+ \[stage_mql:\d+:', run.out, re.MULTILINE
        )
        assert "hs: ok; 150 read" in run.err and "0 written, 0 tasks" in run.err

    def test_sends_no_write_and_keeps_no_state(self, story: Story) -> None:
        assert story.writes_after_dry_run == {}
        status = story.runs["status0"]
        assert "== hs: 0 contacts known" in status.out and "none yet" in status.out

    def test_the_plan_is_what_the_real_sync_writes(self, story: Story) -> None:
        planned: dict[str, dict[str, str]] = {}
        current = ""
        for line in story.runs["dry"].out.splitlines():
            if m := re.match(r"^(\d+) \(", line):
                current = m.group(1)
            elif m := re.match(r"^  (score|owner_id): \S+ -> (\S+)$", line):
                planned.setdefault(current, {})[m.group(1)] = m.group(2)
        assert planned
        reassigned = {story.changed["active_owner"][0], story.changed["inactive_owner"][0]}
        for cid, fields in planned.items():
            rec = story.sb.contacts[cid]
            if "score" in fields:
                assert float(rec.get("leadsync_score") or "nan") == float(fields["score"]), cid
            if "owner_id" in fields and cid not in reassigned:  # (a person changed those later)
                assert rec.get("hubspot_owner_id") == fields["owner_id"], cid


class TestSyncAndStatus:
    def test_sync_writes_every_contact(self, story: Story) -> None:
        run = story.runs["sync1"]
        assert run.code == 0, run.err[-3000:]
        assert re.search(
            r"^hs: ok; 150 read, 0 swept, 150 changed, 150 written, \d+ tasks, 0 dead letters", run.out
        )
        assert no_secret(run.text)

    def test_status_shows_stages_sla_counts_and_the_last_run(self, story: Story) -> None:
        out = story.runs["status1"].out
        assert story.runs["status1"].code == 0
        assert "== hs: 150 contacts known" in out
        stages = dict(
            (k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", out.split("stages: ")[1].splitlines()[0])
        )
        sla = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", out.split("SLA: ")[1].splitlines()[0]))
        assert sum(stages.values()) == 150 and stages.get("mql", 0) >= 3
        assert sum(sla.values()) == 150 and set(sla) <= {"none", "pending", "met", "breached", "exhausted"}
        assert "backlog: 0 writes, 0 actions; dead letters: 0; conflicts: 0" in out
        assert re.search(r"^  2026-11-23T10:00:00Z ok\s+read 150, written 150, tasks \d+$", out, re.MULTILINE)


class TestAPersonsChangeWins:
    def test_every_change_is_kept(self, story: Story) -> None:
        run = story.runs["sync2"]
        assert run.code == 0, run.err[-3000:]
        a, other = story.changed["active_owner"]
        b, archived = story.changed["inactive_owner"]
        c, _ = story.changed["stage"]
        assert story.sb.contacts[a].get("hubspot_owner_id") == other
        assert story.sb.contacts[b].get("hubspot_owner_id") == archived
        assert story.sb.contacts[c].get("lifecyclestage") == "lead"

    def test_changes_leadsync_would_undo_are_reported_as_conflicts(self, story: Story) -> None:
        b, _ = story.changed["inactive_owner"]
        c, _ = story.changed["stage"]
        assert {(b, "owner_id"), (c, "stage")} <= story.conflicts
        assert re.search(r"\b[1-9]\d* conflicts$", story.runs["sync2"].out.strip())
        m = re.search(r"conflicts: (\d+)", story.runs["status2"].out)
        assert m and int(m.group(1)) == len(story.conflicts) >= 2

    def test_a_reassignment_to_another_active_owner_is_reported(self, story: Story) -> None:
        a, _ = story.changed["active_owner"]
        assert (a, "owner_id") in story.conflicts


@pytest.fixture
def live_now(tmp_path: Path) -> Iterator[tuple[HubSpotSandbox, Path]]:
    """A portal on the real clock, synced once without --now (explain decides at the real now)."""
    sb = start_sandbox(contacts=150, now=None)
    try:
        config = write_config(tmp_path, sb)
        setup_portal(sb, tmp_path / "rules.yaml")
        run = leadsync("sync", "--config", str(config))
        assert run.code == 0, run.err[-3000:]
        yield sb, config
    finally:
        sb.stop()


def test_explain_reads_one_contact_live_and_explains_it(live_now: tuple[HubSpotSandbox, Path]) -> None:
    sb, config = live_now
    store = open_store(load_settings(config).state)
    try:
        with store.transaction() as s:
            row = s.scalars(
                select(ContactRow)
                .where(ContactRow.stage == "mql", ContactRow.owner_id.is_not(None))
                .order_by(ContactRow.contact_id)
            ).first()
            assert row is not None
            cid, owner, sla = row.contact_id, row.owner_id, row.sla_status
    finally:
        store.close()
    run = leadsync("explain", cid, "--config", str(config))
    assert "Traceback" not in run.err, run.err[-3000:]
    assert run.code == 0, run.text
    out = run.out
    assert out.startswith(f"Contact {cid} at ")
    score = re.search(r"^Score (-?[\d.]+) = fit", out, re.MULTILINE)
    assert score and float(score.group(1)) == float(sb.contacts[cid].get("leadsync_score") or "nan")
    assert re.search(r"^  [+-]\d+(\.\d+)? \w+$", out, re.MULTILINE)  # the rules that gave points
    assert re.search(r"^Stage mql -> mql$", out, re.MULTILINE)
    assert f"Owner {owner} (routing: kept)" in out
    assert re.search(rf"^SLA {sla}\b", out, re.MULTILINE)
    assert no_secret(run.text)


def test_demo_runs_two_cycles_and_prints_what_it_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    run = leadsync("demo", "--dir", str(folder), "--contacts", "60", "--cycles", "2", token=None, timeout=60)
    assert run.code == 0, run.text[-3000:]
    assert "What leadsync wrote back" in run.out
    assert len(re.findall(r"^  run \w+: demo: ok; \d+ read", run.out, re.MULTILINE)) == 2
    assert "contacts decided: 60, written to the CRM: 60" in run.out
    assert "dead letters: 0" in run.out
    assert "Traceback" not in run.text
    config = folder / "leadsync.yaml"
    assert config.exists() and (folder / "rules.yaml").exists() and (folder / "state.db").exists()
    assert "pat-" not in config.read_text()  # the token stays in the environment, never in the file
    # The command it suggests works, without the demo's token.
    status = leadsync("status", "--config", str(config), token=None)
    assert status.code == 0 and "== demo: 60 contacts known" in status.out
