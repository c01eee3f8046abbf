"""A local Zoho CRM org: the REST API v8 subset leadsync's adapter uses, with Zoho's rules, error
bodies, limits and failures.

Serves Zoho Accounts' refresh-token grant (``POST /oauth/v2/token``; ``api_domain`` is the
sandbox's own URL) and, on the same port, ``/crm/v8``: records of Leads, Contacts, Calls, Events,
Tasks and Notes (list with ``fields``/``page``/``page_token``/``If-Modified-Since``, get, deleted,
insert, update; COQL keyset queries), users, the org, modules, fields (and creating custom
fields). Enforces what a real org does to a sync daemon: one-hour access tokens and scopes, 10
token mints per refresh token per 10 minutes, the 2,000-record ``page`` cliff, the 100,000-record
listing cap (``Limits.listing_cap``), 100 records per write with per-record results (207),
picklists, active owners, unique fields, record locks, the daily credit budget and the
concurrency cap (429 without ``Retry-After``). In memory, one lock, plain HTTP::

    with ZohoSandbox(seed=7, leads=300) as sb:
        c = sb.credentials
        token = requests.post(sb.accounts_url + "/oauth/v2/token", params={
            "grant_type": "refresh_token", "refresh_token": c.refresh_token,
            "client_id": c.client_id, "client_secret": c.client_secret}).json()["access_token"]
        requests.get(sb.url + "/crm/v8/Leads", params={"fields": "Last_Name,Email"},
                     headers={"Authorization": f"Zoho-oauthtoken {token}"})

Command line: ``python -m leadsync.sandboxes.zoho --port 8897 --leads 300``. Module map: ``http``
(the app, its pipeline, ``Call``, the token endpoint), ``routing``, ``reads`` + ``pages``,
``writes``, ``search``, ``coql``, ``settings`` (endpoints), ``auth``, ``limits`` (credits,
concurrency), ``store`` + ``schema`` + ``describe`` (the org and its metadata), ``data`` (seeding),
``past`` (the demo's months of history, after setup), ``backdoor`` (the back door, shared with
``/__sandbox``); what all three sandboxes share is ``leadsync.sandboxes.kit``'s.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from leadsync.sandboxes.kit.clock import SandboxClock
from leadsync.sandboxes.kit.demo import Demo, demo_entry_point
from leadsync.sandboxes.kit.faults import FaultInjector, Faults
from leadsync.sandboxes.kit.routing import Routes
from leadsync.sandboxes.kit.sandbox import command_line, common_options, finish_command_line
from leadsync.sandboxes.kit.stats import Stats
from leadsync.sandboxes.zoho import coql, reads, search, settings, writes
from leadsync.sandboxes.zoho.auth import ALL_SCOPES, Auth
from leadsync.sandboxes.zoho.backdoor import Controls
from leadsync.sandboxes.zoho.common import IdMaker, org_offset
from leadsync.sandboxes.zoho.data import seed_org
from leadsync.sandboxes.zoho.http import ACCOUNTS_ROUTES, BUCKETS, Call, ZohoApp
from leadsync.sandboxes.zoho.limits import ApiLimits, Limits
from leadsync.sandboxes.zoho.pages import PageTokens
from leadsync.sandboxes.zoho.past import write_past
from leadsync.sandboxes.zoho.schema import LEAD_STATUSES, STOCK_LEAD_STATUSES, standard_modules
from leadsync.sandboxes.zoho.store import Org

__all__ = ["ALL_SCOPES", "Credentials", "Faults", "Limits", "ZohoSandbox", "demo_zoho", "main"]

CLIENT_ID = "1000.LS7QK2M9XZ4T8B1VW3N6YH0RDCPJ5A"
SECRET_ENV = "LEADSYNC_DEMO_ZOHO_SECRET"
CLIENT_SECRET = "4f0c2b9e7a1d8c3f6e5b0a9d2c7e4f1a8b3d6c9e0f"
ROUTES: Routes[Call] = Routes(
    [
        *ACCOUNTS_ROUTES,
        *settings.ROUTES,
        *search.ROUTES,
        *coql.ROUTES,
        *reads.ROUTES,
        *writes.ROUTES,
    ]
)


@dataclass
class Credentials:
    """A self client's id and secret, and a refresh token of the integration user (all scopes)."""

    client_id: str
    client_secret: str
    refresh_token: str = ""


class ZohoSandbox(Controls):
    """A running (after ``start()`` or ``with``) local Zoho CRM org on 127.0.0.1."""

    def __init__(
        self,
        port: int = 0,
        *,
        seed: int = 1,
        leads: int = 300,
        contacts: int | None = None,
        users: int = 8,
        now: datetime | None = None,
        offset: str = "+05:30",
        activities: bool = True,
        stock_statuses: bool = False,
        limits: Limits | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        verbose: bool = False,
    ) -> None:
        self.clock = SandboxClock(now)
        self.host, self.port = host, port
        seed_args: dict[str, Any] = {
            "leads": leads,
            "contacts": contacts,
            "users": users,
            "seed": seed,
            "now": now,
        }
        seed_args.update(offset=offset, activities=activities, stock_statuses=stock_statuses)
        self.started_with(seed_args, replace(limits) if limits else Limits(), faults)
        self.credentials = Credentials(CLIENT_ID, CLIENT_SECRET)
        lim = replace(self._defaults[0])
        self.app = ZohoApp(
            org=Org(self.clock, org_offset(offset), {}, IdMaker()),
            auth=Auth(self.clock, CLIENT_ID, CLIENT_SECRET),
            limits=ApiLimits(lim, self.clock),
            faults=FaultInjector(self._defaults[1]),
            stats=Stats(BUCKETS),
            tokens=PageTokens(),
            backdoor=self,
            routes=ROUTES,
            host=host,
            verbose=verbose,
        )
        self.app.auth.ttl, self.app.auth.mint_limit = lim.token_ttl, lim.token_mints
        self.seed(**self._seed_args)

    @property
    def accounts_url(self) -> str:
        """Zoho Accounts (``/oauth/v2/token``): the same server as the API (``/crm/v8/...``)."""
        return self.url

    def seed(
        self,
        leads: int = 300,
        contacts: int | None = None,
        users: int = 8,
        seed: int = 1,
        now: datetime | None = None,
        offset: str = "+05:30",
        activities: bool = True,
        stock_statuses: bool = False,
    ) -> None:
        """Replace the org's data with a freshly generated one (deterministic for a seed and ``now``);
        a new refresh token for the integration user goes into ``credentials``."""
        ids = IdMaker()
        at = (now or self.clock()).replace(microsecond=0)
        statuses = STOCK_LEAD_STATUSES if stock_statuses else LEAD_STATUSES
        org = Org(self.clock, org_offset(offset), standard_modules(ids, statuses, at), ids, org_id=ids())
        seed_org(
            org,
            leads=leads,
            contacts=leads // 2 if contacts is None else contacts,
            users=users,
            seed=seed,
            now=at,
            statuses=statuses,
            activities=activities,
        )
        self.app.org = org
        self.app.tokens.clear()
        self.app.auth.grants.clear()
        self.app.auth.tokens.clear()
        self.credentials.refresh_token = self.app.auth.issue(org.api_user)


def _planned(contacts: int) -> int:
    """How many of the demo's leads come with months of history (``past``); the rest are seeded."""
    return contacts * 3 // 4


def _demo(sb: ZohoSandbox, contacts: int) -> Demo:
    c = sb.credentials
    os.environ[SECRET_ENV] = c.client_secret  # the adapter reads the secret from the environment
    reps = [u["id"] for u in sb.users() if sb.org.active(u["id"]) and u["id"] != sb.org.api_user]
    return {
        "adapter": "zoho",
        "options": {
            "accounts_url": sb.accounts_url,
            "api_url": sb.url,
            "client_id": c.client_id,
            "client_secret_env": SECRET_ENV,
            "token": c.refresh_token,  # the demo moves it to the environment too
        },
        "describe": f"a local Zoho CRM sandbox at {sb.url} ({contacts} leads, {len(sb.users())} users)",
        "owners": reps,
        # Zoho's activities are calls, meetings, tasks and notes: no page views, downloads,
        # webinars or demo requests, which is all qualification-matrix scores and acts on (no
        # MQL, no task). BANT is what the org records (the BANT custom fields on its leads).
        "playbook": "bant.yaml",
        "history": lambda: write_past(sb, random.Random(sb.seed_number), _planned(contacts), sb.org.now()),
    }


# ``leadsync demo --crm zoho`` (entry point ``leadsync.sandboxes: zoho``): ``contacts`` is the
# number of leads; the refresh token is the options' ``token``, the client secret goes into
# ``LEADSYNC_DEMO_ZOHO_SECRET``.
demo_zoho = demo_entry_point(
    lambda contacts, seed: ZohoSandbox(
        seed=seed, leads=contacts - _planned(contacts), contacts=contacts // 2
    ),
    _demo,
)


def main(argv: list[str] | None = None) -> None:
    """Run a sandbox until interrupted, printing its URL and credentials."""
    p = command_line("python -m leadsync.sandboxes.zoho", __doc__, 8897, "org")
    p.add_argument("--leads", type=int, default=300)
    p.add_argument("--contacts", type=int, help="default: half the leads")
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--offset", default="+05:30", help="the org's UTC offset for datetimes")
    p.add_argument("--no-activities", action="store_true")
    p.add_argument("--stock-statuses", action="store_true", help="only Zoho's stock Lead_Status values")
    p.add_argument("--daily-credits", type=int, default=Limits().daily_credits)
    p.add_argument("--concurrency", type=int, default=Limits().concurrency)
    p.add_argument("--legacy-429", action="store_true", help="the older 429 body shape")
    a = finish_command_line(p).parse_args(argv)
    sb = ZohoSandbox(
        a.port,
        leads=a.leads,
        contacts=a.contacts,
        users=a.users,
        offset=a.offset,
        activities=not a.no_activities,
        stock_statuses=a.stock_statuses,
        limits=Limits(daily_credits=a.daily_credits, concurrency=a.concurrency, legacy_429=a.legacy_429),
        **common_options(a),
    ).start()
    c = sb.credentials
    print(f"Zoho CRM sandbox listening on {sb.url} (accounts and API)", flush=True)
    print(f"client_id:     {c.client_id}\nclient_secret: {c.client_secret}\nrefresh_token: {c.refresh_token}")
    counts = {m: len(sb.records(m)) for m in ("Leads", "Contacts")}
    print(f"leads: {counts['Leads']}, contacts: {counts['Contacts']}, users: {len(sb.users())}")
    print(
        f"token: curl -s -X POST '{sb.url}/oauth/v2/token?grant_type=refresh_token&refresh_token="
        f"{c.refresh_token}&client_id={c.client_id}&client_secret={c.client_secret}'",
        flush=True,
    )
    sb.serve_until_interrupted()


if __name__ == "__main__":
    main()
