"""The decision history (issue 15 item 3), on SQLite and PostgreSQL: what a run appends, in the
transaction of its decisions; ``leadsync history``; retention and its bounded pruning; the
``state:`` section's ``history_days``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner
from sqlalchemy import delete, func, insert, select

from leadsync.cli import main
from leadsync.errors import ConfigError
from leadsync.model import Activity, Contact, Owner
from leadsync.rules.loader import load_rules
from leadsync.settings import load_settings
from leadsync.sync import history
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore
from leadsync.sync.tables import HistoryRow, OutboxRow
from leadsync.sync.timeline import load_timeline
from tests.sync.fake_crm import Crash, FakeCrm

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid

RULES_TEXT = """version: 1
timezone: Europe/Madrid
scoring:
  fit:
    - {name: ceo, if: {field: title, matches: "(?i)ceo"}, points: 30}
    - {name: student, if: {field: title, matches: "(?i)student"}, points: -50}
  engagement:
    - {name: demo, activity: demo_request, points: 80}
stages:
  mql: {score_at_least: 100}
disqualify:
  - {reason: student, if: {field: title, matches: "(?i)student"}}
sla: {first_touch_within: 2h, attempts: 2}
routing:
  pools: [{name: all, owners: [u1, u2]}]
reasons:
  no_response: {label: "No response"}
  student: {label: "Student"}
actions:
  - {trigger: stage_mql, task: {title: "First touch (SLA)", due_in: sla}}
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_TEXT)
    return path


def crm() -> FakeCrm:
    fake = FakeCrm(owners=[Owner("u1", name="Uma"), Owner("u2", name="Ugo")])
    for cid, title in (("c0", "CEO"), ("c1", "CEO"), ("c2", "Student"), ("c3", "Engineer")):
        fake.put(Contact(id=cid, created_at=NOW - timedelta(days=30), title=title, email=f"{cid}@acme.com"))
    for cid in ("c0", "c1"):
        fake.activities.append(Activity(f"d{cid}", cid, "demo_request", NOW - timedelta(minutes=30)))
    return fake


def job(fake: FakeCrm, store: StateStore, rules: Path, now: datetime = NOW, **kw: Any) -> SyncJob:
    return SyncJob("test", fake, load_rules(rules), store, clock=lambda: now, batch_size=2, **kw)


def rows(store: StateStore, contact_id: str | None = None) -> list[tuple[str, str, Any, Any, str]]:
    with store.transaction() as s:
        q = select(HistoryRow).order_by(HistoryRow.at, HistoryRow.id)
        if contact_id is not None:
            q = q.where(HistoryRow.contact_id == contact_id)
        return [(r.contact_id, r.field, r.before, r.after, r.cause) for r in s.scalars(q)]


def count(store: StateStore, table: Any) -> int:
    with store.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def call(cid: str, at: datetime, n: int) -> Activity:
    return Activity(f"call{n}", cid, "call", at, properties={"outcome": "no_answer"})


class TestRecorded:
    def test_a_run_records_each_change_with_its_cause(self, store: StateStore, rules_file: Path) -> None:
        fake = crm()
        result = job(fake, store, rules_file).run()
        assert result.status == "ok"
        c0 = {field: (before, after, cause) for _, field, before, after, cause in rows(store, "c0")}
        assert c0["stage"] == ("lead", "mql", "mql_bar")
        assert c0["mql_at"] == (None, NOW.isoformat(), "mql_bar")
        assert c0["owner_id"] == (None, "u1", "routing:pool:all")
        assert c0["assigned_at"][1:] == (NOW.isoformat(), "routing:pool:all")
        assert c0["sla_status"] == (None, "pending", "sla")
        assert c0["score"] == (None, 110, "score")
        assert c0["task"] == (None, "First touch (SLA)", "action:stage_mql")
        c2 = {field: (before, after, cause) for _, field, before, after, cause in rows(store, "c2")}
        assert c2["stage"] == ("lead", "disqualified", "disqualify:student")
        assert c2["disqualification_reason"] == (None, "student", "disqualify:student")
        with store.transaction() as s:
            detail = s.scalar(
                select(HistoryRow.detail).where(HistoryRow.contact_id == "c0", HistoryRow.field == "stage")
            )
        assert detail is not None and detail["top_rules"] == [["demo", 80], ["ceo", 30]]
        assert detail["score"] == 110
        # Every row belongs to the run and its `now`.
        with store.transaction() as s:
            assert set(s.scalars(select(HistoryRow.run_id))) == {result.run_id}

    def test_an_idle_run_records_nothing(self, store: StateStore, rules_file: Path) -> None:
        fake = crm()
        job(fake, store, rules_file).run()
        before = count(store, HistoryRow)
        job(fake, store, rules_file, NOW + timedelta(minutes=1)).run()
        assert count(store, HistoryRow) == before

    def test_sla_met_breached_and_recycled_over_runs(self, store: StateStore, rules_file: Path) -> None:
        fake = crm()
        job(fake, store, rules_file).run()
        fake.log(call("c0", NOW + timedelta(minutes=30), 1))  # c0: first touch within 2 h
        job(fake, store, rules_file, NOW + timedelta(hours=1)).run()
        job(fake, store, rules_file, NOW + timedelta(hours=3)).run()  # c1: nobody called: breached
        fake.log(call("c0", NOW + timedelta(hours=4), 2))  # 2 attempts, none connected: recycled
        job(fake, store, rules_file, NOW + timedelta(hours=5)).run()
        c0 = [
            (f, after, cause) for _, f, _, after, cause in rows(store, "c0") if f in ("stage", "sla_status")
        ]
        assert c0 == [
            ("stage", "mql", "mql_bar"),
            ("sla_status", "pending", "sla"),
            ("sla_status", "met", "sla"),
            ("stage", "nurture", "sla_exhausted"),
            ("sla_status", "exhausted", "sla"),
        ]
        c1 = [after for _, f, _, after, _ in rows(store, "c1") if f == "sla_status"]
        assert c1 == ["pending", "breached"]
        timeline = load_timeline(store, "test", "c0", 400).to_text()
        assert "became MQL (was lead) on 110 points (top rules: demo +80, ceo +30)" in timeline
        assert "routed to u1 (Uma) by pool all (was nobody)" in timeline
        assert "SLA met: first touch 2026-11-23T10:30:00Z, due 2026-11-23T12:00:00Z" in timeline
        assert "recycled to nurture (was mql): no_response (No response); SLA attempts exhausted" in timeline
        assert 'task "First touch (SLA)" for u1 (Uma), due 2026-11-23T12:00:00Z [stage_mql]' in timeline
        c1_text = load_timeline(store, "test", "c1", 400).to_text()
        assert "SLA breached: due 2026-11-23T12:00:00Z, no touch by then" in c1_text

    def test_a_dry_run_records_nothing(self, store: StateStore, rules_file: Path) -> None:
        job(crm(), store, rules_file).run(dry_run=True)
        assert count(store, HistoryRow) == 0


class TestSameTransaction:
    def test_a_batch_that_fails_to_commit_leaves_no_history(
        self, store: StateStore, rules_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The history is appended in the batch's transaction: when its last statement (the
        cursor) fails, neither the outbox nor the history keeps anything of the batch."""
        fake = crm()
        monkeypatch.setattr(StateStore, "set_cursor", staticmethod(_fail_cursor))
        with pytest.raises(Crash):
            job(fake, store, rules_file).run()
        assert count(store, OutboxRow) == 0
        assert count(store, HistoryRow) == 0
        monkeypatch.undo()
        job(fake, store, rules_file).run()
        assert [r[1:] for r in rows(store, "c0") if r[1] == "stage"] == [("stage", "lead", "mql", "mql_bar")]


def _fail_cursor(*_: Any, **__: Any) -> None:
    raise Crash("set_cursor")


class TestRetention:
    def test_old_rows_are_pruned_in_bounded_batches(
        self, store: StateStore, rules_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(history, "PRUNE_BATCH", 3)
        monkeypatch.setattr(history, "PRUNE_BATCHES", 2)
        old = [
            {
                "connection": "test",
                "contact_id": f"x{i}",
                "at": NOW - timedelta(days=11 + i),
                "run_id": "old",
                "field": "score",
                "before": None,
                "after": i,
                "cause": "score",
                "detail": None,
            }
            for i in range(8)
        ]
        other = {**old[0], "connection": "other"}  # another connection's rows stay
        recent = {**old[0], "contact_id": "y", "at": NOW - timedelta(days=9)}
        with store.transaction() as s:
            s.execute(insert(HistoryRow), [*old, other, recent])
        fake = crm()
        result = job(fake, store, rules_file, history_days=10).run()
        assert result.counts["history_pruned"] == 6  # two batches of 3, then the run ends
        with store.transaction() as s:
            left = sorted(s.scalars(select(HistoryRow.contact_id).where(HistoryRow.run_id == "old")))
        assert left == ["x0", "x0", "x1", "y"]  # the oldest went first; "other"'s x0 stays
        result = job(fake, store, rules_file, NOW + timedelta(minutes=1), history_days=10).run()
        assert result.counts["history_pruned"] == 2
        with store.transaction() as s:
            left = sorted(s.scalars(select(HistoryRow.connection).where(HistoryRow.run_id == "old")))
        assert left == ["other", "test"]


class TestSettings:
    def test_state_as_a_mapping(self, tmp_path: Path) -> None:
        config = tmp_path / "leadsync.yaml"
        config.write_text(_config("state:\n  url: sqlite:///s.db\n  history_days: 30\n"))
        settings = load_settings(config)
        assert settings.history_days == 30
        assert settings.state == f"sqlite:///{tmp_path / 's.db'}"
        assert settings.state_line == 2  # the `url:` line, where a store that cannot open is shown

    def test_the_default_is_400_days(self, tmp_path: Path) -> None:
        config = tmp_path / "leadsync.yaml"
        config.write_text(_config("state: sqlite:///s.db\n"))
        assert load_settings(config).history_days == 400

    @pytest.mark.parametrize(
        ("section", "message"),
        [
            (
                "  history_days: 0\n",
                "leadsync.yaml:2: `state.history_days`: input should be greater than or equal to 1",
            ),
            (
                "  history_days: soon\n",
                "leadsync.yaml:2: `state.history_days`: input should be a valid integer",
            ),
            (
                "  history_day: 30\n",
                "leadsync.yaml:2: unknown key `history_day` in `state`; did you mean `history_days`?",
            ),
        ],
    )
    def test_bad_values_at_their_line(self, tmp_path: Path, section: str, message: str) -> None:
        config = tmp_path / "leadsync.yaml"
        config.write_text(_config("state:\n" + section))
        with pytest.raises(ConfigError) as caught:
            load_settings(config)
        problems = [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems]
        assert len(problems) == 1 and problems[0].startswith(message), problems


def _config(state: str) -> str:
    return state + "connections:\n  - {name: test, adapter: fake, rules: rules.yaml}\n"


class TestCommand:
    def _config(self, tmp_path: Path, store_url: str) -> Path:
        config = tmp_path / "leadsync.yaml"
        config.write_text(_config(f"state: {{url: '{store_url}', history_days: 30}}\n"))
        return config

    def _run(self, *args: str) -> Any:
        saved = structlog.get_config()
        try:
            return CliRunner().invoke(main, list(args))
        finally:
            structlog.configure(**saved)

    def test_text_json_and_an_unknown_id(self, store: StateStore, store_url: str, tmp_path: Path) -> None:
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES_TEXT)
        job(crm(), store, rules).run()
        config = self._config(tmp_path, store_url)
        text = self._run("history", "c0", "--config", str(config))
        assert text.exit_code == 0, text.output
        lines = text.stdout.splitlines()
        assert lines[0] == "test contact c0 (c0@acme.com): 9 changes recorded (kept 30 days), oldest first"
        assert lines[1].startswith("2026-11-23T10:00:00Z  (run ")
        assert "  became MQL (was lead) on 110 points (top rules: demo +80, ceo +30)" in lines
        out = self._run("history", "c2", "--config", str(config), "--format", "json")
        assert out.exit_code == 0, out.output
        body = json.loads(out.stdout)
        assert body["contact_id"] == "c2" and body["history_days"] == 30
        stage = next(c for c in body["changes"] if c["field"] == "stage")
        assert (stage["before"], stage["after"], stage["cause"]) == (
            "lead",
            "disqualified",
            "disqualify:student",
        )
        assert stage["detail"]["reason_label"] == "Student"
        missing = self._run("history", "nobody", "--config", str(config))
        assert missing.exit_code == 2
        assert missing.stderr.startswith("test:0: no contact `nobody` in the state store's connection `test`")

    def test_a_known_contact_without_changes(self, store: StateStore, store_url: str, tmp_path: Path) -> None:
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES_TEXT)
        job(crm(), store, rules).run()
        with store.transaction() as s:
            s.execute(delete(HistoryRow).where(HistoryRow.contact_id == "c3"))
        out = self._run("history", "c3", "--config", str(self._config(tmp_path, store_url)))
        assert out.exit_code == 0
        assert "none: leadsync has changed nothing of this contact in the last 30 days" in out.stdout
