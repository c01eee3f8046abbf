"""The rules a connection decides with: re-read at the start of a run when the file changed, and
their content hash, which the state store keeps per connection (``rules_applied``).

The hash is of the rules as parsed (``Rules.source``), not of the file's bytes: a comment or a
reformatting changes nothing a decision depends on, so it re-decides nothing. A change that does
makes the next run re-decide every known contact of the connection from its state (``loop.py``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from leadsync.errors import InputError
from leadsync.rules.compiled import Rules
from leadsync.rules.loader import load_rules

__all__ = ["RulesFile", "rules_sha"]


def rules_sha(rules: Rules) -> str:
    """The SHA-256 of the rules' content as parsed (hex)."""
    return hashlib.sha256(rules.source.model_dump_json().encode()).hexdigest()


class RulesFile:
    """A rules file, loaded, and loaded again by ``current`` once its bytes change.

    An edit that does not validate leaves the last valid rules in use: each run logs
    ``rules_invalid`` with every problem as FILE:LINE until the file is fixed.
    """

    def __init__(self, path: Path, rules: Rules | None = None) -> None:
        self.path = path
        self._stamp = self._read()
        self.rules = rules if rules is not None else load_rules(path)

    def _read(self) -> bytes | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            return None

    def current(self, log: Any) -> Rules:
        """The rules as the file says now (re-read when it changed since the last look)."""
        stamp = self._read()
        if stamp == self._stamp or stamp is None:
            return self.rules
        try:
            rules = load_rules(self.path)
        except InputError as error:
            log.error(
                "rules_invalid",
                file=str(self.path),
                problems=[str(p) for p in error.problems],
                action="the last valid rules stay in use until the file is fixed",
            )
            return self.rules
        self._stamp, self.rules = stamp, rules
        log.info("rules_reloaded", file=str(self.path), sha=rules_sha(rules)[:12])
        return rules
