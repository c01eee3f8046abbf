"""Fault injection shared by the sandboxes: latency, jitter, 5xx, storms, dropped connections,
and lost answers.

Every fault but one strikes before the request is handled. A *lost answer* (``lose_next``,
``lose_rate``) strikes after: the CRM applies the request (a write is saved, a query locator moves on), then
the client gets a 502 (``lose_status``; 0: the connection drops instead) — what a proxy or a
network cut does to an answer on its way back, and what a retry must survive.

Seeded random streams, so a run with the same requests in the same order fails the same way: one
for the faults before the handler, another for lost answers (drawn only while ``lose_rate`` is
set), so turning lost answers on leaves the other faults where they were.
What a "storm" answers is the sandbox's choice (HubSpot: 429 ``TEN_SECONDLY_ROLLING``; Salesforce:
503 ``SERVER_UNAVAILABLE``); this module only decides which request gets which fault.
"""

from __future__ import annotations

import argparse
import random
import re
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = ["FaultInjector", "FaultPlan", "Faults", "add_fault_arguments", "faults_from_arguments"]

_CLI_FAULTS = ("latency_ms", "jitter_ms", "error_rate", "drop_rate", "lose_rate")


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """A sandbox command line's fault options: --latency-ms, --jitter-ms, --error-rate, ..."""
    for name in _CLI_FAULTS:
        parser.add_argument("--" + name.replace("_", "-"), type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)


def faults_from_arguments(args: argparse.Namespace) -> Faults:
    """The ``Faults`` that ``add_fault_arguments``' options ask for."""
    return Faults(**{name: getattr(args, name) for name in _CLI_FAULTS}, seed=args.fault_seed)


@dataclass
class Faults:
    """What to break. ``match`` (a regex on ``"METHOD /path"``) limits faults to some endpoints."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (502, 503, 504)
    fail_next: int = 0
    storm: int = 0
    drop_rate: float = 0.0
    drop_next: int = 0
    lose_next: int = 0  # the next N answers (2xx/3xx) are lost after the request was applied
    lose_rate: float = 0.0  # the share of answers (2xx/3xx) lost at random, after the request applied
    lose_status: int = 502  # what the client gets instead; 0: the connection drops
    match: str | None = None
    seed: int = 0


@dataclass
class FaultPlan:
    """What happens to one request: a delay, then nothing, a drop, a storm or a 5xx."""

    delay_s: float = 0.0
    action: str | None = None  # "drop" | "storm" | "error"
    status: int = 0


class FaultInjector:
    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.faults = Faults()
        self._rng = random.Random(0)
        self._lose_rng = random.Random(_lose_seed(0))
        self.configure(reset=True, **asdict(faults or Faults()))

    def configure(self, reset: bool = False, **changes: Any) -> Faults:
        """Change some settings (``reset`` first restores the defaults); returns the new settings."""
        known = {f.name for f in fields(Faults)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        if "error_statuses" in changes:
            changes["error_statuses"] = tuple(int(s) for s in changes["error_statuses"])
        with self._lock:
            base = Faults() if reset else self.faults
            self.faults = replace(base, **changes)
            if reset or "seed" in changes:
                self._rng = random.Random(self.faults.seed)
                self._lose_rng = random.Random(_lose_seed(self.faults.seed))
            if self.faults.match:
                re.compile(self.faults.match)
            return replace(self.faults)

    def lose(self, endpoint: str) -> int | None:
        """Whether the answer to this (applied) request is lost: the status the client gets instead
        (0: the connection drops), or None. Draws from its own stream, and only while ``lose_rate``
        is set, so the other faults' order holds."""
        with self._lock:
            f = self.faults
            if f.match and not re.search(f.match, endpoint):
                return None
            if f.lose_next > 0:
                f.lose_next -= 1
                return f.lose_status
            if f.lose_rate > 0 and self._lose_rng.random() < f.lose_rate:
                return f.lose_status
            return None

    def plan(self, endpoint: str) -> FaultPlan:
        with self._lock:
            f = self.faults
            if f.match and not re.search(f.match, endpoint):
                return FaultPlan()
            # Always three draws per matching request, so outcomes depend only on the request order.
            r_drop, r_err, r_jit = self._rng.random(), self._rng.random(), self._rng.random()
            plan = FaultPlan(delay_s=(f.latency_ms + r_jit * f.jitter_ms) / 1000)
            if f.drop_next > 0:
                f.drop_next -= 1
                plan.action = "drop"
            elif r_drop < f.drop_rate:
                plan.action = "drop"
            elif f.storm > 0:
                f.storm -= 1
                plan.action = "storm"
            elif f.fail_next > 0:
                f.fail_next -= 1
                plan.action, plan.status = "error", f.error_statuses[f.fail_next % len(f.error_statuses)]
            elif r_err < f.error_rate:
                pick = int(r_err / f.error_rate * len(f.error_statuses)) % len(f.error_statuses)
                plan.action, plan.status = "error", f.error_statuses[pick]
            return plan


def _lose_seed(seed: int) -> int:
    """The lost answers' stream: the fault seed's, but not the same numbers as the other faults'."""
    return seed * 7919 + 104729
