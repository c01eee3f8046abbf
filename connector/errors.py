"""Every error leadsync raises, in one tree.

    LeadsyncError                 base; never raised itself
    └── InputError                bad input: refuse to start, exit 2, every problem as FILE:LINE
        ├── RulesError            the rules file does not validate
        └── RecordsError          a JSON Lines file (contacts, activities, owners) is bad

An ``InputError`` carries all the problems found, not just the first, so that a person can
fix a file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InputError", "LeadsyncError", "Problem", "RecordsError", "RulesError"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one line of one file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class LeadsyncError(Exception):
    """Base of every leadsync error."""


class InputError(LeadsyncError):
    """Input that cannot be used; nothing runs and nothing is written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class RulesError(InputError):
    """The rules file does not validate."""


class RecordsError(InputError):
    """A contacts, activities or owners file has a bad line."""
