"""A run's progress: ``run_progress`` events on the run's clock, and the terminal's bars."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from leadsync.api import Contact, FakeClock, Page
from leadsync.errors import ConfigError
from leadsync.settings import load_settings
from leadsync.sync.loop import SyncJob
from leadsync.sync.progress import Progress
from leadsync.sync.progressbar import FORCE_ENV, TerminalProgress, wanted
from leadsync.sync.state import StateStore
from tests.logs.support import Captured
from tests.sync.fake_crm import FakeCrm
from tests.sync.test_loop import NOW, RULES, crm


def slow_pages(fake: FakeCrm, clock: FakeClock, seconds: float, total: int | None = None) -> None:
    """Each page of ``fake`` takes ``seconds`` of ``clock`` to read (and says ``total``)."""
    pages = fake.read_contacts

    def read(cursor: str | None) -> Iterator[Page[Contact]]:
        for page in pages(cursor):
            clock.advance(seconds)
            yield Page(page.records, page.cursor, total=total)

    fake.read_contacts = read  # type: ignore[method-assign]


@dataclass
class Recorder:
    """A ``ProgressView`` that keeps what it was shown."""

    shown: list[tuple[str, str, Progress | None]] = field(default_factory=list)

    def start(self, connection: str) -> None:
        self.shown.append(("start", connection, None))

    def update(self, connection: str, progress: Progress) -> None:
        self.shown.append(("update", connection, progress))

    def stop(self, connection: str) -> None:
        self.shown.append(("stop", connection, None))


class TestRunProgressEvents:
    """``run_progress`` every ``progress_every`` seconds of the injected clock, and at the end."""

    def test_every_n_seconds_of_the_runs_clock_and_at_the_end(
        self, json_log: Captured, leadsync_store: StateStore
    ) -> None:
        fake, clock = crm(), FakeClock(NOW)  # 7 contacts, 3 a page: pages at +20 s, +40 s, +60 s
        slow_pages(fake, clock, 20, total=7)
        job = SyncJob(
            "test",
            fake,
            RULES,
            leadsync_store,
            clock=clock.now,
            batch_size=2,
            decide_batch=3,
            progress_every=30,
        )
        result = job.run()
        events = json_log.events("run_progress")
        assert [(e["read"], e["elapsed_s"], e.get("final", False)) for e in events] == [
            (6, 40.0, False),  # the second page: 30 s had passed since the start
            (7, 60.0, True),
        ]
        periodic, final = events
        assert periodic["rate"] == 0.15 and periodic["total"] == 7 and periodic["eta_s"] == 7  # 1 left
        assert periodic["decided"] == 3  # the first page's batch, decided and written
        assert final["decided"] == result.counts["contacts_decided"]
        assert final["written"] == result.counts["contacts_written"] > 0
        assert {(e["connection"], e["run_id"]) for e in events} == {("test", result.run_id)}

    def test_no_total_no_eta_and_a_frozen_clock_has_no_rate(
        self, json_log: Captured, leadsync_store: StateStore
    ) -> None:
        job = SyncJob("test", crm(), RULES, leadsync_store, clock=lambda: NOW, progress_every=30)
        job.run()
        [final] = json_log.events("run_progress")
        assert final["read"] == 7 and final["rate"] is None and "total" not in final and "eta_s" not in final

    def test_a_run_that_fails_still_says_where_it_stopped(
        self, json_log: Captured, leadsync_store: StateStore
    ) -> None:
        fake = crm()

        def unavailable(contact_ids: object) -> list[object]:
            raise RuntimeError("activities unavailable")

        fake.read_activities = unavailable  # type: ignore[assignment]
        with pytest.raises(RuntimeError):
            SyncJob("test", fake, RULES, leadsync_store, clock=lambda: NOW).run()
        [final] = json_log.events("run_progress")
        assert final["final"] is True and final["read"] == 7 and final["decided"] == 0


class TestTheView:
    def test_the_view_sees_every_tick_with_the_total(self, leadsync_store: StateStore) -> None:
        fake, clock, view = crm(), FakeClock(NOW), Recorder()
        slow_pages(fake, clock, 1, total=9)
        SyncJob("hs", fake, RULES, leadsync_store, clock=clock.now, view=view).run()
        assert view.shown[0] == ("start", "hs", None) and view.shown[-1] == ("stop", "hs", None)
        updates = [p for kind, _, p in view.shown if kind == "update" and p is not None]
        assert [p.read for p in updates][:3] == [3, 6, 7]  # each page read (one batch of all)
        assert updates[-1].read == 7 and updates[-1].total == 9 and updates[-1].written > 0

    def test_the_bar_renders_on_a_forced_terminal(self) -> None:
        console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
        bars = TerminalProgress(console)
        bars.start("hubspot")
        bars.update("hubspot", Progress(read=1200, decided=1000, written=800, total=4800, elapsed_s=12))
        bars.stop("hubspot")
        out = console.file.getvalue()  # type: ignore[attr-defined]
        assert "hubspot" in out and "1200/4800" in out
        assert "1,000 decided" in out and "800 written" in out and "ETA" in out

    def test_a_sync_run_draws_its_bar(self, leadsync_store: StateStore) -> None:
        console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
        fake, clock = crm(), FakeClock(NOW)
        slow_pages(fake, clock, 1, total=7)
        SyncJob("hs", fake, RULES, leadsync_store, clock=clock.now, view=TerminalProgress(console)).run()
        out = console.file.getvalue()  # type: ignore[attr-defined]
        assert "7/7" in out and "7 decided" in out

    def test_several_connections_share_one_display(self) -> None:
        console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
        bars = TerminalProgress(console)
        bars.start("hubspot")
        bars.start("zoho")
        bars.update("zoho", Progress(read=5, decided=5, written=5, total=None, elapsed_s=1))
        bars.stop("zoho")
        bars.update("hubspot", Progress(read=3, decided=0, written=0, total=10, elapsed_s=1))
        bars.stop("hubspot")
        assert "3/10" in console.file.getvalue()  # type: ignore[attr-defined]


class TestWhenBarsShow:
    """Only with the console log format on a terminal; never in a JSON log; off under pytest."""

    def test_a_json_log_never_has_bars(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(FORCE_ENV, "1")
        assert not wanted("json")
        assert wanted("console")

    def test_off_in_tests_and_off_without_a_terminal(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(FORCE_ENV, raising=False)
        assert not wanted("console")  # under pytest
        monkeypatch.delenv("PYTEST_CURRENT_TEST")
        assert not wanted("console", io.StringIO())

    def test_on_a_terminal(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(FORCE_ENV, raising=False)
        monkeypatch.delenv("PYTEST_CURRENT_TEST")
        leader, follower = os.openpty()
        with open(follower, "w") as tty:
            assert wanted("console", tty)
            monkeypatch.setenv(FORCE_ENV, "0")
            assert not wanted("console", tty)
        os.close(leader)


class TestHowOften:
    """``log: {progress_every: 10s}`` in the config file; a bad value is a FILE:LINE problem."""

    def _config(self, tmp_path: Path, every: str) -> Path:
        tmp_path.mkdir(exist_ok=True)
        (tmp_path / "rules.yaml").write_text((Path(__file__).parents[1] / "sync" / "rules.yaml").read_text())
        path = tmp_path / "leadsync.yaml"
        path.write_text(
            "state: sqlite:///state.db\n"
            f"log: {{level: info, format: json, progress_every: {every}}}\n"
            "connections:\n"
            "  - name: fake\n"
            "    adapter: tests.sync.fake_crm:from_options\n"
            "    rules: rules.yaml\n"
            "    token_env: LEADSYNC_TEST_TOKEN\n"
        )
        return path

    def test_the_interval_is_read_from_the_config(self, tmp_path: Path) -> None:
        assert load_settings(self._config(tmp_path, "10s")).log.progress_seconds == 10
        assert load_settings(self._config(tmp_path / "d", "2m")).log.progress_seconds == 120

    def test_a_bad_interval_says_where(self, tmp_path: Path) -> None:
        path = self._config(tmp_path, "often")
        with pytest.raises(ConfigError) as caught:
            load_settings(path)
        [problem] = caught.value.problems
        assert str(problem).startswith(f"{path}:2:") and "write e.g. 30s" in str(problem)
