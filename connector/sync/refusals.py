"""Refusals: which are the setup's fault (a systematic refusal stops the run), and dead letters'
causes.

An adapter that recognises its CRM's error as a setup problem says so on the result
(``WriteResult.cause`` / ``TaskResult.cause``: a missing field, a missing scope, an unknown
owner). Such a refusal is systematic by its nature: a property that does not exist refuses every
record that sends it, an owner id the CRM does not know refuses every contact routed to it. So
one is enough: the outbox keeps the record pending (its attempts not counted, no dead letter),
finishes recording the call's outcomes, and the run stops with ``SetupRefused``, whose message
says the fix. The next run, after the fix, flushes the outbox first and writes them.

Every other refusal is the record's own and becomes a dead letter; its cause, for ``leadsync
status``, is the adapter's if given, else the CRM's error code (``VALIDATION_ERROR: ...`` →
``VALIDATION_ERROR``), or ``retries_exhausted`` for a record refused "for now" too many times.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from leadsync.api import RefusalCause
from leadsync.errors import SetupRefused

__all__ = ["RETRIES_EXHAUSTED", "Refusals", "letter_cause"]

RETRIES_EXHAUSTED = "retries_exhausted"
_CODE = re.compile(r"^\s*([A-Z][A-Z0-9_]{2,59})\b")


def letter_cause(error: str | None, cause: str | None = None, *, exhausted: bool = False) -> str:
    """The cause a dead letter is counted under in ``leadsync status``."""
    if cause:
        return str(cause)
    if exhausted:
        return RETRIES_EXHAUSTED
    match = _CODE.match(error or "")
    return match.group(1) if match else "rejected"


class Refusals:
    """The systematic refusals of one send: how many per (cause, name), and an example error."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[RefusalCause, str]] = Counter()
        self.examples: dict[tuple[RefusalCause, str], str] = {}

    def add(self, cause: RefusalCause | str, name: str | None, error: str | None) -> None:
        key = (RefusalCause(cause), name or "")
        self.counts[key] += 1
        self.examples.setdefault(key, (error or "")[:300])

    def __bool__(self) -> bool:
        return bool(self.counts)

    def error(self, rules_file: str | None, what: str = "writes") -> SetupRefused:
        """The run's stop: every cause with its fix, the records kept due."""
        total = sum(self.counts.values())
        fixes = [_fix(cause, name, rules_file) for cause, name in sorted(self.counts)]
        detail = "; ".join(
            f"{n} for {cause.value} `{name}`" if name else f"{n} for {cause.value}"
            for (cause, name), n in sorted(self.counts.items())
        )
        message = (
            f"the CRM refused {total} {what} for a cause in its setup ({detail}); "
            "nothing was dead-lettered: they stay due, and the first run after the fix writes them. "
            "To fix: " + " ".join(f"({i}) {fix}" for i, fix in enumerate(fixes, 1))
        )
        return SetupRefused(message, fixes=fixes, refused=total)


def _fix(cause: RefusalCause, name: str, rules_file: str | None) -> str:
    if cause is RefusalCause.MISSING_FIELD:
        field = f" `{name}`" if name else ""
        return (
            f"the CRM has no field{field}: run `leadsync setup` to create leadsync's fields "
            "(or correct the field's name in the connection's mapping file)"
        )
    if cause is RefusalCause.MISSING_SCOPE:
        scope = f" `{name}`" if name else ""
        return (
            f"the token lacks the scope or permission{scope}: grant it "
            "(`leadsync check` lists what is missing)"
        )
    where = _line_of(rules_file, name) if name else None
    if where:
        return f"{where}: the CRM knows no active owner `{name}`: correct the owner id in the rules"
    return (
        f"the CRM knows no active owner `{name}`: reassign the contacts or reactivate the user "
        "(the id is not in the rules file)"
    )


def _line_of(rules_file: str | None, text: str) -> str | None:
    """``FILE:LINE`` of the first line of the rules file that names ``text`` (an owner id)."""
    if not rules_file:
        return None
    try:
        lines = Path(rules_file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    pattern = re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])")
    for number, line in enumerate(lines, 1):
        if pattern.search(line.split("#", 1)[0]):
            return f"{rules_file}:{number}"
    return None
