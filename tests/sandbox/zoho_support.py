"""Helpers for the Zoho sandbox tests: a client over plain ``requests`` (127.0.0.1 only).

Fixtures live in each test module (``tests/sandbox/conftest.py`` belongs to the other sandboxes)::

    @pytest.fixture
    def zsb() -> Iterator[ZohoSandbox]:
        with ZohoSandbox(seed=7, leads=120, now=NOW) as sb:
            yield sb
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from leadsync.sandboxes.zoho.sandbox import ZohoSandbox

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LEAD_FIELDS = "First_Name,Last_Name,Email,Company,Lead_Status,Owner,Modified_Time,Created_Time"


def mint(sb: ZohoSandbox, refresh_token: str | None = None, form: bool = False) -> requests.Response:
    """The refresh-token grant, as the adapter sends it (query string, or form body)."""
    c = sb.credentials
    params = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token or c.refresh_token,
        "client_id": c.client_id,
        "client_secret": c.client_secret,
    }
    url = sb.accounts_url + "/oauth/v2/token"
    if form:
        return requests.post(url, data=params, timeout=10)
    return requests.post(url, params=params, timeout=10)


def access_token(sb: ZohoSandbox, refresh_token: str | None = None) -> str:
    resp = mint(sb, refresh_token)
    assert resp.status_code == 200 and "access_token" in resp.json(), resp.text
    return str(resp.json()["access_token"])


@dataclass
class Api:
    """``api.get("Leads", params=...)``: a ``requests.Response``; paths under /crm/v8/."""

    sb: ZohoSandbox
    token: str
    headers: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Zoho-oauthtoken {self.token}", **self.headers, **kw.pop("headers", {})}
        url = path if path.startswith("http") else f"{self.sb.url}/crm/v8/{path.lstrip('/')}"
        return requests.request(method, url, headers=headers, timeout=10, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.call("PUT", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def leads(self, **params: Any) -> requests.Response:
        return self.get("Leads", params={"fields": LEAD_FIELDS, **params})


def api_for(sb: ZohoSandbox, scopes: list[str] | None = None) -> Api:
    refresh = sb.issue_refresh_token(scopes) if scopes is not None else None
    return Api(sb, access_token(sb, refresh))


def open_leads(sb: ZohoSandbox) -> list[dict[str, Any]]:
    return [r for r in sb.records("Leads").values() if not r["Converted__s"]]


def walk(api: Api, module: str, fields: str, **params: Any) -> list[dict[str, Any]]:
    """Every page through ``page_token`` (as an adapter past 2,000 records must)."""
    out: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    while True:
        resp = api.get(module, params={"fields": fields, **params, **extra})
        if resp.status_code in (204, 304):
            return out
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out.extend(body["data"])
        if not body["info"]["more_records"]:
            return out
        extra = {"page_token": body["info"]["next_page_token"]}
