"""The toy CRM's leadsync adapter: what a third-party adapter looks like, in one module.

It imports nothing of leadsync but ``leadsync.api`` (the rest is the standard library and
``requests``), and is found through the ``leadsync.adapters`` entry point ``toy`` that the toy's
distribution metadata declares (tests/toy_adapter/conftest.py), as any installed plugin is.
Options::

    base_url   the toy CRM's API (http://127.0.0.1:PORT)
    token      its API token (a connection passes its ``token_env`` or ``token_file`` here)
    retry      a leadsync.api.RetryPolicy (the default policy when absent)
    timeout    seconds per request (10)

People are read by the CRM's change sequence (a cursor ``toy1:SEQ``), 20 a page, written 10 a call with one
result per person, and leadsync's fields are custom fields ``setup`` creates. Tasks are created once
per key: the CRM keeps keys unique, and an attempt that may have been made before looks first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from leadsync.api import (
    Activity,
    AuthError,
    CheckReport,
    ConfigError,
    Contact,
    ContactChange,
    CrmError,
    Owner,
    Page,
    Problem,
    QuotaExhausted,
    RateLimited,
    RetryPolicy,
    TaskRequest,
    TaskResult,
    TransientError,
    WriteResult,
    did_you_mean,
    with_retries,
)

__all__ = ["ToyAdapter", "from_options"]

OPTIONS = ("base_url", "token", "retry", "timeout")
SCOPES = ("people.read", "people.write", "tasks.write", "fields.write")
# leadsync's fields: canonical name → the toy CRM's field (stage and owner are the CRM's own).
STANDARD = {"stage": "stage", "owner_id": "owner"}
CUSTOM = {
    "score": "leadsync_score",
    "score_breakdown": "leadsync_breakdown",
    "disqualification_reason": "leadsync_reason",
    "sla_status": "leadsync_sla_status",
    "sla_due_at": "leadsync_sla_due",
    "mql_at": "leadsync_mql_at",
    "sql_at": "leadsync_sql_at",
    "assigned_at": "leadsync_assigned_at",
}
TIMES = ("sla_due_at", "mql_at", "sql_at", "assigned_at")
OWN = ("score_breakdown", "sla_status", "sla_due_at")  # read back into ``properties``
# The toy CRM's API is a small one: people a read or a write call takes.
READ_PAGE, WRITE_BATCH = 20, 10


class ToyClient:
    """The toy CRM's API: JSON in and out, errors as leadsync's, retried by the one policy."""

    def __init__(self, base_url: str, token: str, retry: RetryPolicy | None, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        url = self.base_url + path

        def attempt() -> Any:
            try:
                resp = self.session.request(method, url, json=body, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                raise TransientError(f"{method} {url}: {exc}", url=url) from None
            if resp.status_code < 400:
                return resp.json()
            raise _error(resp, method, url)

        return with_retries(attempt, self.retry)


def _error(resp: requests.Response, method: str, url: str) -> CrmError:
    """The leadsync error for one error answer of the toy CRM."""
    status, text = resp.status_code, resp.text
    data = resp.json() if resp.headers.get("Content-Type") == "application/json" else {}
    where = f"{method} {url}: {status} {data.get('error', '')}"
    if status == 401:
        return AuthError(
            f"{where}: the toy CRM refused the token; check the connection's token",
            status=status,
            url=url,
            body=text,
        )
    if status == 429 and data.get("error") == "DAILY_QUOTA":
        resume_at = datetime.fromisoformat(data["resets_at"])
        return QuotaExhausted(
            f"the toy CRM's daily quota is used up; leadsync resumes at {resume_at}",
            resume_at=resume_at,
            status=status,
            url=url,
            body=text,
        )
    if status == 429:
        wait = float(resp.headers.get("Retry-After") or 1)
        return RateLimited(where, retry_after=wait, status=status, url=url, body=text)
    if status >= 500:
        return TransientError(where, status=status, url=url, body=text)
    return CrmError(where, status=status, url=url, body=text)


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def contact_from_json(raw: Mapping[str, Any]) -> Contact:
    """A person of the toy CRM as a canonical contact."""
    own = {name: raw[CUSTOM[name]] for name in OWN if raw.get(CUSTOM[name]) is not None}
    return Contact(
        id=str(raw["id"]),
        created_at=datetime.fromisoformat(raw["created_at"]),
        email=raw.get("email"),
        first_name=raw.get("first_name"),
        last_name=raw.get("last_name"),
        title=raw.get("title"),
        company=raw.get("company"),
        country=raw.get("country"),
        employees=raw.get("employees"),
        stage=raw.get("stage"),
        owner_id=raw.get("owner"),
        score=raw.get("leadsync_score"),
        disqualification_reason=raw.get("leadsync_reason"),
        mql_at=_time(raw.get("leadsync_mql_at")),
        sql_at=_time(raw.get("leadsync_sql_at")),
        assigned_at=_time(raw.get("leadsync_assigned_at")),
        properties=own,
    )


def _fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical writable values as the toy CRM's fields (times as ISO 8601, None clears)."""
    out = {}
    for name, value in values.items():
        crm_name = STANDARD.get(name) or CUSTOM[name]
        out[crm_name] = value.isoformat() if isinstance(value, datetime) else value
    return out


class ToyAdapter:
    """One toy CRM, read and written in canonical records."""

    name = "toy"

    def __init__(self, client: ToyClient) -> None:
        self.client = client

    def check(self) -> CheckReport:
        me = self.client.call("GET", "/me")
        missing = [s for s in SCOPES if s not in me["scopes"]]
        return CheckReport(ok=not missing, account=me["user"], missing_scopes=missing)

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        """People changed, and people deleted, after the cursor's change sequence number."""
        if cursor is not None and not cursor.startswith("toy1:"):
            raise CrmError(f"cursor {cursor!r} was not made by the toy adapter")
        after = int(cursor[5:]) if cursor else 0
        while True:
            page = self.client.call("GET", "/people", params={"after": after, "limit": READ_PAGE})
            changes = page["changes"]
            if not changes:
                return
            after = changes[-1]["seq"]
            people = [contact_from_json(c["person"]) for c in changes if "person" in c]
            gone = tuple(c["deleted"] for c in changes if "deleted" in c)
            yield Page(people, f"toy1:{after}", deleted=gone)
            if not page["more"]:
                return

    def get_contacts(self, contact_ids: Sequence[str]) -> list[Contact]:
        found = self.client.call("POST", "/people/get", {"ids": list(contact_ids)})
        return [contact_from_json(p) for p in found["people"]]

    def complete(self, contacts: list[Contact]) -> None:
        """Nothing is left out of a read: people come whole."""

    def read_activities(self, contact_ids: Sequence[str]) -> list[Activity]:
        found = self.client.call("POST", "/activities/search", {"people": list(contact_ids)})
        return [
            Activity(
                id=a["id"],
                contact_id=a["person"],
                type=a["type"],
                at=datetime.fromisoformat(a["at"]),
                owner_id=a.get("owner"),
                properties=dict(a.get("properties") or {}),
            )
            for a in found["activities"]
        ]

    def read_owners(self) -> list[Owner]:
        owners = self.client.call("GET", "/owners")["owners"]
        return [
            Owner(id=o["id"], name=o.get("name"), email=o.get("email"), active=o["active"]) for o in owners
        ]

    def write_contacts(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        for start in range(0, len(changes), WRITE_BATCH):
            batch = changes[start : start + WRITE_BATCH]
            chunk = [{"id": c.contact_id, "fields": _fields(c.values)} for c in batch]
            for r in self.client.call("PATCH", "/people", {"changes": chunk})["results"]:
                results[r["id"]] = WriteResult(r["id"], r["ok"], r.get("error"))
        return [results[c.contact_id] for c in changes]

    def create_task(self, task: TaskRequest) -> TaskResult:
        if task.may_exist:  # an earlier attempt may have made it: look before making another
            found = self.client.call("GET", "/tasks", params={"key": task.key})["tasks"]
            if found:
                return TaskResult(task.key, found[0]["id"], created=False)
        body = {
            "key": task.key,
            "person": task.contact_id,
            "owner": task.owner_id,
            "title": task.title,
            "due": task.due_at.isoformat() if task.due_at else None,
        }
        try:
            made = self.client.call("POST", "/tasks", body)
        except (AuthError, QuotaExhausted, TransientError):
            raise
        except CrmError as exc:
            return TaskResult(task.key, None, error=exc.body or str(exc))
        return TaskResult(task.key, made["id"], created=made["created"])

    def last_changed(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, datetime]]:
        names = {STANDARD.get(f) or CUSTOM[f]: f for f in fields if f in STANDARD or f in CUSTOM}
        found = self.client.call("POST", "/people/history", {"ids": list(contact_ids), "fields": list(names)})
        return {
            pid: {names[f]: datetime.fromisoformat(at) for f, at in changed.items()}
            for pid, changed in found["changed"].items()
        }

    def setup(self, reason_labels: Mapping[str, str]) -> list[str]:
        """leadsync's custom fields, created once; the reason field's options kept to the labels."""
        existing = self.client.call("GET", "/fields")["fields"]
        reasons = [{"value": code, "label": label} for code, label in sorted(reason_labels.items())]
        lines = []
        for name in CUSTOM.values():
            options = reasons if name == CUSTOM["disqualification_reason"] else None
            if name not in existing:
                self.client.call("POST", "/fields", {"name": name, "options": options})
                lines.append(f"created field {name}")
            elif existing[name].get("options") != options:
                self.client.call("PUT", f"/fields/{name}", {"options": options})
                lines.append(f"updated field {name}: its options")
            else:
                lines.append(f"field {name}: already there")
        return lines


def from_options(options: Mapping[str, Any]) -> ToyAdapter:
    """The adapter from a connection's options (see the module docstring)."""
    where = "toy options"
    problems = [
        Problem(where, 0, f"unknown option `{k}`{did_you_mean(str(k), OPTIONS)}")
        for k in options
        if k not in OPTIONS
    ]
    token = options.get("token")
    secret = getattr(token, "get_secret_value", None)  # a connection's token comes as a SecretStr
    token = secret() if secret else token
    if not isinstance(options.get("base_url"), str) or not options["base_url"]:
        problems.append(Problem(where, 0, "`base_url` is required: the toy CRM's API, http://HOST:PORT"))
    if not isinstance(token, str) or not token:
        problems.append(
            Problem(where, 0, "a token is required (`token_env` or `token_file` in the connection)")
        )
    retry = options.get("retry")
    if retry is not None and not isinstance(retry, RetryPolicy):
        problems.append(Problem(where, 0, "`retry` must be a leadsync.api.RetryPolicy"))
    if problems:
        raise ConfigError(problems)
    timeout = float(options.get("timeout", 10))
    return ToyAdapter(ToyClient(str(options["base_url"]), str(token), retry, timeout))
