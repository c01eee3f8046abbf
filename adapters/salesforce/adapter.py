"""``SalesforceAdapter``: leadsync's ``CrmAdapter`` for a Salesforce org, and ``from_options``.

Registered as ``leadsync.adapters: salesforce = leadsync.adapters.salesforce.adapter:from_options``. Options:

    login_url         https://login.salesforce.com (https://test.salesforce.com for a sandbox org;
                      the My Domain URL, https://acme.my.salesforce.com, for client_credentials)
    auth              jwt (default) | client_credentials | password (legacy, warned about)
    client_id         the connected app's Consumer Key
    username          the integration user (jwt, password)
    token             the flow's secret: the private key in PEM (jwt), the Consumer Secret
                      (client_credentials), the password followed by the security token (password);
                      from the connection's `token_env`/`token_file`, or `private_key_file` for jwt
    client_secret_env the variable holding the Consumer Secret (password flow only)
    audience          the JWT audience (default: login or test.salesforce.com, from login_url)
    api_version       66.0
    mapping           path of the mapping file (default: the packaged mappings/salesforce.yaml)
    batch_size        records per sObject Collections call, at most 200 (200)
    bulk_threshold    above this many changes in one flush, Bulk API 2.0 (2000)
    query_batch       records per query batch, 200 to 2000 (2000)
    api_budget        the share of the org's daily API requests leadsync stops at (0.8)
    overlap_s         seconds each incremental read reaches back (300)
    ca_file           a CA bundle to trust (a local sandbox's certificate)
    retry, timeout    a leadsync.api.RetryPolicy (default: the policy, on `clock`); seconds per HTTP
                      request (30)
    clock             a leadsync.api.Clock, or a callable giving "now" (tests: the sandbox's
                      clock); every wait (lock backoffs, retries) is on it (default: the system's)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from leadsync.api import (
    OPTIONAL_FIELDS,
    Activity,
    ApiBudget,
    CheckNeeds,
    CheckReport,
    Contact,
    ContactChange,
    Owner,
    Page,
    TaskRequest,
    TaskResult,
    WriteResult,
    parse_options,
)
from leadsync.api.writekit import retry_tasks_without_owner, retry_without_owner

from .activities import KEY_FIELD, ActivityReader
from .auth import Credentials
from .client import SalesforceClient
from .history import History
from .mapping import SalesforceMapping, load_mapping
from .options import SalesforceOptions
from .people import PeopleRead, PeopleReader
from .provisioning import check_org, run_setup
from .reads import fetch_by_id, read_changes
from .tasks import TaskWriter
from .writes import COLLECTION, ContactWriter, refused_for_owner

__all__ = ["SalesforceAdapter", "from_options"]

log = structlog.get_logger("leadsync.salesforce")


class SalesforceAdapter:
    """One Salesforce org, read and written in canonical records."""

    name = "salesforce"
    # Tasks a create_tasks call takes: an sObject Collections create holds 200 records.
    task_batch = COLLECTION

    def __init__(
        self,
        client: SalesforceClient,
        mapping: SalesforceMapping,
        *,
        batch_size: int = 200,
        bulk_threshold: int = 2000,
        query_batch: int = 2000,
        overlap: timedelta = timedelta(minutes=5),
    ) -> None:
        self.client = client
        self.clock = client.clock
        self.mapping = mapping
        named = {f for om in mapping.objects.values() for f in om.fields}
        self.optional_fields = frozenset(f for f in OPTIONAL_FIELDS if f in named)
        self.query_batch = query_batch
        self.overlap = overlap
        self._task_fields: set[str] | None = None
        self._fields: dict[str, list[str]] = {}
        self._zone: tzinfo | None = None
        self._activities = ActivityReader(mapping.activities)
        self._writer = ContactWriter(client, mapping, batch_size=batch_size, bulk_threshold=bulk_threshold)
        self._history = History(client, mapping)
        self._people = PeopleReader(client, mapping, self._activities, self._history, self._has_task_key)
        self._read_ahead: PeopleRead | None = None  # what `complete` read for `read_activities`

    def __repr__(self) -> str:
        return f"SalesforceAdapter({self.client!r}, mapping={self.mapping.file!r})"

    def api_budget(self) -> ApiBudget | None:
        """The org's daily API requests, from the ``Sforce-Limit-Info`` of Salesforce's last answer."""
        usage = self.client.usage
        return None if usage is None else ApiBudget("requests", used=usage[0], limit=usage[1])

    def check(self) -> CheckReport:
        return check_org(self.client, self.mapping)

    def check_for(self, needs: CheckNeeds) -> CheckReport:
        """``check``, with leadsync's own fields, their types and the rules' reason values."""
        return check_org(self.client, self.mapping, needs.reason_labels)

    def setup(self, reason_labels: Mapping[str, str]) -> list[str]:
        lines = run_setup(self.client, self.mapping, reason_labels)
        self._task_fields = None
        self._fields = {}
        return lines

    # -- reading --------------------------------------------------------------------------------

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        return read_changes(
            self.client,
            self.mapping,
            cursor,
            now=self.clock.now(),
            overlap=self.overlap,
            batch_size=self.query_batch,
            fetch=self.get_contacts,
            select=self.select,
            task_key=self._has_task_key,
        )

    def get_contacts(self, contact_ids: Sequence[str]) -> list[Contact]:
        return fetch_by_id(self.client, self.mapping, contact_ids, self.select)

    def select(self, sobject: str) -> list[str]:
        """The mapped fields of ``sobject`` that exist in the org (before ``leadsync setup``,
        leadsync's own do not; ``leadsync check`` lists what is missing)."""
        if sobject not in self._fields:
            described = self.client.describe(sobject) or {}
            names = {str(f.get("name")) for f in described.get("fields") or []}
            relations = {str(f.get("relationshipName")) for f in described.get("fields") or []}
            wanted = self.mapping.objects[sobject].select()
            kept = [f for f in wanted if (f.split(".")[0] in relations if "." in f else f in names)]
            if len(kept) < len(wanted):
                log.warning(
                    "salesforce_fields_missing", object=sobject, fields=sorted(set(wanted) - set(kept))
                )
            self._fields[sobject] = kept
        return self._fields[sobject]

    def complete(self, contacts: list[Contact]) -> None:
        """``stage_changed_at`` from field history, read in the same queries as these people's
        activities: the loop asks for those next (``read_activities``), and gets them from here."""
        read = self._people.read([c.id for c in contacts], stages=True)
        for c in contacts:
            c.stage_changed_at = read.stages.get(c.id) or c.stage_changed_at
        self._read_ahead = read

    def read_activities(self, contact_ids: Sequence[str]) -> list[Activity]:
        """What ``complete`` read for exactly these people, or a read of their own."""
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is not None and ahead.ids == frozenset(str(c) for c in contact_ids):
            return ahead.activities
        return self._people.read(contact_ids, stages=False).activities

    def read_owners(self) -> list[Owner]:
        owners = [
            Owner(id=str(u["Id"]), name=u.get("Name"), email=u.get("Email"), active=bool(u.get("IsActive")))
            for u in self.client.query(
                "SELECT Id, Name, Email, IsActive FROM User WHERE UserType = 'Standard'"
            )
        ]
        if self.mapping.queues != "ignore":
            # holding: a queue is an owner who is not active, so routing gives its leads to reps
            target = self.mapping.queues == "target"
            for q in self.client.query("SELECT Id, Name FROM Group WHERE Type = 'Queue'"):
                owners.append(Owner(id=str(q["Id"]), name=q.get("Name"), active=target, teams=["queue"]))
        log.info("owners_read", owners=len(owners), inactive=sum(not o.active for o in owners))
        return sorted(owners, key=lambda o: o.id)

    def _has_task_key(self) -> bool:
        if self._task_fields is None:
            described = self.client.describe("Task") or {}
            self._task_fields = {str(f.get("name")) for f in described.get("fields") or []}
        return KEY_FIELD in self._task_fields

    # -- writing --------------------------------------------------------------------------------

    def write_contacts(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        if not changes:
            return []
        results = self._writer.write(changes)
        return retry_without_owner(changes, results, refused_for_owner, self._writer.write)

    def create_task(self, task: TaskRequest) -> TaskResult:
        writer = TaskWriter(self.client, self.org_zone())
        [result] = retry_tasks_without_owner(
            [task], [writer.create(task)], refused_for_owner, lambda again: [writer.create(t) for t in again]
        )
        return result

    def create_tasks(self, tasks: Sequence[TaskRequest]) -> list[TaskResult]:
        """One result per task, in order, from one sObject Collections create per ``task_batch``;
        one refused for its owner alone is created once more without one."""
        if not tasks:
            return []
        writer = TaskWriter(self.client, self.org_zone())
        results = writer.create_many(tasks)
        return retry_tasks_without_owner(tasks, results, refused_for_owner, writer.create_many)

    def org_zone(self) -> tzinfo:
        """The org's default time zone (Setup › Company Information), for task due dates."""
        if self._zone is None:
            rows = self.client.query("SELECT TimeZoneSidKey FROM Organization")
            name = str(rows[0].get("TimeZoneSidKey") or "UTC") if rows else "UTC"
            try:
                self._zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                self._zone = UTC
        return self._zone

    def last_changed(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, datetime]]:
        return self._history.last_changed(contact_ids, fields)


def from_options(options: Mapping[str, Any]) -> SalesforceAdapter:
    """Build the adapter from a connection's options (see the module docstring)."""
    opts = parse_options(SalesforceOptions, options, "salesforce")
    creds = Credentials(
        opts.auth,
        opts.login_url,
        opts.client_id,
        opts.secret(),
        opts.username,
        opts.client_secret(),
        opts.audience,
    )
    client = SalesforceClient(
        creds,
        api_version=opts.api_version,
        retry=opts.retry,
        timeout=opts.timeout,
        ca_file=opts.ca_file,
        budget=opts.api_budget,
        clock=opts.clock,
    )
    return SalesforceAdapter(
        client,
        load_mapping(opts.mapping),
        batch_size=opts.batch_size,
        bulk_threshold=opts.bulk_threshold,
        query_batch=opts.query_batch,
        overlap=timedelta(seconds=opts.overlap_s),
    )
