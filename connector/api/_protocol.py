"""The adapter protocol: ``CrmAdapter``, the pages it reads and the writes and tasks it takes.

Cursors are opaque strings the adapter makes and reads back (``CursorCodec`` versions them): the
core stores them and passes them in again; a page's cursor resumes *after* that page. Pages come
oldest change first. The core tolerates overlap (it dedupes by id), never a gap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from leadsync.model import Activity, Contact, Owner
from leadsync.writable import OPTIONAL_FIELDS, WRITABLE_FIELDS

__all__ = [
    "OPTIONAL_FIELDS",
    "WRITABLE_FIELDS",
    "CheckNeeds",
    "CheckReport",
    "ContactChange",
    "CrmAdapter",
    "Page",
    "RefusalCause",
    "Refused",
    "TaskRequest",
    "TaskResult",
    "WriteResult",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Some records, and the cursor that resumes after them (None: nothing to resume from).

    A CRM that knows more than "these records changed" says so with the other fields; a page may
    carry only those (no records).
    """

    records: list[T]
    cursor: str | None
    # Records whose *activities* changed since the cursor, though the record itself may read the
    # same as before: the loop never takes them for echoes of its own writes.
    news: frozenset[str] = frozenset()
    # Contacts the CRM deleted or merged away: leadsync forgets them and drops their pending work.
    deleted: tuple[str, ...] = ()
    # Contacts that became another record (a converted Salesforce Lead → its Contact), old id →
    # new id: their state, written values, pending writes and task keys move to the new id.
    moved: Mapping[str, str] = field(default_factory=dict)
    # A full re-read (the CRM could no longer list deletions) is under way: every page of it says
    # so, and its last page says it is done — every contact leadsync knows but did not read since
    # the re-read began is gone.
    reread: bool = False
    reread_done: bool = False
    # How many contacts this read holds in all, counting the pages before this one, when the CRM
    # says (HubSpot's search answers with a ``total``): the progress display's ETA. None: unknown.
    total: int | None = None
    # Records refused alone (``Refused``): kept as dead letters; the cursor moves past them.
    refused: tuple[Refused, ...] = ()


@dataclass(frozen=True)
class Refused:
    """A record the adapter could not read as a contact (``RecordError``: a timestamp leadsync
    cannot compute with, no id): the loop keeps it as a dead letter and reads on."""

    contact_id: str | None  # None: the record has no id
    error: str  # what is wrong, quoting the CRM's own text
    record: Mapping[str, Any] = field(default_factory=dict)  # the record as the CRM sent it


@dataclass(frozen=True)
class ContactChange:
    """New values for some writable fields of one contact.

    ``current`` holds what the CRM held when leadsync read it (same field names), so an adapter
    can take the CRM's detours, such as HubSpot's clear-then-set to move a stage backwards.
    """

    contact_id: str
    values: Mapping[str, Any]
    current: Mapping[str, Any] = field(default_factory=dict)


class RefusalCause(StrEnum):
    """Why the CRM refused a write or a task, when the cause is the setup, not the record.

    An adapter that recognises one of these in its CRM's error sets it on the result
    (``WriteResult.cause``, ``TaskResult.cause``) with what it names (``cause_name``: the
    property, the scope, the owner id). The loop takes such a refusal as a configuration
    problem: it stops the run with the fix in its message and keeps the record due (no dead
    letter), so that the next run after the fix writes it.
    """

    MISSING_FIELD = "missing_field"  # the CRM has no such field/property: `leadsync setup`
    MISSING_SCOPE = "missing_scope"  # the token or user lacks a scope or permission
    UNKNOWN_OWNER = "unknown_owner"  # the owner id is unknown to the CRM, or inactive


@dataclass(frozen=True)
class WriteResult:
    """The outcome for one contact of a write. A rejected record is a result, not an exception.

    ``retryable`` says whether sending it again later may succeed (a lock, a conflict), as
    opposed to a record the CRM refuses as it is (a validation rule, a deleted contact).
    ``cause`` (optional) says the refusal comes from the setup (``RefusalCause``), with what it
    names in ``cause_name``; adapters that do not classify leave both None.
    """

    contact_id: str
    ok: bool
    error: str | None = None
    retryable: bool = False
    cause: RefusalCause | None = None
    cause_name: str | None = None
    # Fields the CRM refused on their own and the adapter left out to write the rest (an owner id
    # the CRM does not have): ``ok`` then means the others were written, these were not.
    dropped: tuple[str, ...] = ()
    # The call failed, not the record (the CRM was down and the retry policy gave up): the outbox
    # keeps it due without counting an attempt, so an outage never turns writes into dead letters.
    unsent: bool = False


@dataclass(frozen=True)
class TaskRequest:
    """A task for a sales rep, created once per ``key`` ever."""

    key: str
    contact_id: str
    owner_id: str | None
    title: str
    due_at: datetime | None
    body: str = ""
    # False when leadsync has never tried this key before: the adapter may skip looking for a
    # task created by an earlier attempt (one call instead of two). True after any attempt.
    may_exist: bool = True


@dataclass(frozen=True)
class TaskResult:
    """The CRM id of the task for ``key`` (created now or found from before), or the error."""

    key: str
    crm_id: str | None
    created: bool = False
    error: str | None = None
    cause: RefusalCause | None = None  # as on ``WriteResult``
    cause_name: str | None = None


@dataclass
class CheckReport:
    """What ``leadsync check`` prints: who we are in the CRM and what is missing."""

    ok: bool
    account: str = ""
    missing_scopes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckNeeds:
    """What the rules ask of the CRM, for an adapter's optional ``check_for``: the reason codes
    and their labels (values a reason pick-list must offer), as ``setup`` takes them."""

    reason_labels: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class CrmAdapter(Protocol):
    """One CRM connection, as the sync loop uses it. Every method may raise a ``CrmError``.

    An adapter whose ``read_contacts`` pages may be fetched on a thread of their own while the
    loop makes its other calls says so with ``concurrent_reads = True`` (optional; the loop then
    reads a few pages ahead). One whose ``create_task`` may run on several threads at once says how
    many with ``task_concurrency`` (optional; default 1).

    An adapter that can create many tasks in one call has ``create_tasks(tasks) ->
    list[TaskResult]`` (optional): one result per task, in order, each task created once per key
    as ``create_task`` does, and it says how many tasks a call takes with ``task_batch``. The loop
    then hands it the pending tasks ``task_batch`` at a time (``task_concurrency`` calls side by
    side). An error it raises stands for the whole call: the loop counts an attempt for each of
    its tasks, and the next attempt looks for the tasks before creating them.

    An adapter that knows how much of the CRM's API allowance is spent has ``api_budget() ->
    ApiBudget | None`` (optional; ``leadsync.api.ApiBudget`` says what it must and must not do).

    An adapter that can check the CRM's fields has ``check_for(needs: CheckNeeds) -> CheckReport``
    (optional): what ``check`` does, plus every field leadsync reads and writes, its type and the
    pick-list values the rules need (``needs``). Each thing missing is a line of ``details`` that
    says what to do (run ``leadsync setup``, add a value, fix the mapping), and makes ``ok`` false.
    ``leadsync check`` calls it when present, else ``check``; it checks the rules' owner ids
    against ``read_owners`` itself.

    The optional writable fields (``leadsync.api.OPTIONAL_FIELDS``: ``first_touch_at``,
    ``sla_met``) are written only to an adapter that names those its mapping holds in
    ``optional_fields`` (optional; a frozenset of canonical names; default none).
    """

    name: str

    def check(self) -> CheckReport:
        """Verify the credentials and the scopes or permissions leadsync needs."""
        ...

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        """Contacts changed since ``cursor`` (None: all of them), oldest change first."""
        ...

    def get_contacts(self, contact_ids: Sequence[str]) -> list[Contact]:
        """These contacts as the CRM holds them now (unknown ids are left out)."""
        ...

    def complete(self, contacts: list[Contact]) -> None:
        """Fill in, in place, what ``read_contacts`` leaves out because it costs extra calls
        (when the stage was set, from field history), for the contacts about to be decided."""
        ...

    def read_activities(self, contact_ids: Sequence[str]) -> list[Activity]:
        """Every activity of these contacts that the CRM exposes (the engine needs all of it)."""
        ...

    def read_owners(self) -> list[Owner]:
        """Every owner, inactive ones included (``active: false``)."""
        ...

    def write_contacts(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        """Apply the changes in as few calls as the CRM allows; one result per change."""
        ...

    def create_task(self, task: TaskRequest) -> TaskResult:
        """Create the task unless one with ``task.key`` exists already (then return that one)."""
        ...

    def last_changed(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, datetime]]:
        """When the CRM last changed each of these writable fields, per contact (if it knows)."""
        ...

    def setup(self, reason_labels: Mapping[str, str]) -> list[str]:
        """Create, idempotently, whatever the CRM needs to hold leadsync's fields; say what."""
        ...
