"""A local Salesforce org: the REST API subset leadsync's adapter uses, with Salesforce's rules,
error bodies, limits and failures.

Speaks OAuth 2.0 (client credentials, JWT bearer, password) and the legacy SOAP login, SOQL
``query``/``queryAll`` with ``nextRecordsUrl`` paging, describe, one-record CRUD, sObject
Collections, Bulk API 2.0 ingest, Get Deleted/Updated, ``/limits`` and the Tooling API's
CustomField, and enforces what a real org does to a sync daemon: sessions that expire, the daily
API allowance (``Sforce-Limit-Info``), field-level security on new fields, the Lead assignment
rule (unless ``Sforce-Auto-Assign: FALSE``), converted leads, validation rules and row locks, and
keeps field history (``LeadHistory``, ``ContactHistory``) for the fields it tracks.
In memory, one lock; HTTP and HTTPS on one port (simple-salesforce always builds ``https://``)::

    with SalesforceSandbox(seed=7, leads=300) as sb:
        token = requests.post(sb.url + "/services/oauth2/token", data={"grant_type": "client_credentials",
            "client_id": sb.credentials.client_id, "client_secret": sb.credentials.client_secret}).json()
        sf = Salesforce(instance_url=sb.url, session_id=token["access_token"], version="65.0",
                        session=sb.session())

Command line: ``python -m leadsync.sandboxes.salesforce --port 8898 --leads 300``. Module map:
``http`` (the app, its pipeline, ``Call``), ``routing``, ``login`` / ``rest`` / ``cursors`` /
``collections`` / ``bulk`` / ``tooling`` (endpoints), ``auth``, ``limits``, ``locators`` (open
queries), ``jobs`` (Bulk jobs), ``soql`` + ``evaluate`` + ``query`` + ``subquery`` (SOQL), ``store``
+ ``writes`` + ``values`` + ``security`` + ``history`` (the org and its rules), ``model`` +
``model_setup`` + ``schema`` (objects and describe), ``data`` (seeding), ``past`` (the demo's months
of history, after setup), ``backdoor`` (conversion, manual edits), ``control`` (the back door's
Python API, shared with ``/__sandbox``); what all three sandboxes share is
``leadsync.sandboxes.kit``'s.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

from leadsync.sandboxes.kit.clock import SandboxClock
from leadsync.sandboxes.kit.demo import Demo, demo_entry_point
from leadsync.sandboxes.kit.faults import FaultInjector, Faults
from leadsync.sandboxes.kit.routing import Routes
from leadsync.sandboxes.kit.sandbox import command_line, common_options, finish_command_line
from leadsync.sandboxes.kit.stats import Stats
from leadsync.sandboxes.salesforce import bulk, collections, cursors, login, rest, tooling
from leadsync.sandboxes.salesforce.auth import Auth, Credentials
from leadsync.sandboxes.salesforce.control import Controls
from leadsync.sandboxes.salesforce.data import CALL_DISPOSITIONS, seed_org
from leadsync.sandboxes.salesforce.http import BUCKETS, Call, SalesforceApp
from leadsync.sandboxes.salesforce.jobs import BulkJobs
from leadsync.sandboxes.salesforce.limits import ApiLimits, Limits
from leadsync.sandboxes.salesforce.locators import Cursors
from leadsync.sandboxes.salesforce.model import LEAD_STATUSES, STOCK_LEAD_STATUSES, standard_schema
from leadsync.sandboxes.salesforce.past import write_past
from leadsync.sandboxes.salesforce.store import Org

__all__ = ["CALL_DISPOSITIONS", "Credentials", "Faults", "Limits", "SalesforceSandbox", "demo_org", "main"]

CLIENT_ID = "3MVG9SandboxLeadsyncConnectedApp.k2XqvR0pZu1wM7cYh4TnE8bLdA6sJ3fGi9oVxW5eQyKrUzHmN"
CLIENT_SECRET = "5F1A0C7E3B9D24E6A8C0F2B4D6E8A0C2E4F6A8B0C2D4E6F8A0B2C4D6E8F0A2B4"
ROUTES: Routes[Call] = Routes(
    [*login.ROUTES, *rest.ROUTES, *cursors.ROUTES, *collections.ROUTES, *bulk.ROUTES, *tooling.ROUTES]
)


class SalesforceSandbox(Controls):
    """A running (after ``start()`` or ``with``) local Salesforce org on 127.0.0.1."""

    def __init__(
        self,
        port: int = 0,
        *,
        seed: int = 1,
        leads: int = 300,
        users: int = 8,
        now: datetime | None = None,
        activities: bool = True,
        stock_statuses: bool = False,
        fls: bool = True,
        limits: Limits | None = None,
        faults: Faults | None = None,
        bulk_delay: float = 0.2,
        tls: bool = True,
        host: str = "127.0.0.1",
        verbose: bool = False,
    ) -> None:
        self.clock = SandboxClock(now)
        self.host, self.port, self.tls = host, port, tls
        seed_args = {"leads": leads, "users": users, "seed": seed, "now": now, "activities": activities}
        seed_args.update(stock_statuses=stock_statuses, fls=fls)
        self.started_with(seed_args, replace(limits) if limits else Limits(), faults)
        self.credentials = Credentials(CLIENT_ID, CLIENT_SECRET, "", "", "")
        org = Org(self.clock, standard_schema(LEAD_STATUSES))
        self.app = SalesforceApp(
            org=org,
            auth=Auth(org, self.credentials, self.clock),
            limits=ApiLimits(replace(self._defaults[0]), self.clock),
            faults=FaultInjector(self._defaults[1]),
            stats=Stats(BUCKETS),
            cursors=Cursors(),
            jobs=BulkJobs(org, bulk_delay),
            backdoor=self,
            routes=ROUTES,
            host=host,
            verbose=verbose,
        )
        self.seed(**self._seed_args)

    @property
    def org(self) -> Org:
        return self.app.org

    def seed(
        self,
        leads: int = 300,
        users: int = 8,
        seed: int = 1,
        now: datetime | None = None,
        activities: bool = True,
        stock_statuses: bool = False,
        fls: bool = True,
    ) -> None:
        """Replace the org's data with a freshly generated one (deterministic for a seed)."""
        statuses = STOCK_LEAD_STATUSES if stock_statuses else LEAD_STATUSES
        org = Org(self.clock, standard_schema(statuses), fls=fls)
        auth = self.app.auth
        auth.org, auth.passwords = org, {}
        seed_org(
            org, auth, leads=leads, users=users, seed=seed, now=now, activities=activities, statuses=statuses
        )
        user = org.get("User", org.api_user) or {}
        password, token = auth.passwords[str(user["Username"]).lower()]
        self.credentials.username, self.credentials.password = user["Username"], password
        self.credentials.security_token = token
        self.app.org = org
        self.app.jobs = BulkJobs(org, self.app.jobs.delay)
        self.app.cursors.clear()


def _planned(contacts: int) -> int:
    """How many of the demo's leads come with months of history (``past``); the rest are seeded."""
    return contacts * 3 // 4


def _demo(sb: SalesforceSandbox, contacts: int) -> Demo:
    reps = sb.org.rows("User")
    owners = [u["Id"] for u in reps if u["IsActive"] and u["Id"] not in (sb.org.api_user, sb.org.admin_user)]
    return {
        "adapter": "salesforce",
        "options": {
            "login_url": sb.url,
            "auth": "client_credentials",
            "client_id": sb.credentials.client_id,
            "token": sb.credentials.client_secret,
            "ca_file": sb.ca_file,  # simple-salesforce calls https://: trust the sandbox's certificate
        },
        "describe": f"a local Salesforce sandbox at {sb.url} ({contacts} leads, {len(sb.users())} users)",
        "owners": owners,
        # Salesforce knows campaign responses (forms, webinars, downloads), not page views.
        "playbook": "qualification-matrix.yaml",
        "history": lambda: write_past(
            sb.org, random.Random(sb.seed_number), _planned(contacts), sb.org.now()
        ),
    }


# ``leadsync demo --crm salesforce`` (entry point ``leadsync.sandboxes: salesforce``); ``contacts``
# is the number of leads.
demo_org = demo_entry_point(
    lambda contacts, seed: SalesforceSandbox(seed=seed, leads=contacts - _planned(contacts)), _demo
)


def main(argv: list[str] | None = None) -> None:
    """Run a sandbox until interrupted, printing its URL and credentials."""
    p = command_line("python -m leadsync.sandboxes.salesforce", __doc__, 8898, "org")
    p.add_argument("--leads", type=int, default=300)
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--no-activities", action="store_true")
    p.add_argument("--stock-statuses", action="store_true", help="only Salesforce's four stock lead statuses")
    p.add_argument(
        "--no-fls", action="store_true", help="new custom fields are visible without permission sets"
    )
    p.add_argument("--daily-api-requests", type=int, default=Limits().daily_api_requests)
    p.add_argument("--bulk-delay", type=float, default=0.2)
    a = finish_command_line(p).parse_args(argv)
    sb = SalesforceSandbox(
        a.port,
        leads=a.leads,
        users=a.users,
        activities=not a.no_activities,
        stock_statuses=a.stock_statuses,
        fls=not a.no_fls,
        limits=Limits(daily_api_requests=a.daily_api_requests),
        bulk_delay=a.bulk_delay,
        **common_options(a),
    ).start()
    c = sb.credentials
    print(f"Salesforce sandbox listening on {sb.url} (and {sb.https_url}, CA file {sb.ca_file})", flush=True)
    print(f"client_id (consumer key): {c.client_id}")
    print(f"client_secret:            {c.client_secret}")
    print(f"username: {c.username}  password: {c.password}  security token: {c.security_token}")
    print(f"leads: {len(sb.records('Lead'))}, users: {len(sb.users())}, seed: {a.seed}")
    print(
        f"token: curl -s {sb.url}/services/oauth2/token -d grant_type=client_credentials "
        f"-d client_id={c.client_id} -d client_secret={c.client_secret}",
        flush=True,
    )
    sb.serve_until_interrupted()


if __name__ == "__main__":
    main()
