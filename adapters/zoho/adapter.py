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
    retry, timeout     a leadsync.api.RetryPolicy; seconds per HTTP request (30)
    clock              a callable giving "now" (tests: the sandbox's clock; default: the system's)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
import structlog
from pydantic import SecretStr

from leadsync.api import (
    Activity,
    CheckReport,
    ConfigError,
    Contact,
    ContactChange,
    Owner,
    Page,
    Problem,
    RetryPolicy,
    TaskRequest,
    TaskResult,
    WriteResult,
    did_you_mean,
)

from .activities import ACTIVITY_FIELDS, KEY_FIELD, ActivityReader
from .activity_listing import ModuleSizes
from .auth import ENVIRONMENTS, OAuthClient, TokenKeeper, endpoints
from .client import JSON, ZohoClient
from .mapping import ZohoMapping, load_mapping
from .paging import by_ids, pages
from .reads import fetch_by_id, full_read, read_changes
from .schema import check_org, run_setup
from .tasks import TASK_BATCH, TaskWriter
from .writes import TRIGGERS, ContactWriter

__all__ = ["OPTIONS", "ZohoAdapter", "from_options"]

log = structlog.get_logger("leadsync.zoho")
OPTIONS = (
    "client_id", "token", "token_file", "token_env", "client_secret_env", "client_secret_file",
    "data_center", "environment", "accounts_url", "api_url", "token_cache", "mapping", "batch_size",
    "triggers", "concurrency", "credit_floor", "ca_file", "retry", "timeout", "clock",
)  # fmt: skip
INTEGRATION_USER = "integration_user"  # in owners.holding: the user leadsync signs in as
_NUMBERS: tuple[tuple[str, float, float, float], ...] = (
    ("batch_size", 100, 1, 100),
    ("concurrency", 4, 1, 25),
    ("credit_floor", 1000, 0, 10_000_000),
    ("timeout", 30.0, 0.1, 600.0),
)


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
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.triggers = list(triggers)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._modules: dict[str, str] = {}
        self._lock = threading.Lock()
        self._fields: dict[str, dict[str, JSON]] = {}
        self._fields_lock = threading.Lock()  # org_fields, asked from the activity threads
        self._zone: tzinfo | None = None
        self._sizes = ModuleSizes(client, self.clock)
        self._activities = ActivityReader(client, mapping, self.activity_fields, self.module_of, self._sizes)
        # RECORD_LOCKED backoff sleeps through the retry policy's sleep, as every other wait does
        self._writer = ContactWriter(
            client,
            mapping,
            self.module_of,
            batch_size=batch_size,
            triggers=triggers,
            sleep=client.retry.sleep,
        )

    def __repr__(self) -> str:
        return f"ZohoAdapter({self.client!r}, mapping={self.mapping.file!r})"

    def check(self) -> CheckReport:
        return check_org(self.client, self.mapping, self.org_fields, self.client.keeper.token)

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
            now=self.clock(),
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
        return self._writer.write(changes) if changes else []

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
        return TaskWriter(self.client, self.org_zone(), self.triggers).create_many(tasks, modules)

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
    where = "zoho options"
    problems = [
        Problem(where, 0, f"unknown option `{k}`{did_you_mean(str(k), OPTIONS)}")
        for k in options
        if k not in OPTIONS
    ]
    client_id = str(options.get("client_id") or "")
    if not client_id:
        problems.append(Problem(where, 0, "`client_id` is required: the Zoho client's Client ID"))
    try:
        urls = endpoints(
            str(options.get("data_center") or "com"),
            str(options.get("environment") or "production"),
            str(options["accounts_url"]) if options.get("accounts_url") else None,
            str(options["api_url"]) if options.get("api_url") else None,
        )
    except ValueError as exc:
        problems.append(Problem(where, 0, f"{exc}; environments: {', '.join(ENVIRONMENTS)}"))
        urls = endpoints()
    numbers = {}
    for key, default, low, high in _NUMBERS:
        value = options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            problems.append(Problem(where, 0, f"`{key}` must be a number from {low} to {high}"))
            value = default
        numbers[key] = value
    triggers = options.get("triggers") or []
    if not isinstance(triggers, list) or any(t not in TRIGGERS for t in triggers):
        problems.append(Problem(where, 0, f"`triggers` must list some of {', '.join(TRIGGERS)}"))
        triggers = []
    clock = options.get("clock")
    if clock is not None and not callable(clock):
        problems.append(Problem(where, 0, "`clock` must be a callable returning an aware datetime"))
        clock = None
    retry = options.get("retry")
    if retry is not None and not isinstance(retry, RetryPolicy):
        problems.append(Problem(where, 0, "`retry` must be a leadsync.api.RetryPolicy"))
        retry = None
    refresh = _secret(options.get("token"))
    if not refresh:
        problems.append(
            Problem(where, 0, "no refresh token: put it in the connection's token_env or token_file")
        )
    client_secret = _client_secret(options, problems)
    if problems:
        raise ConfigError(problems)
    http = requests.Session()
    keeper = TokenKeeper(
        OAuthClient(client_id, client_secret, SecretStr(refresh)),
        urls,
        http,
        timeout=float(numbers["timeout"]),
        cache_file=str(options["token_cache"]) if options.get("token_cache") else None,
        clock=clock,
    )
    client = ZohoClient(
        keeper,
        retry=retry,
        timeout=float(numbers["timeout"]),
        ca_file=str(options["ca_file"]) if options.get("ca_file") else None,
        concurrency=int(numbers["concurrency"]),
        credit_floor=int(numbers["credit_floor"]),
        clock=clock,
    )
    mapping = load_mapping(options.get("mapping"))
    return ZohoAdapter(client, mapping, batch_size=int(numbers["batch_size"]), triggers=triggers, clock=clock)


def _secret(raw: Any) -> str:
    if isinstance(raw, SecretStr):
        raw = raw.get_secret_value()
    return raw.strip() if isinstance(raw, str) else ""


def _client_secret(options: Mapping[str, Any], problems: list[Problem]) -> SecretStr:
    if options.get("client_secret_file"):
        path = Path(str(options["client_secret_file"]))
        try:
            return SecretStr(path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            problems.append(Problem(str(path), 0, f"cannot read the client secret: {exc.strerror}"))
            return SecretStr("")
    env = str(options.get("client_secret_env") or "ZOHO_CLIENT_SECRET")
    value = os.environ.get(env, "").strip()
    if not value:
        problems.append(
            Problem("zoho options", 0, f"the Client Secret is not in ${env} (or `client_secret_file`)")
        )
    return SecretStr(value)
