"""A run interrupted by its process's death or by the state store is closed as failed by the next
run of its connection (issue 13), on both backends: it is no longer ``running`` forever."""

from __future__ import annotations

from datetime import UTC, datetime

from leadsync.sync.state import StateStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_the_next_run_closes_an_interrupted_one(store: StateStore) -> None:
    store.start_run("killed", "hs", "sync", NOW)  # its process died: never finished
    store.start_run("other-conn", "sf", "sync", NOW)  # another connection's, under way
    store.start_run("next", "hs", "sync", NOW)
    runs = {r["run_id"]: r for r in store.status("hs")["runs"]}
    assert runs["killed"]["status"] == "failed"
    assert runs["killed"]["finished_at"] is not None
    assert runs["killed"]["error"] == "interrupted: the run never finished (closed when run next started)"
    assert runs["next"]["status"] == "running"
    assert store.status("sf")["runs"][0]["status"] == "running"


def test_a_finished_run_is_left_as_it_ended(store: StateStore) -> None:
    store.start_run("done", "hs", "sync", NOW)
    store.finish_run("done", "ok", {"contacts_read": 3}, {"seconds": 1.0})
    store.start_run("next", "hs", "sync", NOW)
    done = next(r for r in store.status("hs")["runs"] if r["run_id"] == "done")
    assert done["status"] == "ok" and done["error"] is None
