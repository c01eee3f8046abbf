"""An in-memory CRM behind the CrmAdapter protocol: what the sync tests drive the loop with.

It keeps a modification counter per contact (its cursor), counts calls, and can be told to fail
the next calls, reject a record, or raise at a chosen call (a crash stand-in).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from leadsync.api import (
    Activity,
    CheckReport,
    Contact,
    ContactChange,
    Owner,
    Page,
    TaskRequest,
    TaskResult,
    WriteResult,
)
from leadsync.testing import Crash

__all__ = ["REGISTRY", "Crash", "FakeCrm", "from_options"]


@dataclass
class FakeCrm:
    name: str = "fake"
    page_size: int = 3
    contacts: dict[str, Contact] = field(default_factory=dict)
    activities: list[Activity] = field(default_factory=list)
    owners: list[Owner] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # leadsync's own fields
    modified: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    reject: set[str] = field(default_factory=set)
    crash_at_call: int | None = None
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _calls_total: int = 0

    # -- test controls ------------------------------------------------------------------------

    def put(self, contact: Contact) -> None:
        """Create or change a contact as a person would in the CRM."""
        self.contacts[contact.id] = contact
        self.modified[contact.id] = next(self._counter)

    def person_sets(self, contact_id: str, **values: Any) -> None:
        self.put(replace(self.contacts[contact_id], **values))

    def log(self, activity: Activity) -> None:
        """Log an activity; like HubSpot's "Last Activity Date", the contact shows it."""
        self.activities.append(activity)
        contact = self.contacts[activity.contact_id]
        self.put(
            replace(contact, properties={**contact.properties, "last_activity_at": activity.at.isoformat()})
        )

    def _call(self, name: str) -> None:
        self._calls_total += 1
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.crash_at_call is not None and self._calls_total >= self.crash_at_call:
            self.crash_at_call = None
            raise Crash(name)

    @property
    def write_calls(self) -> int:
        return self.calls.get("write_contacts", 0) + self.calls.get("create_task", 0)

    # -- the protocol -------------------------------------------------------------------------

    def check(self) -> CheckReport:
        return CheckReport(ok=True, account="fake")

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        after = int(cursor or 0)
        changed = sorted((m, cid) for cid, m in self.modified.items() if m > after)
        for start in range(0, len(changed), self.page_size):
            self._call("read_contacts")
            chunk = changed[start : start + self.page_size]
            yield Page([self.contacts[cid] for _, cid in chunk], str(chunk[-1][0]))

    def get_contacts(self, contact_ids: Sequence[str]) -> list[Contact]:
        self._call("get_contacts")
        return [self.contacts[c] for c in contact_ids if c in self.contacts]

    def complete(self, contacts: list[Contact]) -> None:
        """Nothing costs extra here: contacts come whole."""

    def read_activities(self, contact_ids: Sequence[str]) -> list[Activity]:
        self._call("read_activities")
        wanted = set(contact_ids)
        return [a for a in self.activities if a.contact_id in wanted]

    def read_owners(self) -> list[Owner]:
        self._call("read_owners")
        return list(self.owners)

    def write_contacts(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        self._call("write_contacts")
        out = []
        for change in changes:
            if change.contact_id in self.reject:
                out.append(WriteResult(change.contact_id, False, "VALIDATION: rejected by a rule"))
                continue
            contact = self.contacts[change.contact_id]
            canonical = {k: v for k, v in change.values.items() if hasattr(contact, k) and k != "properties"}
            own = {k: v for k, v in change.values.items() if k not in canonical}
            self.contacts[change.contact_id] = replace(contact, **canonical)
            self.extra.setdefault(change.contact_id, {}).update(own)
            self.modified[change.contact_id] = next(self._counter)
            out.append(WriteResult(change.contact_id, True))
        return out

    def create_task(self, task: TaskRequest) -> TaskResult:
        self._call("create_task")
        if task.key in self.tasks:
            return TaskResult(task.key, self.tasks[task.key]["id"], created=False)
        self.tasks[task.key] = {
            "id": f"t{len(self.tasks) + 1}",
            "owner_id": task.owner_id,
            "title": task.title,
            "due_at": task.due_at,
            "contact_id": task.contact_id,
        }
        return TaskResult(task.key, self.tasks[task.key]["id"], created=True)

    def last_changed(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, datetime]]:
        return {}

    def setup(self, reason_labels: Mapping[str, str]) -> list[str]:
        return ["nothing to set up"]


# Fake CRMs by name, so that a config file can point at one: `adapter: tests.sync.fake_crm:from_options`.
REGISTRY: dict[str, FakeCrm] = {}


def from_options(options: Mapping[str, Any]) -> FakeCrm:
    """The adapter factory of the fake CRM (``options: {crm: NAME}``)."""
    return REGISTRY[str(options.get("crm", "default"))]
