"""Step 1 of the decision: fit + engagement + decay, then the floor (CONTRACT.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadsync.model import Contact
from leadsync.rules.compiled import Rules
from leadsync.rules.history import History
from leadsync.rules.rulesfile import MAX_SCORE
from leadsync.timeutil import whole_days

__all__ = ["Score", "idle_days", "score_contact"]


@dataclass(slots=True)
class Score:
    total: float
    fit: float
    engagement: float
    decay: float
    breakdown: list[tuple[str, float]]


def idle_days(contact: Contact, history: History, now: datetime) -> int:
    """Whole days since the last contact-done activity, or since the contact was created."""
    last = history.last_contact_done or contact.created_at
    return whole_days(last, now)


def score_contact(rules: Rules, contact: Contact, history: History, now: datetime) -> Score:
    breakdown: list[tuple[str, float]] = []
    fit = 0.0
    for rule in rules.fit:
        if rule.points and rule.test(contact, history, now):
            fit += rule.points
            breakdown.append((rule.name, rule.points))
    engagement = 0.0
    for e in rules.engagement:
        count = e.count(history, now)
        if count < e.min_count or not e.points:
            continue
        points = e.points
        if e.per_occurrence:
            points = e.points * count
            if e.max_points is not None and abs(points) > e.max_points:
                points = e.max_points if points > 0 else -e.max_points
        engagement += points
        breakdown.append((e.name, points))
    decay = 0.0
    if rules.decay is not None:
        idle = idle_days(contact, history, now)
        d = rules.decay
        if idle >= d.after_inactive_days:
            periods = 1
            if d.every_days:
                periods += (idle - d.after_inactive_days) // d.every_days
            decay = d.points * periods
            if decay:
                breakdown.append(("decay", decay))
    total = fit + engagement + decay
    if rules.floor is not None and total < rules.floor:
        total = rules.floor
    # Within what every CRM's score field holds (Zoho: 9 digits), however many activities count.
    total = min(max(total, -MAX_SCORE), MAX_SCORE)
    return Score(total, fit, engagement, decay, breakdown)
