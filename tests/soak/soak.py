"""A fault soak: a multi-batch backfill in a hostile world, run until a run is quiet.

The CRM's sandbox faults a seeded share of all requests (5xx before the request is handled,
dropped connections, answers lost after it was applied); the adapter retries through a
``SleepRecorder`` (no real wait), with few attempts, so some runs fail part way and the next one
resumes from what the state store holds. Runs repeat until one is *quiet*: it ends ``ok`` and
leaves nothing pending in the outbox. Then the CRM must be, field by field, what an undisturbed
backfill leaves, with every task once, and no dead letter the undisturbed run did not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from leadsync.api import CrmAdapter
from leadsync.rules.loader import rules_from_source
from leadsync.rules.yamlsource import load_yaml_text
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore, open_store
from leadsync.testing import SleepRecorder, SyncHarness

__all__ = ["FAULTS", "RULES", "Outcome", "SoakRun", "backfill", "playbook", "soak"]

CONNECTION = "crm"
# About a third of all requests (39% measured) faulted: 5xx and drops before the request is
# handled, answers lost after it was applied.
FAULTS: dict[str, Any] = {"error_rate": 0.16, "drop_rate": 0.06, "lose_rate": 0.14, "seed": 13}
ATTEMPTS = 2  # few enough that some calls run out of retries: runs fail, and the next resumes
MAX_RUNS = 40
# Most people become MQLs (a task each, routed round robin); students are disqualified.
RULES = """version: 1
timezone: Europe/Madrid
scoring:
  fit:
    - {name: has_title, if: {field: title, present: true}, points: 10}
    - {name: student, if: {field: title, matches: "(?i)student"}, points: -50}
stages:
  mql: {score_at_least: 10}
disqualify:
  - {reason: student, if: {field: title, matches: "(?i)student"}}
sla: {first_touch_within: 2h, attempts: 2}
routing:
  account_match: true
  pools: [{name: all, owners: OWNERS, strategy: round_robin}]
actions:
  - {trigger: stage_mql, task: {title: "First touch (SLA)", due_in: sla}}
"""


def playbook(harness: SyncHarness[Any], crm: Any) -> str:
    """``RULES`` with the reps of the harness's own playbook (the CRM's active owners)."""
    pools = yaml.safe_load(harness.playbook(crm))["routing"]["pools"]
    owners = list(dict.fromkeys(o for pool in pools for o in pool["owners"]))
    return RULES.replace("OWNERS", "[" + ", ".join(f'"{o}"' for o in owners) + "]")


@dataclass
class Outcome:
    """What a backfill left: the CRM's view, task keys, dead letters; and how it went."""

    state: object
    task_keys: list[str]
    dead_letters: set[tuple[str, str | None, str | None]]
    runs: list[str] = field(default_factory=list)  # each run's status ("failed: ...", "ok")
    failures: list[Exception] = field(default_factory=list)  # what the failed runs raised
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    @property
    def faulted(self) -> int:
        return sum(self.faults.get(k, 0) for k in ("5xx", "dropped", "lost", "storm"))


@dataclass(frozen=True)
class SoakRun:
    """One CRM's soak: its harness, how many people, how many decide together, adapter options,
    and what a run may fail with besides a call out of retries (``RetryableError``)."""

    harness: SyncHarness[Any]
    people: int
    decide_batch: int
    options: dict[str, Any] = field(default_factory=dict)
    may_fail_with: tuple[type[Exception], ...] = ()


def _job(s: SoakRun, crm: Any, store: StateStore, adapter: CrmAdapter) -> SyncJob:
    rules = rules_from_source(load_yaml_text(playbook(s.harness, crm), "rules"))
    now = s.harness.now
    return SyncJob(CONNECTION, adapter, rules, store, clock=lambda: now, decide_batch=s.decide_batch)


def _quiet(store: StateStore) -> bool:
    return not store.pending_writes(CONNECTION, 1) and not store.pending_actions(CONNECTION, 1)


def _outcome(s: SoakRun, crm: Any, store: StateStore, runs: list[str]) -> Outcome:
    stats = crm.stats()
    letters = {(d.kind, d.contact_id, d.key) for d in store.recent_dead_letters(CONNECTION, 10_000)}
    return Outcome(
        s.harness.state(crm),
        s.harness.task_keys(crm),
        letters,
        runs=runs,
        requests=stats["requests"],
        faults=stats["faults"],
    )


def backfill(s: SoakRun) -> Outcome:
    """The undisturbed run: two syncs of a fresh CRM, no fault."""
    crm = s.harness.start(people=s.people)
    try:
        store = open_store("sqlite://")
        crm.reset_stats()
        job = _job(s, crm, store, s.harness.adapter(crm, **s.options))
        runs = [job.run().status, job.run().status]
        assert _quiet(store), "an undisturbed backfill left writes pending"
        return _outcome(s, crm, store, runs)
    finally:
        s.harness.stop(crm)


def soak(s: SoakRun, store_url: str) -> Outcome:
    """The same backfill with ``FAULTS`` on, run until a run is quiet (at most ``MAX_RUNS``)."""
    crm = s.harness.start(people=s.people)
    store = open_store(store_url)
    try:
        crm.reset_stats()
        crm.set_faults(**FAULTS)
        sleeps = SleepRecorder()
        job = _job(s, crm, store, s.harness.adapter(crm, **s.options, retry=sleeps.policy(attempts=ATTEMPTS)))
        runs: list[str] = []
        failures: list[Exception] = []
        while len(runs) < MAX_RUNS:
            try:
                status = job.run().status
            except Exception as exc:  # a call out of retries: the run fails, the next one resumes
                runs.append(f"failed: {type(exc).__name__}")
                failures.append(exc)
                continue
            runs.append(status)
            if status == "ok" and _quiet(store):
                break
        assert runs[-1] == "ok", f"no quiet run in {MAX_RUNS}: {runs}"
        crm.clear_faults()
        outcome = _outcome(s, crm, store, runs)
        outcome.failures = failures
        return outcome
    finally:
        store.close()
        s.harness.stop(crm)
