"""``SyncHarness``: what the sync contract suite needs from a CRM, written once per adapter.

The suite (``leadsync.testing.sync_suite``) runs leadsync's sync loop with your adapter against a
local CRM (a fake, a sandbox, a mock server on 127.0.0.1) and checks what a RevOps admin relies
on. It never knows which CRM it talks to: the harness starts a fresh CRM, builds the adapter from
options, and reads and changes the CRM through its back door, as a person in the CRM would.

A harness is a subclass of ``SyncHarness[C]``, where ``C`` is whatever stands for one running CRM
(a sandbox object, a URL): the suite gets it from ``start`` and hands it back to every other
method. The abstract methods are required. The others are *capabilities* a CRM may lack: name
them in ``lacks`` with the reason, and the tests that need them are skipped saying so::

    class ToyHarness(SyncHarness[ToyCrm]):
        now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
        lacks = {CONVERT: "the toy CRM keeps one kind of person: nothing to convert"}

The CRM ``start`` returns must be the same every time: the same people, activities and owners,
so that two fresh CRMs synced the same way end in the same state (``state``), which is how the
suite tells that a crash lost or doubled nothing.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from leadsync.api import CrmAdapter, did_you_mean
from leadsync.testing.crash import CallTap
from leadsync.testing.sleeps import SleepRecorder

__all__ = [
    "AUTOMATION",
    "CAPABILITIES",
    "CONVERT",
    "DELETE",
    "LOCKS",
    "QUOTA",
    "WRITE_CALLS",
    "QuotaStop",
    "SyncHarness",
    "example_playbook",
]

C = TypeVar("C")

# Capabilities: optional methods, skipped (with the reason in ``lacks``) by a CRM without them.
WRITE_CALLS = "write_calls"  # reset_calls, write_calls: which calls changed data
AUTOMATION = "automation"  # automation: did leadsync's writes set off the CRM's own automation
LOCKS = "locks"  # lock, unlock, lock_briefly: records the CRM cannot write for a while
QUOTA = "quota"  # exhaust_quota, use_up_quota, restore_quota: the CRM's API allowance
CONVERT = "convert"  # convert: a lead that becomes a contact (another record, another id)
DELETE = "delete"  # delete: a person deleted in the CRM
CAPABILITIES = (WRITE_CALLS, AUTOMATION, LOCKS, QUOTA, CONVERT, DELETE)


def example_playbook(name: str, owners: Sequence[str]) -> str:
    """One of leadsync's example playbooks (``qualification-matrix.yaml``, ``bant.yaml``...), its
    example owners replaced by ``owners`` (a CRM's reps, in turn): what ``leadsync demo`` runs."""
    return _example_playbook(name, tuple(owners))


@functools.lru_cache(maxsize=32)
def _example_playbook(name: str, owners: tuple[str, ...]) -> str:
    from importlib.resources import files

    from leadsync.demo import _with_owners

    text = (files("leadsync.examples") / "rules" / name).read_text(encoding="utf-8")
    return _with_owners(text, list(owners))


@dataclass(frozen=True)
class QuotaStop:
    """How a run stops on the quota: words its ``QuotaExhausted`` message contains, and adapter
    options the run needs (to switch off a safety margin that would stop it earlier)."""

    match: str
    options: Mapping[str, Any] = field(default_factory=dict)


class SyncHarness(ABC, Generic[C]):
    """One CRM's local stand-in, as the sync contract suite drives it (see the module docstring)."""

    now: datetime  # the runs' clock: every run of the suite is at this instant
    lacks: ClassVar[Mapping[str, str]] = {}  # capability → why this CRM has none
    # After a task call whose answer was lost, the next run sends the tasks again in one call and
    # the CRM refuses the duplicates (True), or the adapter finds them first and sends none (False).
    # Checked where the harness has WRITE_CALLS.
    resends_lost_tasks: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a ``lacks`` that names no capability (a typo would run a test it meant to skip)."""
        super().__init_subclass__(**kwargs)
        for name in cls.lacks:
            if name not in CAPABILITIES:
                raise TypeError(
                    f"{cls.__name__}.lacks: no capability `{name}`{did_you_mean(name, CAPABILITIES)} "
                    f"(capabilities: {', '.join(CAPABILITIES)})"
                )

    # -- the CRM's life ---------------------------------------------------------------------------

    @abstractmethod
    def start(self, people: int = 40, hot: int = 1) -> C:
        """A fresh CRM, running, set up for leadsync (as ``leadsync setup`` leaves it), holding
        ``people`` people with their activities and owners, of whom ``hot`` just did what the
        playbook turns into a task for their owner (exactly one task each, and no one else gets
        one). The same arguments give the same CRM every time."""

    @abstractmethod
    def stop(self, crm: C) -> None:
        """Stop the CRM and free what it holds."""

    @abstractmethod
    def adapter(self, crm: C, **options: Any) -> CrmAdapter:
        """A new adapter connected to ``crm``, built from options as a connection would be
        (``from_options`` or ``leadsync.registry.adapter_factory``), with retries that never
        sleep for real (``SleepRecorder``); ``options`` add to or replace the harness's own
        (``retry`` among them)."""

    @abstractmethod
    def playbook(self, crm: C) -> str:
        """The rules file the runs use (YAML text), its owners being this CRM's active reps."""

    @abstractmethod
    def advance(self, crm: C, seconds: float) -> None:
        """Move the CRM's clock forward (the runs' clock stays at ``now``)."""

    # -- what a person sees in the CRM -------------------------------------------------------------

    @abstractmethod
    def state(self, crm: C) -> object:
        """What a person would see in the CRM of leadsync's work, comparable with ``==``: the
        fields leadsync writes on every person, and leadsync's tasks (key, person, owner, title,
        due date). Ids the CRM made may appear; times the CRM stamped must not."""

    @abstractmethod
    def people(self, crm: C) -> list[str]:
        """The ids of the people a sync decides, in a stable order."""

    @abstractmethod
    def record(self, crm: C, person_id: str) -> Mapping[str, Any]:
        """One person as the CRM holds it now, in the CRM's own field names (its back door)."""

    @abstractmethod
    def value(self, crm: C, person_id: str, field: str) -> Any:
        """A canonical field's value (``score``, ``stage``...) of one person as the CRM holds it now."""

    @abstractmethod
    def task_keys(self, crm: C) -> list[str]:
        """The action key of every task leadsync made in the CRM, one per task, sorted."""

    # -- crash injection ---------------------------------------------------------------------------

    @abstractmethod
    def calls(self, crm: C, tap: CallTap) -> AbstractContextManager[None]:
        """While open, call ``tap`` with the name of each request any adapter sends to ``crm``,
        before sending it; an exception ``tap`` raises stops that request unsent. For an adapter
        on urllib3 (``requests``, most SDKs): ``return http_calls(crm.url, tap)``."""

    # -- a person's hand ---------------------------------------------------------------------------

    @abstractmethod
    def rep_edit(self, crm: C, person_id: str) -> Mapping[str, Any]:
        """A sales rep changes this person's stage and owner in the CRM's own screens, to values
        leadsync would not choose; return the CRM fields changed and their new values."""

    @abstractmethod
    def refuse(self, crm: C, person_id: str, refuse: bool = True) -> Sequence[str]:
        """Make the CRM refuse every write to this person as it is (a validation rule), or accept
        them again; return words the CRM's error text for it contains."""

    # -- capabilities ------------------------------------------------------------------------------

    def reset_calls(self, crm: C) -> None:
        """``WRITE_CALLS``, ``AUTOMATION``: forget the calls seen so far."""
        raise NotImplementedError(f"{type(self).__name__} lacks {WRITE_CALLS}")

    def write_calls(self, crm: C) -> list[str]:
        """``WRITE_CALLS``: each call since ``reset_calls`` that changed data (writes, creates),
        one name per call."""
        raise NotImplementedError(f"{type(self).__name__} lacks {WRITE_CALLS}")

    def automation(self, crm: C) -> Mapping[str, bool]:
        """``AUTOMATION``: each kind of write sent since ``reset_calls``, and whether it let the
        CRM run its own automation on it (assignment rules, workflow rules)."""
        raise NotImplementedError(f"{type(self).__name__} lacks {AUTOMATION}")

    def lock(self, crm: C, person_id: str) -> None:
        """``LOCKS``: lock this person until ``unlock`` (an approval process): writes fail as
        retryable, and keep failing however long the adapter retries."""
        raise NotImplementedError(f"{type(self).__name__} lacks {LOCKS}")

    def unlock(self, crm: C, person_id: str) -> None:
        """``LOCKS``: end ``lock``."""
        raise NotImplementedError(f"{type(self).__name__} lacks {LOCKS}")

    def lock_briefly(self, crm: C, person_id: str, sleeps: SleepRecorder) -> None:
        """``LOCKS``: lock this person for a moment: the lock ends while the adapter backs off
        (``sleeps`` is the retry policy's sleep of the run's adapter), so the write succeeds."""
        raise NotImplementedError(f"{type(self).__name__} lacks {LOCKS}")

    def exhaust_quota(self, crm: C) -> QuotaStop:
        """``QUOTA``: leave so little of the CRM's API allowance that a sync stops on it (at the
        adapter's own safety margin where it keeps one)."""
        raise NotImplementedError(f"{type(self).__name__} lacks {QUOTA}")

    def use_up_quota(self, crm: C) -> QuotaStop:
        """``QUOTA``: other integrations used the whole allowance up: the CRM refuses every call."""
        raise NotImplementedError(f"{type(self).__name__} lacks {QUOTA}")

    def restore_quota(self, crm: C) -> None:
        """``QUOTA``: a new allowance (the next day)."""
        raise NotImplementedError(f"{type(self).__name__} lacks {QUOTA}")

    def convert(self, crm: C, person_id: str) -> str:
        """``CONVERT``: convert this lead as a rep would; return the id of the record it became."""
        raise NotImplementedError(f"{type(self).__name__} lacks {CONVERT}")

    def delete(self, crm: C, person_id: str) -> None:
        """``DELETE``: delete this person as a rep would."""
        raise NotImplementedError(f"{type(self).__name__} lacks {DELETE}")
