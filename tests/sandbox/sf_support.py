"""Helpers for the Salesforce sandbox tests: a client over plain ``requests`` (127.0.0.1 only), and
the adapter signed in to a sandbox org."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from simple_salesforce import Salesforce

from leadsync.adapters.salesforce.adapter import SalesforceAdapter, from_options
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.testing import SleepRecorder

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
V = "65.0"


def token(sb: SalesforceSandbox) -> str:
    """A session from the client-credentials flow, as an adapter would get it."""
    c = sb.credentials
    form = {"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": c.client_secret}
    resp = requests.post(sb.url + "/services/oauth2/token", data=form, timeout=10)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


@dataclass
class Api:
    """``api.get("query", params={"q": ...})``: a ``requests.Response``; paths under /services/data/vNN.N/"""

    sb: SalesforceSandbox
    bearer: str
    headers: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.sb.url}/services/data/v{V}/{path.lstrip('/')}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.bearer}", **self.headers, **kw.pop("headers", {})}
        return requests.request(method, self.url(path), headers=headers, timeout=10, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, **kw)

    def query(self, soql: str, **kw: Any) -> requests.Response:
        return self.get("query", params={"q": soql}, **kw)

    def records(self, soql: str) -> list[dict[str, Any]]:
        resp = self.query(soql)
        assert resp.status_code == 200, resp.text
        return list(resp.json()["records"])


def error_code(resp: requests.Response) -> str:
    return str(resp.json()[0]["errorCode"])


def open_leads(sb: SalesforceSandbox) -> list[dict[str, Any]]:
    """Live, unconverted leads (Python values), in id order."""
    return [r for r in sb.records("Lead").values() if not r["IsDeleted"] and not r["IsConverted"]]


def sf_client(sb: SalesforceSandbox, bearer: str) -> Salesforce:
    """simple-salesforce on a session from ``token``, over HTTPS trusting the sandbox's certificate."""
    return Salesforce(instance_url=sb.url, session_id=bearer, version=V, session=sb.session())


SCORE = {
    "FullName": "Lead.Leadsync_Score__c",
    "Metadata": {"label": "Leadsync Score", "type": "Number", "precision": 5, "scale": 0},
}


def lead_update(rid: str, **values: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, "id": rid, **values}


def errors(result: dict[str, Any]) -> list[str]:
    return [e["statusCode"] for e in result["errors"]]


def grant(api: Api, field: str, edit: bool = True, name: str = "Leadsync_Fields") -> None:
    """What ``leadsync setup`` does after creating a field: a permission set, the field, the user."""
    sb = api.sb
    found = api.records(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")
    if found:
        pset = found[0]["Id"]
    else:
        pset = api.post(
            "sobjects/PermissionSet", json={"Name": name, "Label": name.replace("_", " ")}
        ).json()["id"]
        user = sb.org.api_user
        assert api.post(
            "sobjects/PermissionSetAssignment", json={"AssigneeId": user, "PermissionSetId": pset}
        ).ok
    obj = field.split(".")[0]
    body = {
        "ParentId": pset,
        "SobjectType": obj,
        "Field": field,
        "PermissionsRead": True,
        "PermissionsEdit": edit,
    }
    resp = api.post(
        "composite/sobjects", json={"records": [{"attributes": {"type": "FieldPermissions"}, **body}]}
    )
    assert resp.json()[0]["success"], resp.text


def sandbox_adapter(sb: SalesforceSandbox, **options: Any) -> SalesforceAdapter:
    """The adapter on ``sb`` (client credentials, its CA, its clock, retries that never wait);
    ``options`` add to or replace those."""
    base: dict[str, Any] = {
        "login_url": sb.url,
        "auth": "client_credentials",
        "client_id": sb.credentials.client_id,
        "token": sb.credentials.client_secret,
        "ca_file": sb.ca_file,
        "retry": SleepRecorder().policy(),
        "clock": sb.org.now,
    }
    return from_options({**base, **options})
