"""``ZohoAdapter``: leadsync's ``CrmAdapter`` for a Zoho CRM org, and ``from_options``.

Registered as ``leadsync.adapters: zoho = leadsync.adapters.zoho.adapter:from_options``. Options:

    client_id          the Zoho client's Client ID (api-console.zoho.com)
    token              the refresh token: from the connection's `token_env`/`token_file`
    client_secret_env  the variable holding the Client Secret (ZOHO_CLIENT_SECRET)
    client_secret_file or a file holding it
    data_center        com (default; also us) | eu | in | com.au (au) | jp | ca | com.cn (cn) | sa | uk
    environment        production (default) | sandbox | developer
    accounts_url       the accounts server, instead of the data centre's (a local sandbox)
    api_url            the API domain, instead of the token's api_domain (a local sandbox)
    token_cache        a file to keep the access token in between runs (mode 0600; default: none)
    mapping            path of the mapping file (default: the packaged mappings/zoho.yaml)
    batch_size         records per update call, at most 100 (100)
    triggers           automation Zoho runs on leadsync's writes: any of workflow, approval,
                       blueprint, pathfinder, orchestration (default none: `"trigger": []`)
    concurrency        calls in flight at once, 1 to 25 (4; Zoho's cap is 5 on Free editions)
    credit_floor       API credits left to other integrations: leadsync stops there (1000)
    ca_file            a CA bundle to trust (a local sandbox's certificate)
    retry, timeout     a leadsync.api.RetryPolicy (default: the policy, on `clock`); seconds per
                       HTTP request (30)
    clock              a leadsync.api.Clock, or a callable giving "now" (tests: the sandbox's
                       clock); every wait (lock backoffs, retries) is on it (default: the system's)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
import structlog

from leadsync.api import (
    JSON,
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

from .activities import ACTIVITY_FIELDS, KEY_FIELD, ActivityReader
from .activity_listing import ModuleSizes
from .auth import OAuthClient, TokenKeeper
from .client import ZohoClient
from .mapping import ZohoMapping, load_mapping
from .options import ZohoOptions
from .paging import by_ids, pages
from .provisioning import check_org, run_setup
from .reads import fetch_by_id, full_read, read_changes
from .tasks import TASK_BATCH, TaskWriter
from .writes import ContactWriter, refused_for_owner

__all__ = ["ZohoAdapter", "from_options"]

log = structlog.get_logger("leadsync.zoho")
INTEGRATION_USER = "integration_user"  # in owners.holding: the user leadsync signs in as


class ZohoAdapter:
    """One Zoho CRM org, read and written in canonical records."""

    name = "zoho"
    task_batch = TASK_BATCH  # tasks one create_tasks call takes: Zoho inserts 100 records a call

    def __init__(
        self,
        client: ZohoClient,
        mapping: ZohoMapping,
        *,
        batch_size: int = 100,
        triggers: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.mapping = mapping
        named = {f for module in mapping.modules.values() for f in module.fields}
        self.optional_fields = frozenset(f for f in OPTIONAL_FIELDS if f in named)
        self.triggers = list(triggers)
        self.clock = client.clock
        self._modules: dict[str, str] = {}
        self._lock = threading.Lock()
        self._fields: dict[str, dict[str, JSON]] = {}
        self._fields_lock = threading.Lock()  # org_fields, asked from the activity threads
        self._zone: tzinfo | None = None
        self._sizes = ModuleSizes(client, self.clock)
        self._activities = ActivityReader(client, mapping, self.activity_fields, self.module_of, self._sizes)
        self._writer = ContactWriter(
            client, mapping, self.module_of, batch_size=batch_size, triggers=triggers
        )

    def __repr__(self) -> str:
        return f"ZohoAdapter({self.client!r}, mapping={self.mapping.file!r})"

    def api_budget(self) -> ApiBudget | None:
        """The org's API credits left for the rolling 24 hours, as Zoho last said (it says so only
        once half are spent, and never says the total)."""
        left = self.client.credits_remaining
        return None if left is None else ApiBudget("credits", remaining=left)

    def check(self) -> CheckReport:
        return check_org(self.client, self.mapping, self.org_fields, self.client.keeper.token)

    def check_for(self, needs: CheckNeeds) -> CheckReport:
        """``check``, with leadsync's own fields, their types and the rules' reason values."""
        return check_org(
            self.client, self.mapping, self.org_fields, self.client.keeper.token, needs.reason_labels
        )

    def setup(self, reason_labels: Mapping[str, str]) -> list[str]:
        self._fields = {}
        lines = run_setup(self.client, self.mapping, reason_labels, self.org_fields)
        self._fields = {}
        return lines

    # -- what the org has -----------------------------------------------------------------------

    def org_fields(self, module: str) -> dict[str, JSON]:
        """api_name → field metadata of a module (``GET /settings/fields``, once per adapter).

        The activity reader asks from several threads at once: one asks Zoho, the others wait.
        """
        with self._fields_lock:
            if module not in self._fields:
                body = self.client.get("/settings/fields", {"module": module}) or {}
                self._fields[module] = {str(f.get("api_name")): f for f in body.get("fields") or []}
            return self._fields[module]

    def select(self, module: str) -> list[str]:
        """The mapped fields of ``module`` that exist in the org (leadsync's own only after setup)."""
        have = self.org_fields(module)
        wanted = self.mapping.modules[module].select()
        kept = [f for f in wanted if f in have or not have]
        if len(kept) < len(wanted):
            log.warning("zoho_fields_missing", module=module, fields=sorted(set(wanted) - set(kept)))
        return kept

    def activity_fields(self, module: str) -> list[str]:
        have = self.org_fields(module)
        wanted = [*ACTIVITY_FIELDS[module], *([KEY_FIELD] if module == "Tasks" else [])]
        return [f for f in wanted if f in have or (not have and f != KEY_FIELD)]

    def module_of(self, ids: Sequence[str]) -> dict[str, str]:
        """Leads or Contacts, per id (Zoho ids do not say; asked once, then remembered)."""
        with self._lock:
            known = {i: self._modules[i] for i in ids if i in self._modules}
        unknown = [i for i in dict.fromkeys(ids) if i not in known]
        for module in self.mapping.modules:
            if not unknown:
                break
            found = {str(r.get("id")) for r in by_ids(self.client, module, unknown, ["Modified_Time"])}
            for rid in found:
                self.remember(rid, module)
                known[rid] = module
            unknown = [i for i in unknown if i not in found]
        return known

    def remember(self, record_id: str, module: str) -> None:
        with self._lock:
            self._modules[record_id] = module

    def org_zone(self) -> tzinfo:
        """The org's time zone (Setup › Company Details), for task due dates."""
        if self._zone is None:
            org = ((self.client.get("/org") or {}).get("org") or [{}])[0]
            try:
                self._zone = ZoneInfo(str(org.get("time_zone") or "UTC"))
            except (ZoneInfoNotFoundError, ValueError):
                self._zone = UTC
        return self._zone

    # -- reading --------------------------------------------------------------------------------

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        self._activities.start(full=full_read(self.mapping, cursor))
        return read_changes(
            self.client,
            self.mapping,
            cursor,
            now=self.client.zoho_now(),  # Zoho's clock: watermarks are compared with its stamps
            select=self.select,
            activity_fields=self.activity_fields,
            remember=self.remember,
            keep_activity=self._activities.keep,
            is_own_task=lambda r: bool(r.get(KEY_FIELD)),
        )

    def get_contacts(self, contact_ids: Sequence[str]) -> list[Contact]:
        modules = self.module_of(contact_ids)
        out: list[Contact] = []
        for module in self.mapping.modules:
            ids = [i for i in contact_ids if modules.get(i) == module]
            if ids:
                out += fetch_by_id(self.client, self.mapping, module, ids, self.select(module))
        return out

    def complete(self, contacts: list[Contact]) -> None:
        """Nothing to add: Zoho's field history costs a call per record (the engine times stages)."""

    def read_activities(self, contact_ids: Sequence[str]) -> list[Activity]:
        return self._activities.read(contact_ids)

    def read_owners(self) -> list[Owner]:
        """Active and deactivated users; the mapping's holding users count as inactive.

        Zoho has no queues: a lead nobody has taken yet belongs to whoever created it (a web form's
        user, an import's, leadsync's). Listing such users under ``owners.holding`` makes their
        MQLs and SQLs routable to reps, as a Salesforce queue's are.
        """
        holding = {h.lower() for h in self.mapping.holding_owners}
        if INTEGRATION_USER in holding:
            for users in pages(self.client, "/users", {"type": "CurrentUser"}, key="users"):
                holding |= {str(u.get("id")) for u in users}
        owners: dict[str, Owner] = {}
        for kind, active in (("ActiveUsers", True), ("DeactiveUsers", False)):
            for users in pages(self.client, "/users", {"type": kind}, key="users"):
                for u in users:
                    uid = str(u.get("id"))
                    # an invited user who has not accepted yet (confirm false) cannot own records
                    is_active = (
                        active
                        and str(u.get("status") or "active").lower() == "active"
                        and u.get("confirm") is not False
                        and uid not in holding
                        and str(u.get("email") or "").lower() not in holding
                    )
                    owners[uid] = Owner(
                        id=uid, name=u.get("full_name"), email=u.get("email"), active=is_active
                    )
        log.info("owners_read", owners=len(owners), inactive=sum(not o.active for o in owners.values()))
        return sorted(owners.values(), key=lambda o: o.id)

    # -- writing --------------------------------------------------------------------------------

    def write_contacts(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        if not changes:
            return []
        results = self._writer.write(changes)
        return retry_without_owner(changes, results, refused_for_owner, self._writer.write)

    def create_task(self, task: TaskRequest) -> TaskResult:
        return self.create_tasks([task])[0]

    def create_tasks(self, tasks: Sequence[TaskRequest]) -> list[TaskResult]:
        """Up to ``task_batch`` (100) tasks in one insert; one result per task, in order.

        The loop hands over its pending tasks 100 at a time: a backfill's tasks cost one call per
        100 (and a credit per 10) instead of one each. Whether each contact is a lead or a contact
        is asked once for all of them (``module_of``).
        """
        if not tasks:
            return []
        modules = self.module_of([t.contact_id for t in tasks])
        writer = TaskWriter(self.client, self.org_zone(), self.triggers)
        results = writer.create_many(tasks, modules)
        # One refused for its owner alone is created once more without one.
        return retry_tasks_without_owner(
            tasks, results, refused_for_owner, lambda again: writer.create_many(again, modules)
        )

    def last_changed(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, datetime]]:
        """The record's ``Modified_Time`` for each field: no later than the field's last change.

        Zoho's field history (the timeline) costs a call per record; this costs one per 100.
        """
        modules = self.module_of(contact_ids)
        out: dict[str, dict[str, datetime]] = {}
        for module in self.mapping.modules:
            ids = [i for i in dict.fromkeys(contact_ids) if modules.get(i) == module]
            for r in by_ids(self.client, module, ids, ["Modified_Time"]) if ids else []:
                stamp = datetime.fromisoformat(str(r.get("Modified_Time")))
                out[str(r.get("id"))] = dict.fromkeys(fields, stamp)
        return out


def from_options(options: Mapping[str, Any]) -> ZohoAdapter:
    """Build the adapter from a connection's options (see the module docstring)."""
    opts = parse_options(ZohoOptions, options, "zoho")
    clock = opts.clock
    http = requests.Session()
    keeper = TokenKeeper(
        OAuthClient(opts.client_id, opts.client_secret(), opts.refresh_token()),
        opts.endpoints(),
        http,
        timeout=opts.timeout,
        cache_file=opts.token_cache or None,
        clock=clock,
    )
    client = ZohoClient(
        keeper,
        retry=opts.retry,
        timeout=opts.timeout,
        ca_file=opts.ca_file,
        concurrency=opts.concurrency,
        credit_floor=opts.credit_floor,
        clock=clock,
    )
    mapping = load_mapping(opts.mapping)
    return ZohoAdapter(client, mapping, batch_size=opts.batch_size, triggers=opts.triggers)
