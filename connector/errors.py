"""Every error leadsync raises, in one tree, and what the sync loop does with each.

    LeadsyncError                 base; never raised itself
    ├── RecordError               one record a CRM sent cannot be used (a timestamp leadsync cannot
    │                             compute with, no id): refused alone, kept as a dead letter
    ├── InputError                bad input: refuse to start, exit 2, every problem as FILE:LINE
    │   ├── RulesError            the rules file does not validate
    │   ├── RecordsError          a JSON Lines file (contacts, activities, owners) is bad
    │   └── ConfigError           the daemon's config or a mapping file is bad
    ├── LeaseLost                 another replica holds this connection's lease now: the run
    │                             stops at its batch boundary, writing nothing more
    └── CrmError                  a CRM call failed (carries url, status and the CRM's own body)
        ├── AuthError             401/403: stop this connection's job loudly; never retried
        ├── RetryableError        worth retrying with backoff (tenacity, in leadsync.api.RetryPolicy)
        │   ├── RateLimited       429 within a short window: wait `retry_after` seconds
        │   └── TransientError    5xx, a dropped connection, a timeout
        │       └── Unreachable   no connection at all (refused, DNS, connect timeout): retried
        │                         briefly (~10 s) until a call has once worked, then as usual
        ├── QuotaExhausted        the daily quota is gone: stop cleanly until `resume_at`
        └── SetupRefused          writes refused for a cause in the setup (a missing property,
                                  scope or owner): stop the run, keep the records due, say the fix

A rejected record is not an exception: ``write_contacts`` returns it as a result, and the loop
keeps it as a dead letter with the CRM's error text.

An ``InputError`` carries all the problems found, not just the first, so that a person can
fix a file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "AuthError",
    "ConfigError",
    "CrmError",
    "InputError",
    "LeadsyncError",
    "LeaseLost",
    "Problem",
    "QuotaExhausted",
    "RateLimited",
    "RecordError",
    "RecordsError",
    "RetryableError",
    "RulesError",
    "SetupRefused",
    "TransientError",
    "Unreachable",
    "printable",
]


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\x1b``, ``\n``, ``\u2028``...): a value
    quoted from an input file or a CRM can neither drive a terminal nor forge a line of output."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one line of one file. Rendered (``str``) with control characters
    escaped: the one place every ``FILE:LINE: what`` is printed from (``printable``)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return printable(f"{self.file}:{self.line}: {self.message}")


class LeadsyncError(Exception):
    """Base of every leadsync error."""


class LeaseLost(LeadsyncError):
    """This replica no longer holds the connection's lease (it expired, another replica took it):
    the transaction that would have committed a batch, cursor or outbox row was not committed."""


class RecordError(LeadsyncError, ValueError):
    """One record's value cannot be used: the adapter refuses that record alone (a dead letter
    with the CRM's text); in an input file it is a ``FILE:LINE`` problem (a ValueError there)."""


class InputError(LeadsyncError):
    """Input that cannot be used; nothing runs and nothing is written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class RulesError(InputError):
    """The rules file does not validate."""


class RecordsError(InputError):
    """A contacts, activities or owners file has a bad line."""


class ConfigError(InputError):
    """The daemon's configuration or a CRM mapping file does not validate."""


class CrmError(LeadsyncError):
    """A CRM call failed. ``body`` is the CRM's own error text, kept for dead letters."""

    def __init__(
        self, message: str, *, status: int | None = None, url: str | None = None, body: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.body = body


class AuthError(CrmError):
    """The credentials are missing, wrong, expired or lack a scope. Never retried."""


class RetryableError(CrmError):
    """A failure worth retrying after ``retry_after`` seconds (None: the policy's backoff)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """The CRM's short-window rate limit was hit (HubSpot: TEN_SECONDLY_ROLLING, SECONDLY)."""


class TransientError(RetryableError):
    """A 5xx, a timeout or a dropped connection."""


class Unreachable(TransientError):
    """No connection could be made: refused, a host name that does not resolve, a connect timeout.

    Until one call of the policy has worked, it gives up within ~10 s (a wrong URL or a CRM that
    cannot be reached from here should not cost a minute of retries); after that, it is a
    transient failure like any other.
    """


class QuotaExhausted(CrmError):
    """The daily API quota is used up: the job stops cleanly and resumes at ``resume_at``."""

    def __init__(self, message: str, *, resume_at: datetime | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.resume_at = resume_at


class SetupRefused(CrmError):
    """The CRM refused a run's writes for a cause in the setup, not in the records.

    ``fixes`` says what to do, one line per cause (``run leadsync setup``, the scope to add, the
    owner id to correct at FILE:LINE of the rules); the records refused stay due, so the first
    run after the fix writes them.
    """

    def __init__(self, message: str, *, fixes: list[str], refused: int) -> None:
        super().__init__(message)
        self.fixes = fixes
        self.refused = refused
