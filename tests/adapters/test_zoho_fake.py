"""A small fake of Zoho CRM v8 for the adapter's tests (``responses``), and tests of its own rules.

It pages as Zoho does (``page`` up to 2,000 records, then ``page_token`` only, never both),
filters ``If-Modified-Since`` inclusively, answers 204/304 without a body, inserts many Tasks a
call with an answer per record (``DUPLICATE_DATA`` for a key it holds), and records every request
so ``test_zoho_openapi`` can check them against Zoho's OpenAPI files. Tests reach its state
directly; it is not the sandbox (``adapters/zoho/sandbox*.py``).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from leadsync.adapters.zoho.adapter import ZohoAdapter, from_options
from leadsync.testing import SleepRecorder

ACCOUNTS = "https://accounts.zoho.test"
API = "https://www.zohoapis.test"
IST = timezone(timedelta(hours=5, minutes=30))
BASE = datetime(2026, 11, 20, 10, 0, tzinfo=IST)
Reply = tuple[int, dict[str, str], str]


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeZoho:
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fields: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    mints: int = 0
    token_body: dict[str, Any] = field(default_factory=dict)
    faults: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # next answers, in order
    locked: dict[str, int] = field(default_factory=dict)  # id → times RECORD_LOCKED
    refuse: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → error item
    refuse_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task key → error item
    name_duplicates: bool = True  # DUPLICATE_DATA names the existing task (duplicate_record)
    credits: int | None = None
    counts: dict[str, int] = field(default_factory=dict)  # module → what actions/count says (a big org)
    cap: int | None = None  # records one listing reaches (Zoho: 100,000), then PAGINATION_LIMIT_EXCEEDED
    ids: Any = field(default_factory=lambda: itertools.count(5725767000000500001))

    def add(self, module: str, n: int, *, same_time: bool = False, **values: Any) -> list[str]:
        out = []
        for i in range(n):
            rid = str(next(self.ids))
            at = BASE if same_time else BASE + timedelta(seconds=i // 3)
            rec = {"id": rid, "Modified_Time": at.isoformat(), "Created_Time": BASE.isoformat(),
                   "Last_Name": f"L{i}", "Email": f"p{i}@acme{i % 7}.com",
                   "Owner": {"id": "u1", "name": "Ann"}, **values}  # fmt: skip
            self.records.setdefault(module, []).append(rec)
            out.append(rid)
        return out

    def touch(self, module: str, rid: str, at: datetime) -> None:
        rec = next(r for r in self.records[module] if r["id"] == rid)
        rec["Modified_Time"] = at.isoformat()

    # -- the HTTP side --------------------------------------------------------------------------

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.POST, f"{ACCOUNTS}/oauth/v2/token", callback=self.token)
        for method in ("GET", "PUT", "POST", "PATCH"):
            rsps.add_callback(method, re.compile(re.escape(API) + r"/crm/v8/.*"), callback=self.api)

    def token(self, request: requests.PreparedRequest) -> Reply:
        self.mints += 1
        body = self.token_body or {
            "access_token": f"1000.tok{self.mints}", "api_domain": API, "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ ZohoCRM.org.READ",
        }  # fmt: skip
        return 200, {}, json.dumps(body)

    def api(self, request: requests.PreparedRequest) -> Reply:
        url = urlsplit(str(request.url))
        query = parse_qs(url.query, keep_blank_values=True)
        body = json.loads(request.body) if request.body else None
        path = url.path.removeprefix("/crm/v8")
        self.sent.append(Sent(str(request.method), url.path, query, dict(request.headers), body))
        headers = {"X-API-CREDITS-REMAINING": str(self.credits)} if self.credits is not None else {}
        if self.faults:
            status, error = self.faults.pop(0)
            return status, headers, json.dumps(error)
        q = {k: v[0] for k, v in query.items()}
        status, answer = self.route(
            str(request.method), path, q, request.headers.get("If-Modified-Since"), body
        )
        return status, headers, "" if answer is None else json.dumps(answer)

    def route(
        self, method: str, path: str, q: dict[str, str], since: str | None, body: Any
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if path == "/org":
            return 200, {"org": [{"id": "777", "company_name": "Acme", "time_zone": "Asia/Kolkata"}]}
        if path == "/users":
            active = q.get("type") != "DeactiveUsers"
            users = [u for u in self.users if (u.get("status") == "active") == active]
            return (200, {"users": users, "info": {"more_records": False}}) if users else (204, None)
        if parts[:2] == ["settings", "fields"]:
            return self.settings_fields(method, parts[2:], q, body)
        if len(parts) == 2 and parts[1] == "deleted":
            rows = [
                d for d in self.deleted.get(parts[0], []) if not since or _ts(d["deleted_time"]) >= _ts(since)
            ]
            return (200, {"data": rows, "info": {"more_records": False}}) if rows else (204, None)
        if parts[1:] == ["actions", "count"]:
            rows = [r for r in self.records.get(parts[0], []) if not r.get("Converted__s")]
            return 200, {"count": self.counts.get(parts[0], len(rows))}
        if len(parts) == 2 and parts[1] == "search":
            return self.search(parts[0], q)
        if method == "PUT":
            return self.update(parts[0], body)
        if method == "POST" and parts == ["coql"]:
            return self.coql(body)
        if method == "POST" and parts == ["Tasks"]:
            return self.insert_tasks(body)
        return self.list(parts[0], q, since)

    def settings_fields(self, method: str, rest: list[str], q: dict[str, str], body: Any) -> tuple[int, Any]:
        known = self.fields.setdefault(q["module"], [])
        ok = {"code": "SUCCESS", "status": "success", "message": "ok", "details": {"id": "9"}}
        if method == "POST":
            made = {**body["fields"][0], "id": f"f{len(known)}"}
            made["api_name"] = made["field_label"].replace(" ", "_")
            known.append(made)
            return 201, {"fields": [ok]}
        if method == "PATCH":
            target = next(f for f in known if f["id"] == rest[0])
            target["pick_list_values"] += body["fields"][0]["pick_list_values"]
            return 200, {"fields": [ok]}
        return 200, {"fields": known}

    def list(self, module: str, q: dict[str, str], since: str | None) -> tuple[int, Any]:
        assert "fields" in q, "Zoho requires `fields` on every list call"
        assert not ("page" in q and "page_token" in q), "AMBIGUITY_DURING_PROCESSING"
        rows = list(self.records.get(module, []))
        if since:
            rows = [r for r in rows if _ts(r["Modified_Time"]) >= _ts(since)]
        if "ids" in q:
            rows = [r for r in rows if r["id"] in q["ids"].split(",")]
        if module == "Leads" and q.get("converted", "false") == "false":
            rows = [r for r in rows if not r.get("Converted__s")]
        if q.get("sort_by", "id") == "id":
            rows.sort(key=lambda r: (len(r["id"]), r["id"]), reverse=q.get("sort_order", "desc") == "desc")
        else:
            rows.sort(key=lambda r: (_ts(r["Modified_Time"]), r["id"]))
        if not rows:
            return (304, None) if since else (204, None)
        per = int(q.get("per_page", 200))
        if "page_token" in q:
            start = int(q["page_token"].removeprefix("tok"))
        else:
            page = int(q.get("page", 1))
            if page > 10:
                return 400, {
                    "code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    "details": {},
                    "message": "x",
                    "status": "error",
                }
            start = (page - 1) * per
        cap = self.cap if self.cap is not None and "ids" not in q else len(rows) + per
        if start >= cap:
            return 400, {"code": "PAGINATION_LIMIT_EXCEEDED", "details": {"limit": cap}, "message": "x",
                         "status": "error"}  # fmt: skip
        chunk = rows[start : min(start + per, cap)]
        more = start + len(chunk) < len(rows)
        info: dict[str, Any] = {"per_page": per, "count": len(chunk), "more_records": more}
        if more:
            info["next_page_token"] = f"tok{start + per}"
        return 200, {"data": chunk, "info": info}

    def coql(self, body: dict[str, Any]) -> tuple[int, Any]:
        """The keyset query the adapter sends past the cap (anything else fails the test)."""
        match = re.fullmatch(
            r"select id, Modified_Time from (\w+) where \(?id > (\d+)(?: and Modified_Time >= '([^']+)'\))?"
            r" order by id asc limit (\d+)",
            body["select_query"],
        )
        assert match, body["select_query"]
        module, after, since, limit = match.groups()
        rows = [r for r in self.records.get(module, []) if (len(r["id"]), r["id"]) > (len(after), after)]
        if since:
            rows = [r for r in rows if _ts(r["Modified_Time"]) >= _ts(since)]
        rows.sort(key=lambda r: (len(r["id"]), r["id"]))
        chunk = [{"id": r["id"], "Modified_Time": r["Modified_Time"]} for r in rows[: int(limit)]]
        info = {"count": len(chunk), "more_records": len(rows) > int(limit)}
        return (200, {"data": chunk, "info": info}) if chunk else (204, None)

    def search(self, module: str, q: dict[str, str]) -> tuple[int, Any]:
        match = re.fullmatch(r"\((\w+):(in|equals):(.*)\)", q["criteria"])
        assert match, q["criteria"]
        name, op, raw = match.groups()
        parts = re.split(r"(?<!\\),", raw) if op == "in" else [raw]
        values = {re.sub(r"\\(.)", r"\1", v) for v in parts}
        rows = [r for r in self.records.get(module, []) if _value(r.get(name)) in values]
        return (200, {"data": rows, "info": {"more_records": False}}) if rows else (204, None)

    def update(self, module: str, body: dict[str, Any]) -> tuple[int, Any]:
        out = []
        for item in body["data"]:
            rid = item["id"]
            if self.locked.get(rid):
                self.locked[rid] -= 1
                out.append(
                    {"code": "RECORD_LOCKED", "details": {"id": rid}, "message": "locked", "status": "error"}
                )
            elif rid in self.refuse:
                out.append(self.refuse[rid])
            else:
                rec = next(r for r in self.records[module] if r["id"] == rid)
                rec.update({k: v for k, v in item.items() if k != "id"})
                out.append(
                    {
                        "code": "SUCCESS",
                        "details": {"id": rid},
                        "message": "record updated",
                        "status": "success",
                    }
                )
        codes = {o["code"] for o in out}
        return (200 if codes == {"SUCCESS"} else 400 if "SUCCESS" not in codes else 207), {"data": out}

    def insert_tasks(self, body: dict[str, Any]) -> tuple[int, Any]:
        """Zoho's insert: each record on its own, in order; 201 all made, 207 some, 400 none."""
        out = [self._insert_task(item, i) for i, item in enumerate(body["data"])]
        made = sum(o["code"] == "SUCCESS" for o in out)
        return (201 if made == len(out) else 207 if made else 400), {"data": out}

    def _insert_task(self, item: dict[str, Any], index: int) -> dict[str, Any]:
        key = item.get("Leadsync_Key")
        if key in self.refuse_tasks:
            return self.refuse_tasks[key]
        tasks = self.records.setdefault("Tasks", [])
        twin = next((t for t in tasks if key and t.get("Leadsync_Key") == key), None)
        if twin is not None:
            details: dict[str, Any] = {
                "api_name": "Leadsync_Key",
                "json_path": f"$.data[{index}].Leadsync_Key",
            }
            if self.name_duplicates:
                details["duplicate_record"] = {"id": twin["id"], "module": {"api_name": "Tasks"}}
            return {
                "code": "DUPLICATE_DATA",
                "details": details,
                "message": "duplicate data",
                "status": "error",
            }
        rid = str(next(self.ids))
        tasks.append({"id": rid, "Modified_Time": BASE.isoformat(), **item})
        return {"code": "SUCCESS", "details": {"id": rid}, "message": "record added", "status": "success"}


def _value(raw: Any) -> str:
    return str(raw.get("id") if isinstance(raw, dict) else raw)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture(name="zoho")
def zoho_fixture(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "s3cret")
    fake = FakeZoho()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake


def make_adapter(**options: Any) -> ZohoAdapter:
    base = {
        "client_id": "1000.CLIENT",
        "token": "1000.refresh",
        "accounts_url": ACCOUNTS,
        "retry": SleepRecorder().policy(),
    }
    return from_options({**base, **options})


class TestTheFake:
    def test_pages_then_page_tokens(self, zoho: FakeZoho) -> None:
        """Pages 1-10 by number, then tokens; a page past 10 is refused as Zoho refuses it."""
        zoho.add("Leads", 2100)
        status, body = zoho.list("Leads", {"fields": "id", "page": "11"}, None)
        assert status == 400 and body["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
        status, body = zoho.list("Leads", {"fields": "id", "page": "10"}, None)
        assert body["info"]["next_page_token"] == "tok2000"
