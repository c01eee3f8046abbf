"""The backtest's numbers for one playbook, from every contact's replay (definitions: README)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadsync.backtest.replay import Replay
from leadsync.report.arith import rate
from leadsync.report.window import local_date, month_key

__all__ = ["Contacted", "Period", "auc", "side_numbers"]


@dataclass(slots=True)
class Contacted:
    """One contact of the cohort: what the replays made of it, and its outcome."""

    id: str
    created_at: datetime
    source: str
    won_at: datetime | None
    replays: tuple[Replay, ...]  # one per playbook: NEW first, then the baseline
    owners: tuple[str | None, ...] = ()  # the owner routing gave it, per playbook


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    tz: ZoneInfo
    window: timedelta
    as_of: datetime | None  # the data's end: a handoff is judged when handoff + window <= as_of

    def months(self) -> list[str]:
        keys: list[str] = []
        day = self.start.replace(day=1)
        while day <= self.end:
            keys.append(month_key(day))
            day = (day + timedelta(days=32)).replace(day=1)
        return keys


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """The probability that a won contact outscores one that was not (ties count half)."""
    pairs = sorted(zip(scores, positive, strict=True))
    pos = sum(positive)
    neg = len(pairs) - pos
    if not pos or not neg:
        return None
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # ranks from 1: the mean of i+1 .. j
        rank_sum += mid * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return round((rank_sum - pos * (pos + 1) / 2) / (pos * neg), 4)


def _bands(bar: float | None) -> list[tuple[str, float]]:
    """(label, lower bound) of each score band, highest first."""
    if bar is None or bar <= 0:
        return [("all", float("-inf"))]
    half, more = bar / 2, bar * 1.5
    return [
        (f">= {more:g} (150% of the bar)", more),
        (f"{bar:g} to {more:g}", bar),
        (f"{half:g} to {bar:g}", half),
        (f"< {half:g}", float("-inf")),
    ]


def side_numbers(
    cohort: Sequence[Contacted], side: int, bar: float | None, commitment: float | None, period: Period
) -> dict[str, Any]:
    """Every number of the backtest for the playbook at ``side`` of each contact's replays."""
    assert period.as_of is not None
    as_of = period.as_of
    months: dict[str, dict[str, Any]] = {
        m: {
            "month": m,
            "handoffs": 0,
            "commitment": commitment,
            "judged": 0,
            "won_in_window": 0,
            "too_recent": 0,
            "won_ever": 0,
        }
        for m in period.months()
    }
    sources: dict[str, dict[str, Any]] = {}
    kinds = {"mql": 0, "sql": 0}
    disqualified = judged = won_in_window = too_recent = won = recalled = 0
    mismatches = 0
    for c in cohort:
        r = c.replays[side]
        src = sources.setdefault(
            c.source,
            {"source": c.source, "contacts": 0, "handoffs": 0, "won": 0, "judged": 0, "won_in_window": 0},
        )
        src["contacts"] += 1
        if c.won_at is not None:
            won += 1
            src["won"] += 1
        if r.disqualified_at is not None:
            disqualified += 1
        h = r.handoff_at
        if h is None:
            continue
        mismatches += r.mismatch
        kinds[r.kind or "mql"] += 1
        src["handoffs"] += 1
        row = months.get(month_key(local_date(h, period.tz)))
        if row is not None:
            row["handoffs"] += 1
            row["won_ever"] += c.won_at is not None
        if c.won_at is not None and h <= c.won_at:
            recalled += 1
        if h + period.window > as_of:
            too_recent += 1
            if row is not None:
                row["too_recent"] += 1
            continue
        judged += 1
        src["judged"] += 1
        hit = c.won_at is not None and h <= c.won_at <= h + period.window
        won_in_window += hit
        src["won_in_window"] += hit
        if row is not None:
            row["judged"] += 1
            row["won_in_window"] += hit
    for row in months.values():
        row["precision"] = rate(row["won_in_window"], row["judged"])
    for src in sources.values():
        src["won_rate"] = rate(src["won"], src["contacts"])
        src["precision"] = rate(src["won_in_window"], src["judged"])
    scores = [c.replays[side].score for c in cohort]
    positive = [c.won_at is not None for c in cohort]
    overall = won / len(cohort) if cohort else 0.0
    return {
        "mql_bar": bar,
        "contacts": len(cohort),
        "disqualified": disqualified,
        "handoffs": kinds["mql"] + kinds["sql"],
        "handoffs_mql": kinds["mql"],
        "handoffs_sql": kinds["sql"],
        "months": list(months.values()),
        "judged": judged,
        "won_in_window": won_in_window,
        "too_recent": too_recent,
        "precision": rate(won_in_window, judged),
        "won": won,
        "won_handed_off_before": recalled,
        "recall": rate(recalled, won),
        "bands": _band_rows(scores, positive, bar),
        "deciles": _decile_rows(cohort, side, overall),
        "auc": auc(scores, positive),
        "sources": sorted(sources.values(), key=lambda s: (-s["contacts"], s["source"])),
        "replay_mismatches": mismatches,
    }


def _band_rows(scores: Sequence[float], positive: Sequence[bool], bar: float | None) -> list[dict[str, Any]]:
    bands = _bands(bar)
    rows: list[dict[str, Any]] = [{"band": label, "contacts": 0, "won": 0} for label, _ in bands]
    for score, pos in zip(scores, positive, strict=True):
        for row, (_, low) in zip(rows, bands, strict=True):
            if score >= low:
                row["contacts"] += 1
                row["won"] += pos
                break
    for row in rows:
        row["conversion"] = rate(row["won"], row["contacts"])
    return rows


def _decile_rows(cohort: Sequence[Contacted], side: int, overall: float) -> list[dict[str, Any]]:
    ranked = sorted(cohort, key=lambda c: (-c.replays[side].score, c.id))
    n = len(ranked)
    rows = []
    for d in range(10):
        part = ranked[d * n // 10 : (d + 1) * n // 10]
        if not part:
            continue
        won = sum(c.won_at is not None for c in part)
        conv = rate(won, len(part))
        rows.append(
            {
                "decile": d + 1,
                "contacts": len(part),
                "score_from": part[-1].replays[side].score,
                "score_to": part[0].replays[side].score,
                "won": won,
                "conversion": conv,
                "lift": round(won / len(part) / overall, 2) if overall else None,
            }
        )
    return rows
