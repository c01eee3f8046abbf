"""The Zoho sandbox's answers validate against Zoho's official OpenAPI v8 schemas
(``shared/specs/zoho``, from ``zoho/crm-oas``), read with OpenAPI 3.0 rules (``nullable``) by
openapi-schema-validator.

Where a response's ``oneOf`` is ``[wrapper, API_Exception]`` the test validates against the branch
the status calls for: ``API_Exception`` requires nothing, so every wrapper matches both branches and
a strict ``oneOf`` would refuse every valid answer. Four gaps in the published files are patched,
each below with the reason; nothing else is relaxed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests

from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from tests.sandbox.zoho_support import NOW, Api, access_token, open_leads

oas = pytest.importorskip(
    "openapi_schema_validator", reason="pip install -e '.[test]' (openapi-schema-validator)"
)
from referencing import Registry, Resource  # noqa: E402  (after the skip: jsonschema comes with it)
from referencing.jsonschema import DRAFT4  # noqa: E402

SPECS = Path(__file__).parents[2].parent / "shared" / "specs" / "zoho"
PREFIX = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
FILES = ("record.json", "users.json", "fields.json", "modules.json", "notes.json", "common.json")
FILES += ("tags.json", "profiles.json", "related_lists.json", "custom_views.json", "layouts.json")

pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"Zoho's OpenAPI files are not at {SPECS}")


def _local(node: Any) -> Any:
    """Absolute ``$ref``s to the GitHub copies → the file names registered below."""
    if isinstance(node, dict):
        return {k: (v.replace(PREFIX, "") if k == "$ref" else _local(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_local(v) for v in node]
    return node


def _patch(docs: dict[str, Any]) -> None:
    info = docs["record.json"]["components"]["schemas"]["Info"]["properties"]
    # Zoho's answers (and its docs' examples) carry null tokens on the last page and a null
    # previous_page_token on the first; the schema types them as plain strings.
    for key in ("next_page_token", "previous_page_token", "page_token_expiry"):
        info[key]["nullable"] = True
    # API_Exception.message is an enum of some messages; Zoho answers others too ("picklist not
    # found in record layout", "Sorry, you cannot perform this operation as the record is locked.").
    del docs["record.json"]["components"]["schemas"]["API_Exception"]["properties"]["message"]["enum"]
    user = docs["users.json"]["components"]["schemas"]["users"]["properties"]
    # The user schema's patterns were generated from one example ("[a-z0-9]{9}[@][a-z0-9]{5}[.]com").
    for prop in user.values():
        prop.pop("pattern", None)
    # time_zone is an IANA name string in Zoho's answers ("Asia/Kolkata"); the schema says object.
    user["time_zone"] = {"type": "string", "nullable": True}


@cache
def _registry() -> Registry:
    docs = {name: _local(json.loads((SPECS / name).read_text(encoding="utf-8"))) for name in FILES}
    _patch(docs)
    resources = [
        (name, Resource.from_contents(doc, default_specification=DRAFT4)) for name, doc in docs.items()
    ]
    return Registry().with_resources(resources)


def check(body: Any, ref: str) -> None:
    """Validate ``body`` against ``ref`` (``record.json#/components/schemas/Response_Wrapper``)."""
    validator = oas.OAS30Validator({"$ref": ref}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])


def schema_ref(file: str, name: str) -> str:
    return f"{file}#/components/schemas/{name}"


# The response bodies Update/Create Records declare: data[] of Success_Response | API_Exception.
PUT = "record.json#/paths/~1crm~1v8~1{module_api_name}/put"
WRITE = f"{PUT}/responses/200/content/application~1json/schema/oneOf/0"


@pytest.fixture(scope="module")
def zsb() -> Iterator[ZohoSandbox]:
    with ZohoSandbox(seed=9, leads=60, now=NOW) as sb:
        yield sb


@pytest.fixture(scope="module")
def api(zsb: ZohoSandbox) -> Api:
    return Api(zsb, access_token(zsb))


@pytest.mark.parametrize("module", ["Leads", "Contacts", "Calls", "Events", "Tasks", "Notes"])
def test_list_and_get(api: Api, module: str) -> None:
    fields = [f["api_name"] for f in api.get("settings/fields", params={"module": module}).json()["fields"]]
    listed = api.get(module, params={"fields": ",".join(fields[:50]), "per_page": 20})
    assert listed.status_code == 200
    check(listed.json(), schema_ref("record.json", "Response_Wrapper"))
    rid = listed.json()["data"][0]["id"]
    check(api.get(f"{module}/{rid}").json(), schema_ref("record.json", "Response_Wrapper"))


def test_last_page_with_null_tokens(api: Api) -> None:
    body = api.get("Leads", params={"fields": "Email", "page": 1}).json()
    assert body["info"]["next_page_token"] is None
    check(body, schema_ref("record.json", "Response_Wrapper"))


def test_update_207_and_create(zsb: ZohoSandbox, api: Api) -> None:
    a, b = (r["id"] for r in open_leads(zsb)[:2])
    zsb.lock("Leads", b)
    data = [
        {"id": a, "Lead_Status": "Contacted"},
        {"id": a, "Lead_Status": "Nope"},
        {"id": b},
        {"id": a, "Last_Name": None},
    ]
    resp = api.put("Leads", json={"data": data, "trigger": []})
    assert resp.status_code == 207
    check(resp.json(), WRITE)
    made = api.post(
        "Tasks", json={"data": [{"Subject": "x", "What_Id": a, "$se_module": "Leads"}], "trigger": []}
    )
    assert made.status_code == 201
    check(made.json(), WRITE)


def test_deleted(zsb: ZohoSandbox, api: Api) -> None:
    zsb.delete("Contacts", next(iter(zsb.records("Contacts"))))
    check(api.get("Contacts/deleted").json(), schema_ref("record.json", "Deleted_Records_Wrapper"))


def test_users(api: Api) -> None:
    for kind in ("AllUsers", "ActiveUsers", "DeactiveUsers", "CurrentUser"):
        check(api.get("users", params={"type": kind}).json(), schema_ref("users.json", "Response_Wrapper"))


def test_fields_and_field_creation(api: Api) -> None:
    for module in ("Leads", "Tasks", "Calls"):
        check(
            api.get("settings/fields", params={"module": module}).json(),
            schema_ref("fields.json", "Response_Wrapper"),
        )
    made = api.post(
        "settings/fields",
        params={"module": "Leads"},
        json={
            "fields": [
                {"field_label": "Fit", "data_type": "picklist", "pick_list_values": [{"display_value": "A"}]}
            ]
        },
    )
    check(made.json(), schema_ref("fields.json", "SuccessWrapper"))
    check(
        api.get("settings/fields", params={"module": "Leads"}).json(),
        schema_ref("fields.json", "Response_Wrapper"),
    )


def test_errors(zsb: ZohoSandbox, api: Api) -> None:
    for resp in (
        api.get("Leads"),
        api.get("Leads", params={"fields": "Email", "page": 11}),
        requests.get(zsb.url + "/crm/v8/Leads", headers={"Authorization": "Zoho-oauthtoken x"}, timeout=10),
    ):
        assert resp.status_code in (400, 401)
        check(resp.json(), schema_ref("common.json", "API_Exception"))


def test_the_check_refuses_a_wrong_body() -> None:
    """Not vacuous: a wrong type, a missing required key and a bad enum are each caught."""
    for body, ref in (
        ({"data": [], "info": {"more_records": "yes"}}, schema_ref("record.json", "Response_Wrapper")),
        ({"users": []}, schema_ref("users.json", "Response_Wrapper")),
        ({"data": [{"code": "SUCCESS", "status": "ok"}]}, WRITE),
    ):
        with pytest.raises(AssertionError):
            check(body, ref)
