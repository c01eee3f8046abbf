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

Command line: ``python -m leadsync.sandboxes.zoho --port 8897 --leads 300``. Module map:
``http`` (pipeline, token endpoint, controls), ``routing``, ``reads``,
``writes``, ``search``, ``coql``, ``settings`` (endpoints), ``auth``,
``limits``, ``store`` + ``schema`` + ``describe`` (the org and its
metadata), ``data`` (seeding), ``backdoor`` (the back door, shared with
``/__sandbox``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from leadsync.sandboxes.kit.clock import SandboxClock
from leadsync.sandboxes.kit.faults import FaultInjector, Faults, add_fault_arguments, faults_from_arguments
from leadsync.sandboxes.kit.server import Serving
from leadsync.sandboxes.kit.stats import Stats
from leadsync.sandboxes.zoho.auth import ALL_SCOPES, Auth
from leadsync.sandboxes.zoho.backdoor import Controls
from leadsync.sandboxes.zoho.common import IdMaker, org_offset
from leadsync.sandboxes.zoho.data import seed_org
from leadsync.sandboxes.zoho.http import BUCKETS, ZohoApp, ZohoServer
from leadsync.sandboxes.zoho.limits import ApiLimits, Limits
from leadsync.sandboxes.zoho.reads import PageTokens
from leadsync.sandboxes.zoho.schema import LEAD_STATUSES, STOCK_LEAD_STATUSES, standard_modules
from leadsync.sandboxes.zoho.store import Org

__all__ = ["ALL_SCOPES", "Credentials", "Faults", "Limits", "ZohoSandbox", "demo_zoho", "main"]

CLIENT_ID = "1000.LS7QK2M9XZ4T8B1VW3N6YH0RDCPJ5A"
SECRET_ENV = "LEADSYNC_DEMO_ZOHO_SECRET"
CLIENT_SECRET = "4f0c2b9e7a1d8c3f6e5b0a9d2c7e4f1a8b3d6c9e0f"


@dataclass
class Credentials:
    """A self client's id and secret, and a refresh token of the integration user (all scopes)."""

    client_id: str
    client_secret: str
    refresh_token: str = ""


class ZohoSandbox(Controls, Serving):
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
        self._seed_args: dict[str, Any] = {"leads": leads, "contacts": contacts, "users": users, "seed": seed}
        self._seed_args.update(now=now, offset=offset, activities=activities, stock_statuses=stock_statuses)
        self._defaults = (replace(limits) if limits else Limits(), faults or Faults())
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
            host=host,
            verbose=verbose,
        )
        self.app.auth.ttl, self.app.auth.mint_limit = lim.token_ttl, lim.token_mints
        self.seed(**self._seed_args)

    # -- lifecycle -----------------------------------------------------------------------------

    def make_server(self) -> ZohoServer:
        return ZohoServer(self.app, self.host, self.port)

    def start(self) -> ZohoSandbox:
        super().start()
        self.app.port = self.port  # the api_domain the token endpoint answers with
        return self

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the API domain (``/crm/v8/...``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def accounts_url(self) -> str:
        """Zoho Accounts (``/oauth/v2/token``): the same server."""
        return self.url

    # -- data ----------------------------------------------------------------------------------

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

    def reset(self, **seed_args: Any) -> None:
        """Re-seed (same arguments unless given), clear stats, faults, limits and credits used."""
        if isinstance(seed_args.get("now"), str):
            seed_args["now"] = datetime.fromisoformat(seed_args["now"])
        self._seed_args.update(seed_args)
        self.seed(**self._seed_args)
        self.app.stats.reset()
        self.app.faults.configure(reset=True, **asdict(self._defaults[1]))
        self.set_limits(**asdict(self._defaults[0]))
        self.app.limits.reset()


@contextlib.contextmanager
def demo_zoho(contacts: int = 300, seed: int = 7) -> Iterator[dict[str, Any]]:
    """A running sandbox for ``leadsync demo`` (entry point ``leadsync.sandboxes: zoho``).

    ``contacts`` is the number of leads. Yields the adapter name, its options (the refresh token as
    ``token``, which the demo moves to the environment; the client
    secret goes into ``LEADSYNC_DEMO_ZOHO_SECRET``) and a line describing the org.
    """
    with ZohoSandbox(port=0, seed=seed, leads=contacts) as sb:
        c = sb.credentials
        os.environ[SECRET_ENV] = c.client_secret  # the adapter reads the secret from the environment
        reps = [u["id"] for u in sb.users() if sb.org.active(u["id"]) and u["id"] != sb.org.api_user]
        yield {
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
            "sandbox": sb,
        }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leadsync.sandboxes.zoho", description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8897, help="0 picks a free port (default 8897)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--leads", type=int, default=300)
    p.add_argument("--contacts", type=int, help="default: half the leads")
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", help="the org's current time, ISO 8601 (default: now)")
    p.add_argument("--offset", default="+05:30", help="the org's UTC offset for datetimes")
    p.add_argument("--no-activities", action="store_true")
    p.add_argument("--stock-statuses", action="store_true", help="only Zoho's stock Lead_Status values")
    p.add_argument("--daily-credits", type=int, default=Limits().daily_credits)
    p.add_argument("--concurrency", type=int, default=Limits().concurrency)
    p.add_argument("--legacy-429", action="store_true", help="the older 429 body shape")
    add_fault_arguments(p)
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p


def main(argv: list[str] | None = None) -> None:
    """Run a sandbox until interrupted, printing its URL and credentials."""
    a = _parser().parse_args(argv)
    faults = faults_from_arguments(a)
    sb = ZohoSandbox(
        a.port,
        seed=a.seed,
        leads=a.leads,
        contacts=a.contacts,
        users=a.users,
        now=datetime.fromisoformat(a.now) if a.now else None,
        offset=a.offset,
        activities=not a.no_activities,
        stock_statuses=a.stock_statuses,
        limits=Limits(daily_credits=a.daily_credits, concurrency=a.concurrency, legacy_429=a.legacy_429),
        faults=faults,
        host=a.host,
        verbose=a.verbose,
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
