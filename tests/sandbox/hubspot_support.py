"""Helpers for the HubSpot sandbox tests: plain HTTP calls and the portal they run against.

The ``sb`` (a fresh portal) and ``hs`` (hubspot-api-client on it) fixtures are in
``tests/sandbox/conftest.py``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RELAXED = RateLimits(ten_second_max=100_000, search_per_second=100_000)


def call(
    sb: HubSpotSandbox, method: str, path: str, body: Any = None, token: str | None = "pat-sandbox"
) -> Any:
    """(status, headers, JSON body) over plain HTTP."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(sb.url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def search_body(**kw: Any) -> dict[str, Any]:
    return {"filterGroups": [], "properties": ["lifecyclestage"], "limit": 10, **kw}


def contact_in_stage(sb: HubSpotSandbox, stage: str) -> str:
    return next(cid for cid, rec in sb.contacts.items() if rec.properties.get("lifecyclestage") == stage)
