"""Every request the Zoho adapter sends, checked against Zoho's official OpenAPI v8 files.

The files (``zoho/crm-oas`` v8.0, copied to ``../shared/specs/zoho``) refer to each other by
absolute URLs, rewritten here to the local files. For each request: the operation exists
(method and path, the most literal template winning: ``/users`` before ``/{module_api_name}``),
every query parameter and the ``If-Modified-Since`` header are declared for it with a value of
the declared type, and the JSON body validates against the operation's request body schema
(``jsonschema``, OpenAPI's ``nullable`` read as JSON Schema's ``null`` type). ``required`` is
not checked inside bodies: the v8 files reuse response schemas for request bodies (Create
Custom Fields' ``fields`` requires ``id``, ``created_time`` and 60 more a create cannot send).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from leadsync.api import ContactChange, TaskRequest
from leadsync.model import BUILTIN_REASONS
from tests.adapters.test_zoho_fake import BASE, FakeZoho, Sent, make_adapter, zoho_fixture  # noqa: F401

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extra")
referencing = pytest.importorskip("referencing", reason="comes with jsonschema>=4.18")

SPECS = Path(__file__).parents[2].parent / "shared" / "specs" / "zoho"
PREFIX = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
# Operations the adapter uses that the copied files do not cover (Get Organization Data).
NOT_IN_SPECS = {("GET", "/crm/v8/org")}
pytestmark = pytest.mark.skipif(
    not (SPECS / "record.json").is_file(), reason=f"Zoho's OpenAPI files not in {SPECS}"
)


def _local(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _local(v) for k, v in node.items() if k != "required" or not isinstance(v, list)}
        if isinstance(node.get("required"), list):
            out["x-required"] = node["required"]
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"].removeprefix(PREFIX)
        if out.get("nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_local(v) for v in node]
    return node


@cache
def specs() -> dict[str, Any]:
    return {p.name: _local(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(SPECS.glob("*.json"))}


@cache
def registry() -> Any:
    from referencing.jsonschema import DRAFT4

    return referencing.Registry().with_resources(
        (name, referencing.Resource.from_contents(doc, default_specification=DRAFT4))
        for name, doc in specs().items()
    )


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        parts = node["$ref"].split("#/", 1)[1].split("/")
        node = doc
        for part in parts:
            node = node[part]
    return node


def operations(method: str, path: str) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    """(file, template, operation, parameters) of each most literal template the request matches."""
    found = []
    for name, doc in specs().items():
        for template, ops in (doc.get("paths") or {}).items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            if method.lower() in ops and re.match(pattern, path):
                found.append((template.count("{"), name, template))
    assert found, f"{method} {path} is no operation in Zoho's OpenAPI files"
    fewest = min(n for n, _, _ in found)
    out = []
    for _, name, template in sorted(f for f in found if f[0] == fewest):
        doc = specs()[name]
        op = doc["paths"][template][method.lower()]
        params = [
            _resolve(doc, p)
            for p in (*doc["paths"][template].get("parameters", []), *op.get("parameters", []))
        ]
        out.append((name, template, op, params))
    return out


def check_request(sent: Sent) -> None:
    """Passes when one of the operations the request matches allows it (search is in two files)."""
    if (sent.method, sent.path) in NOT_IN_SPECS:
        return
    failures = []
    for candidate in operations(sent.method, sent.path):
        try:
            _check(sent, *candidate)
            return
        except AssertionError as exc:
            failures.append(str(exc))
    raise AssertionError("; ".join(failures))


def _check(sent: Sent, name: str, template: str, op: dict[str, Any], params: list[dict[str, Any]]) -> None:
    where = f"{sent.method} {sent.path} ({name} {template})"
    declared = {(p["in"], p["name"]): p for p in params}
    for key, values in sent.query.items():
        assert ("query", key) in declared, f"{where}: undeclared query parameter `{key}`"
        schema = declared[("query", key)].get("schema") or {}
        for value in values:
            typed: Any = int(value) if schema.get("type") == "integer" else value
            jsonschema.validate(typed, {k: v for k, v in schema.items() if k != "format"})
    if "If-Modified-Since" in sent.headers:
        assert ("header", "If-Modified-Since") in declared, f"{where}: If-Modified-Since not declared"
    for p in params:
        if p.get("required") is True and p["in"] == "query":
            assert p["name"] in sent.query, f"{where}: `{p['name']}` is required"
    if sent.body is not None:
        schema = _resolve(specs()[name], op["requestBody"])["content"]["application/json"]["schema"]
        if str(schema.get("$ref", "")).startswith("#"):
            schema = {"$ref": f"{name}{schema['$ref']}"}
        errors = sorted(
            jsonschema.Draft4Validator(schema, registry=registry()).iter_errors(sent.body), key=str
        )
        assert not errors, f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_every_request_the_adapter_sends_is_in_zohos_openapi(zoho: FakeZoho) -> None:
    """Setup, check, a full read (past the listing cap: COQL) and a resumed one, activities (a
    module counted and listed whole, and searched), writes, tasks (1 and 8 a call), owners."""
    zoho.users = [{"id": "u1", "full_name": "Ann", "email": "ann@x.io", "status": "active"}]
    leads = zoho.add("Leads", 5)
    zoho.cap = 3  # Zoho's 100,000: the leads past it are listed by COQL
    contact = zoho.add("Contacts", 1)[0]
    crm = make_adapter(clock=lambda: BASE)
    crm.setup(BUILTIN_REASONS)
    crm.setup({**BUILTIN_REASONS, "fraud": "Fraud"})  # adds a pick-list value (PATCH)
    crm.check()
    final = list(crm.read_contacts(None))[-1].cursor
    later = (BASE + timedelta(minutes=5)).isoformat()
    call = {"id": "c1", "Modified_Time": later, "What_Id": {"id": leads[0]}, "$se_module": "Leads"}
    zoho.records["Calls"] = [{**call, "Call_Type": "Outbound", "Call_Start_Time": later}]
    zoho.deleted["Leads"] = [{"id": "99", "deleted_time": later}]
    list(crm.read_contacts(final))
    crm.read_activities([*leads, contact])  # counts the modules, lists Calls and Events whole
    crm.read_activities([leads[0]])  # asked again in the run: searched
    crm.get_contacts([leads[1], contact])
    crm.read_owners()
    crm.write_contacts([ContactChange(leads[2], {"stage": "sql", "score": 12, "sql_at": datetime.now(UTC)}),
                        ContactChange(contact, {"stage": "nurture", "owner_id": "u1"})])  # fmt: skip
    for cid in (leads[3], contact):
        crm.create_task(TaskRequest(f"k:{cid}", cid, "u1", "Call now", datetime.now(UTC), body="demo"))
    crm.create_task(TaskRequest(f"k:{contact}", contact, "u1", "Call now", None))
    # many a call: new tasks, one made above, and two made before whose duplicates Zoho does not
    # name, looked up in one search by key (`in`)
    zoho.records["Tasks"] += [
        {"id": f"t{i}", "Leadsync_Key": f"old:{i}", "Modified_Time": later} for i in (1, 2)
    ]
    zoho.name_duplicates = False
    many = [TaskRequest(f"many:{cid}", cid, "u1", "Follow up", datetime.now(UTC)) for cid in leads]
    many += [TaskRequest(f"old:{i}", leads[i], None, "Again", None) for i in (1, 2)]
    results = crm.create_tasks([*many, TaskRequest(f"k:{contact}", contact, "u1", "Call now", None)])
    assert [r.crm_id for r in results[5:7]] == ["t1", "t2"] and all(r.crm_id for r in results)
    crm.last_changed([leads[2]], ["score"])
    methods = {(s.method, t) for s in zoho.sent if (s.method, s.path) not in NOT_IN_SPECS
               for _, t, _, _ in operations(s.method, s.path)}  # fmt: skip
    assert {("PUT", "/crm/v8/{module_api_name}"), ("POST", "/crm/v8/settings/fields"),
            ("GET", "/crm/v8/{module_api_name}/search"), ("GET", "/crm/v8/{module_api_name}/deleted"),
            ("PATCH", "/crm/v8/settings/fields/{field}"), ("GET", "/crm/v8/users"),
            ("POST", "/crm/v8/{module_api_name}"), ("POST", "/crm/v8/coql"),
            ("GET", "/crm/v8/{module_api_name}/actions/count")} <= methods  # fmt: skip
    assert any(s.path == "/crm/v8/Calls/search" for s in zoho.sent), "an activity search"
    assert any(s.path == "/crm/v8/Calls" and "ids" not in s.query for s in zoho.sent), "Calls listed"
    inserts = [s.body["data"] for s in zoho.sent if s.method == "POST" and s.path == "/crm/v8/Tasks"]
    assert max(len(data) for data in inserts) == 8, "one insert of many records"
    assert any(":in:" in s.query.get("criteria", [""])[0] for s in zoho.sent), "one search of many keys"
    for sent in zoho.sent:
        check_request(sent)


def test_the_check_itself_catches_what_zoho_would_refuse() -> None:
    """An undeclared parameter and a body of the wrong shape fail the check."""
    with pytest.raises(AssertionError, match="undeclared query parameter `pagesize`"):
        check_request(Sent("GET", "/crm/v8/Leads", {"pagesize": ["5"]}, {}, None))
    with pytest.raises(AssertionError, match="is not of type 'array'"):
        check_request(Sent("PUT", "/crm/v8/Leads", {}, {}, {"data": {"id": "1"}}))
    with pytest.raises(AssertionError, match="no operation"):
        check_request(Sent("POST", "/crm/v8/Leads/actions/frobnicate", {}, {}, {}))
