"""Running leadsync's Salesforce adapter against simple-mockforce, and the same org in our sandbox.

``on_mockforce(fn, seed)`` runs ``fn`` inside ``@mock_salesforce`` with mockforce's store holding
``seed`` (records by sObject, as the REST API shows them) and hands it a ``Mockforce``: an adapter
built by ``from_options`` for ``https://acme.my.salesforce.com``, mockforce's store and the HTTP
calls made. Two things are added to mockforce's routes, both because of mockforce, not Salesforce:

- its OAuth token response has no ``id`` (the identity URL,
  ``https://login.salesforce.com/id/<org id>/<user id>``), which Salesforce's token endpoint always
  returns and the adapter reads the org and user from; the same body with an ``id`` replaces it
  (``identity=False`` keeps mockforce's own, to show what the adapter makes of it);
- it routes a create only at ``sobjects/<type>/`` with the trailing slash, where the adapter posts
  to ``sobjects/<type>`` (as many clients do; our sandbox takes both): that URL is routed to
  mockforce's own ``create_callback``, so the record lands in mockforce's store through its code.

The sandbox side (``sandbox_adapter``) is our local org over HTTPS on 127.0.0.1; run it outside
``on_mockforce``, whose ``responses`` refuses every URL it has no route for.
"""

from __future__ import annotations

import copy
import json
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import requests
import responses
from simple_mockforce import mock_salesforce
from simple_mockforce.callbacks import create_callback
from simple_mockforce.constants import BASE_URL, OAUTH_RESPONSE, OAUTH_URL, SF_VERSION, SOBJECT
from simple_mockforce.utils import terminate_regex
from simple_mockforce.virtual import virtual_salesforce

from leadsync.adapters.salesforce.adapter import SalesforceAdapter, from_options
from leadsync.api import RetryPolicy
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox

T = TypeVar("T")
JSON = dict[str, Any]

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid, the sandbox org's zone
MAPPING = Path(__file__).with_name("mapping.yaml")
MY_DOMAIN = "https://acme.my.salesforce.com"
CLIENT_ID = "3MVG9MockforceCrossCheck"
CLIENT_SECRET = "mockforce-consumer-secret"
MOCK_TOKEN = json.loads(OAUTH_RESPONSE)  # mockforce's token response, as it sends it
ORG_ID, USER_ID = "00D5g00000MoCkAEAS", "0055g00000MoCkAAAS"
IDENTITY = f"https://login.salesforce.com/id/{ORG_ID}/{USER_ID}"
TOKEN_URL = terminate_regex(OAUTH_URL)  # mockforce's own pattern: `responses.replace` finds it by equality
CREATE_NO_SLASH = terminate_regex(f"{BASE_URL}/services/data/v{SF_VERSION}/sobjects/{SOBJECT}")


@dataclass
class Mockforce:
    """What a test sees inside ``on_mockforce``."""

    adapter: SalesforceAdapter
    store: Mapping[str, list[JSON]]  # mockforce's records by sObject (virtual_salesforce.data)
    calls: Any  # responses.calls: every request made, in order

    def requests(self, method: str, path_part: str) -> list[requests.PreparedRequest]:
        return [
            c.request for c in self.calls if c.request.method == method and path_part in str(c.request.url)
        ]


def mockforce_options(**extra: Any) -> dict[str, Any]:
    return {
        "login_url": MY_DOMAIN,
        "auth": "client_credentials",
        "client_id": CLIENT_ID,
        "token": CLIENT_SECRET,
        "mapping": str(MAPPING),
        "retry": RetryPolicy(attempts=1),  # an unrouted URL fails at once, not after minutes of backoff
        "clock": lambda: NOW,
        **extra,
    }


def sandbox_adapter(sb: SalesforceSandbox) -> SalesforceAdapter:
    return from_options(
        {
            "login_url": sb.url,
            "auth": "client_credentials",
            "client_id": sb.credentials.client_id,
            "token": sb.credentials.client_secret,
            "ca_file": sb.ca_file,
            "mapping": str(MAPPING),
            "retry": RetryPolicy(attempts=1),
            "clock": sb.org.now,
        }
    )


def mirror(sb: SalesforceSandbox, *sobjects: str) -> dict[str, list[JSON]]:
    """The sandbox's records of these sObjects (deleted ones too), as its REST API shows them."""
    return {name: list(sb.records_json(name).values()) for name in sobjects}


def form(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    return {k: v[0] for k, v in parse_qs(body).items()}


def _create_without_slash(request: requests.PreparedRequest) -> Any:
    return create_callback(types.SimpleNamespace(url=f"{request.url}/", body=request.body))


def on_mockforce(
    fn: Callable[[Mockforce], T], seed: Mapping[str, list[JSON]] | None = None, *, identity: bool = True
) -> T:
    """``fn`` run against mockforce holding ``seed`` (see the module docstring)."""

    @mock_salesforce
    def run() -> T:
        if identity:
            responses.replace(responses.POST, TOKEN_URL, json={**MOCK_TOKEN, "id": IDENTITY})
        responses.add_callback(responses.POST, CREATE_NO_SLASH, callback=_create_without_slash)
        for sobject, rows in (seed or {}).items():
            # every row needs IsDeleted (mockforce indexes it); deep copies: queries must not see our dicts
            virtual_salesforce.data[sobject] = [{"IsDeleted": False, **copy.deepcopy(r)} for r in rows]
        return fn(Mockforce(from_options(mockforce_options()), virtual_salesforce.data, responses.calls))

    return run()
