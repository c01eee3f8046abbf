"""A local HubSpot: the API subset leadsync's adapter uses, with HubSpot's rules, limits and failures.

Speaks what ``hubspot-api-client`` 12 sends (v3 objects, search, batch read/update, owners, v4
association batch reads, properties and groups) with HubSpot's JSON shapes, and enforces what a
real portal does to a sync daemon: bearer tokens and scopes, the 10-second / search-per-second /
daily rate limits, batch and page sizes, the 10,000-result search window, forward-only lifecycle
stages, property validation. Faults (latency, 5xx, 429 storms, dropped connections) can be
switched on at start or while running. In memory, one lock, stdlib only::

    with HubSpotSandbox(port=0, token="pat-sandbox", seed=7, contacts=300) as sb:
        client = HubSpot(access_token=sb.token, host=sb.url)
        sb.set_faults(error_rate=0.1, seed=3)
        sb.stats()["by_endpoint"]

Command line: ``python -m leadsync.sandboxes.hubspot --port 8899 --contacts 300``. Module map:
``http`` (routes, the app, its pipeline), ``limits`` (tokens and scopes, rate limits), ``objects``
(the object endpoints), ``store`` (records and write rules), ``links`` (owners, associations),
``search`` + ``index`` (search query language), ``schema`` (properties), ``data`` (seeding),
``past`` (with ``history``: the demo's months of handoffs and outcomes), ``sandbox`` (the back door,
shared with ``/__sandbox``); what all three sandboxes share is ``leadsync.sandboxes.kit``'s.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, fields, replace
from datetime import datetime
from typing import Any

from leadsync.sandboxes.hubspot.common import JSON, Record
from leadsync.sandboxes.hubspot.data import CALL_DISPOSITIONS, seed_portal
from leadsync.sandboxes.hubspot.http import ROUTES, HubSpotApp
from leadsync.sandboxes.hubspot.limits import RateLimiter, RateLimits, Tokens
from leadsync.sandboxes.hubspot.past import seed_past
from leadsync.sandboxes.hubspot.store import REJECT_FLAG, Store
from leadsync.sandboxes.kit.clock import SandboxClock
from leadsync.sandboxes.kit.demo import Demo, demo_entry_point
from leadsync.sandboxes.kit.faults import FaultInjector, Faults
from leadsync.sandboxes.kit.routing import Routes
from leadsync.sandboxes.kit.sandbox import Sandbox, command_line, common_options, finish_command_line
from leadsync.sandboxes.kit.stats import Stats

__all__ = ["CALL_DISPOSITIONS", "Faults", "HubSpotSandbox", "RateLimits", "Record", "demo_portal", "main"]


class _Records(Mapping[str, Record]):
    """Records of one type by id; ``"1001"`` and ``1001`` both work."""

    def __init__(self, table: dict[int, Record]) -> None:
        self._table = table

    def __getitem__(self, key: object) -> Record:
        return self._table[int(str(key))]

    def __iter__(self) -> Iterator[str]:
        return (str(k) for k in list(self._table))

    def __len__(self) -> int:
        return len(self._table)


class HubSpotSandbox(Sandbox[HubSpotApp, RateLimits]):
    """A running (after ``start()`` or ``with``) local HubSpot portal on 127.0.0.1."""

    CONTROLS = frozenset(
        {"set_property", "index_later", "reject_writes", "add_token", "expire_token", "clear_faults"}
    )

    def __init__(
        self,
        port: int = 0,
        token: str = "pat-sandbox",
        scopes: list[str] | None = None,
        *,
        seed: int = 1,
        contacts: int = 300,
        owners: int = 8,
        now: datetime | None = None,
        engagements: bool = True,
        history: bool = False,
        limits: RateLimits | None = None,
        faults: Faults | None = None,
        clock: Callable[[], datetime] | None = None,
        host: str = "127.0.0.1",
        verbose: bool = False,
    ) -> None:
        # The portal's clock starts at `now` and runs in real time, so writes land after seeded data.
        self.clock = clock or SandboxClock(now)
        self.token, self.host, self.port = token, host, port
        seed_args = {
            "contacts": contacts,
            "owners": owners,
            "seed": seed,
            "now": now,
            "engagements": engagements,
            "history": history,
        }
        self.started_with(
            {**seed_args, "engagements": engagements}, replace(limits) if limits else RateLimits(), faults
        )
        tokens = Tokens()
        tokens.add(token, scopes, app_id="3100001")
        store = Store(self.clock)
        self.app = HubSpotApp(
            store=store,
            tokens=tokens,
            limiter=RateLimiter(replace(self._defaults[0]), store.portal_id),
            faults=FaultInjector(self._defaults[1]),
            stats=Stats(),
            backdoor=self,
            routes=Routes(ROUTES),
            host=host,
            verbose=verbose,
        )
        self.seed(**self._seed_args)

    # -- data ----------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def contacts(self) -> _Records:
        return _Records(self.store.records["contacts"])

    def objects(self, otype: str) -> _Records:
        """Records of ``calls``, ``emails``, ``meetings``, ``notes`` or ``tasks`` (or ``contacts``)."""
        return _Records(self.store.records[otype])

    @property
    def owners(self) -> list[JSON]:
        return [dict(o) for o in self.store.owners.values()]

    def seed(
        self,
        contacts: int = 300,
        owners: int = 8,
        seed: int = 1,
        now: datetime | None = None,
        engagements: bool = True,
        history: bool = False,
    ) -> None:
        """Replace the portal's data with a freshly generated one (deterministic for a seed and
        ``now``). ``history``: three quarters of the contacts come with the months of handoffs,
        touches and outcomes ``leadsync demo``'s report shows (``past``)."""
        store = Store(self.clock, self.store.portal_id)
        planned = contacts * 3 // 4 if history else 0
        seed_portal(
            store, contacts=contacts - planned, owners=owners, seed=seed, now=now, engagements=engagements
        )
        if planned:
            active = [oid for oid, o in store.owners.items() if not o.get("archived")]
            emails = {r.properties.get("email", "") for r in store.records["contacts"].values()}
            seed_past(store, random.Random(seed), planned, now or self.clock(), active, emails)
        self.app.store = store

    def set_property(
        self,
        contact_id: str | int,
        name: str,
        value: str,
        source_type: str = "CRM_UI",
        source_id: str = "userId:9100001",
    ) -> None:
        """Change a contact as someone in HubSpot would (history ``CRM_UI``), bypassing the API's rules."""
        store = self.store
        with store.lock:
            values = store.schema.normalise("contacts", {name: value}, allow_read_only=True)
            rec = self.contacts[str(contact_id)]
            if name == "lifecyclestage":  # a person may move a stage back in the UI
                rec.properties.pop(name, None)
                store.touched(rec, name)
            store.set_values(rec, values, store.now_ms(), source_type, source_id)

    def index_later(self, *contact_ids: str | int, later: bool = True) -> None:
        """Leave these contacts out of search until called again with ``later=False``: HubSpot's
        search index lags its writes ("it may take a few moments" to appear)."""
        with self.store.lock:
            ids = self.store.unindexed.setdefault("contacts", set())
            for cid in contact_ids:
                (ids.add if later else ids.discard)(int(cid))

    def reject_writes(self, *contact_ids: str | int, reject: bool = True) -> None:
        """Make API writes to these contacts fail per record (207 in a batch, 400 alone)."""
        with self.store.lock:
            for cid in contact_ids:
                rec = self.contacts[str(cid)]
                rec.properties[REJECT_FLAG] = "true" if reject else "false"
                self.store.touched(rec, REJECT_FLAG)

    # -- tokens, limits --------------------------------------------------------------------------

    def add_token(self, token: str, scopes: list[str] | None = None) -> None:
        """Another private-app token; ``scopes=None`` grants every scope."""
        self.app.tokens.add(token, scopes)

    def expire_token(self, token: str) -> None:
        info = self.app.tokens.get(token)
        if info is not None:
            info.expired = True

    def set_limits(self, **changes: Any) -> RateLimits:
        """Change rate limits (see ``RateLimits``) while running; windows keep their history. Values
        are taken as the limit's type (``"true"`` for a flag, ``"5"`` for a number)."""
        limits = self.app.limiter.limits
        known = {f.name for f in fields(RateLimits)}
        if set(changes) - known:
            raise ValueError(f"unknown limits {sorted(set(changes) - known)}; known: {sorted(known)}")
        for name, value in changes.items():
            current = getattr(limits, name)
            if isinstance(current, bool):
                value = value if isinstance(value, bool) else str(value).lower() == "true"
            setattr(limits, name, type(current)(value))
        return replace(limits)

    def restore_limits(self, limits: RateLimits) -> None:
        self.app.limiter.limits = replace(limits)
        self.app.limiter.reset()

    def more_controls(self, body: JSON) -> Mapping[str, Callable[[], Any]]:
        return {"POST /__sandbox/tokens": lambda: self._token_over_http(body)}

    def _token_over_http(self, body: JSON) -> JSON:
        """``POST /__sandbox/tokens {"token", "scopes", "expired"}``: add (or replace) a token."""
        if not isinstance(body.get("token"), str):
            raise ValueError('POST /__sandbox/tokens takes {"token": "...", "scopes": [...]}')
        info = self.app.tokens.add(body["token"], body.get("scopes"))
        info.expired = bool(body.get("expired", False))
        return {"token": info.token, "scopes": None if info.scopes is None else sorted(info.scopes)}


def _demo(sb: HubSpotSandbox, contacts: int) -> Demo:
    return {
        "adapter": "hubspot",
        "options": {"base_url": sb.url, "token": sb.token, "account_timezone": "Europe/Madrid"},
        "describe": f"a local HubSpot sandbox at {sb.url} ({contacts} contacts, 6 owners)",
        "owners": [str(o["id"]) for o in sb.owners if not o.get("archived")],
    }


# ``leadsync demo`` (entry point ``leadsync.sandboxes: hubspot``).
demo_portal = demo_entry_point(
    lambda contacts, seed: HubSpotSandbox(seed=seed, contacts=contacts, owners=6, history=True), _demo
)


def main(argv: list[str] | None = None) -> None:
    """Run a sandbox until interrupted, printing its URL and token."""
    p = command_line("python -m leadsync.sandboxes.hubspot", __doc__, 8899, "portal")
    p.add_argument("--token", default="pat-sandbox")
    p.add_argument("--scopes", help="comma-separated scopes for the token (default: all)")
    p.add_argument("--contacts", type=int, default=300)
    p.add_argument("--owners", type=int, default=8)
    p.add_argument("--no-engagements", action="store_true")
    p.add_argument("--history", action="store_true", help="months of handoffs, touches and outcomes")
    for name, default in asdict(RateLimits()).items():
        if not isinstance(default, bool):
            p.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    a = finish_command_line(p).parse_args(argv)
    limits = RateLimits(**{k: getattr(a, k) for k in asdict(RateLimits()) if hasattr(a, k)})
    sb = HubSpotSandbox(
        a.port,
        a.token,
        a.scopes.split(",") if a.scopes else None,
        contacts=a.contacts,
        owners=a.owners,
        engagements=not a.no_engagements,
        history=a.history,
        limits=limits,
        **common_options(a),
    ).start()
    print(f"HubSpot sandbox listening on {sb.url}", flush=True)
    print(f"token: {sb.token}")
    print(f"contacts: {len(sb.contacts)}, owners: {len(sb.owners)}, seed: {a.seed}")
    print(f'use: HubSpot(access_token="{sb.token}", host="{sb.url}")', flush=True)
    sb.serve_until_interrupted()


if __name__ == "__main__":
    main()
