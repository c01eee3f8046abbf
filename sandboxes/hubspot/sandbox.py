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
``http`` (routes, pipeline, ``/__sandbox`` controls), ``limits`` (auth, rate
limits, faults, stats), ``store`` (records and write rules), ``search`` (search
query language), ``schema`` (properties), ``data`` (seeding).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leadsync.sandboxes.hubspot.common import JSON, Record
from leadsync.sandboxes.hubspot.data import CALL_DISPOSITIONS, seed_portal
from leadsync.sandboxes.hubspot.http import SandboxApp, SandboxServer
from leadsync.sandboxes.hubspot.limits import FaultInjector, Faults, RateLimiter, RateLimits, Stats, Tokens
from leadsync.sandboxes.hubspot.store import REJECT_FLAG, Store
from leadsync.sandboxes.kit.faults import add_fault_arguments, faults_from_arguments
from leadsync.sandboxes.kit.server import Serving

__all__ = ["CALL_DISPOSITIONS", "Faults", "HubSpotSandbox", "RateLimits", "Record", "main"]


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


class HubSpotSandbox(Serving):
    """A running (after ``start()`` or ``with``) local HubSpot portal on 127.0.0.1."""

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
        limits: RateLimits | None = None,
        faults: Faults | None = None,
        clock: Callable[[], datetime] | None = None,
        host: str = "127.0.0.1",
        verbose: bool = False,
    ) -> None:
        start = (now or datetime.now(UTC)).astimezone(UTC)
        t0 = time.monotonic()
        # The portal's clock starts at `now` and runs in real time, so writes land after seeded data.
        self.clock = clock or (lambda: start + timedelta(seconds=time.monotonic() - t0))
        self.token, self.host, self.port = token, host, port
        self._seed_args: JSON = {"contacts": contacts, "owners": owners, "seed": seed, "now": now}
        self._seed_args["engagements"] = engagements
        self._defaults = (replace(limits) if limits else RateLimits(), faults or Faults())
        tokens = Tokens()
        tokens.add(token, scopes, app_id="3100001")
        store = Store(self.clock)
        self.app = SandboxApp(
            store=store,
            tokens=tokens,
            limiter=RateLimiter(replace(self._defaults[0]), store.portal_id),
            faults=FaultInjector(self._defaults[1]),
            stats=Stats(),
            on_reset=lambda body: self.reset(**body),
            verbose=verbose,
        )
        self.seed(**self._seed_args)

    # -- lifecycle -----------------------------------------------------------------------------

    def make_server(self) -> SandboxServer:
        return SandboxServer(self.app, self.host, self.port)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: pass as ``HubSpot(host=...)``."""
        return f"http://{self.host}:{self.port}"

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
    ) -> None:
        """Replace the portal's data with a freshly generated one (deterministic for a seed)."""
        store = Store(self.clock, self.store.portal_id)
        seed_portal(store, contacts=contacts, owners=owners, seed=seed, now=now, engagements=engagements)
        self.app.store = store

    def reset(self, **seed_args: Any) -> None:
        """Re-seed (same arguments unless given), clear stats, faults, rate windows and limits."""
        if isinstance(seed_args.get("now"), str):
            seed_args["now"] = datetime.fromisoformat(seed_args["now"])
        self._seed_args.update(seed_args)
        self.seed(**self._seed_args)
        self.app.stats.reset()
        self.app.faults.configure(reset=True, **asdict(self._defaults[1]))
        self.app.limiter.limits = replace(self._defaults[0])
        self.app.limiter.reset()

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

    # -- tokens, faults, limits, stats ---------------------------------------------------------

    def add_token(self, token: str, scopes: list[str] | None = None) -> None:
        """Another private-app token; ``scopes=None`` grants every scope."""
        self.app.tokens.add(token, scopes)

    def expire_token(self, token: str) -> None:
        info = self.app.tokens.get(token)
        if info is not None:
            info.expired = True

    def set_faults(self, reset: bool = False, **changes: Any) -> Faults:
        """Change fault settings (see ``Faults``) while running; ``reset=True`` starts from none."""
        return self.app.faults.configure(reset=reset, **changes)

    def clear_faults(self) -> Faults:
        return self.app.faults.configure(reset=True)

    def set_limits(self, **changes: Any) -> RateLimits:
        """Change rate limits (see ``RateLimits``) while running; windows keep their history."""
        known = {f.name for f in fields(RateLimits)}
        if set(changes) - known:
            raise ValueError(f"unknown limits {sorted(set(changes) - known)}; known: {sorted(known)}")
        for name, value in changes.items():
            setattr(self.app.limiter.limits, name, value)
        return replace(self.app.limiter.limits)

    def stats(self) -> JSON:
        """Request counts by endpoint (``"POST /crm/v3/objects/contacts/search"``), method, status."""
        return self.app.stats.snapshot()

    def reset_stats(self) -> None:
        self.app.stats.reset()


@contextlib.contextmanager
def demo_portal(contacts: int = 300, seed: int = 7) -> Iterator[dict[str, Any]]:
    """A running sandbox for ``leadsync demo`` (entry point ``leadsync.sandboxes: hubspot``).

    Yields the adapter name, its options and a line describing the portal.
    """
    with HubSpotSandbox(port=0, seed=seed, contacts=contacts, owners=6) as sb:
        yield {
            "adapter": "hubspot",
            "options": {"base_url": sb.url, "token": sb.token, "account_timezone": "Europe/Madrid"},
            "describe": f"a local HubSpot sandbox at {sb.url} ({contacts} contacts, 6 owners)",
            "owners": [str(o["id"]) for o in sb.owners if not o.get("archived")],
            "sandbox": sb,
        }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m leadsync.sandboxes.hubspot", description=__doc__.split("\n")[0]
    )
    p.add_argument("--port", type=int, default=8899, help="0 picks a free port (default 8899)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--token", default="pat-sandbox")
    p.add_argument("--scopes", help="comma-separated scopes for the token (default: all)")
    p.add_argument("--contacts", type=int, default=300)
    p.add_argument("--owners", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", help="the portal's current time, ISO 8601 (default: now)")
    p.add_argument("--no-engagements", action="store_true")
    for name, default in asdict(RateLimits()).items():
        if not isinstance(default, bool):
            p.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    add_fault_arguments(p)
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p


def main(argv: list[str] | None = None) -> None:
    """Run a sandbox until interrupted, printing its URL and token."""
    a = _parser().parse_args(argv)
    limits = RateLimits(**{k: getattr(a, k) for k in asdict(RateLimits()) if hasattr(a, k)})
    faults = faults_from_arguments(a)
    sb = HubSpotSandbox(
        a.port,
        a.token,
        a.scopes.split(",") if a.scopes else None,
        seed=a.seed,
        contacts=a.contacts,
        owners=a.owners,
        now=datetime.fromisoformat(a.now) if a.now else None,
        engagements=not a.no_engagements,
        limits=limits,
        faults=faults,
        host=a.host,
        verbose=a.verbose,
    ).start()
    print(f"HubSpot sandbox listening on {sb.url}", flush=True)
    print(f"token: {sb.token}")
    print(f"contacts: {len(sb.contacts)}, owners: {len(sb.owners)}, seed: {a.seed}")
    print(f'use: HubSpot(access_token="{sb.token}", host="{sb.url}")', flush=True)
    sb.serve_until_interrupted()


if __name__ == "__main__":
    main()
