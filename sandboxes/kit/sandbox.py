"""What every sandbox's facade shares: serving its app on 127.0.0.1 (HTTPS too with ``tls``),
seeding and re-seeding its data, its back door (``control``), and its command line.

A sandbox keeps the arguments it was seeded with and the limits and faults it started with, so
``reset()`` (and ``POST /__sandbox/reset``) brings back that state: the same data, no faults, the
limits' counters cleared and its stats at zero.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

import requests

from leadsync.sandboxes.kit.control import BackDoor
from leadsync.sandboxes.kit.faults import Faults, add_fault_arguments, faults_from_arguments
from leadsync.sandboxes.kit.pipeline import ApiApp
from leadsync.sandboxes.kit.server import SandboxServer, Serving
from leadsync.sandboxes.kit.tls import self_signed, server_context, trusting_session

__all__ = ["Sandbox", "command_line", "common_options", "finish_command_line"]

App = TypeVar("App", bound=ApiApp[Any])
Limits = TypeVar("Limits")


class Sandbox(BackDoor, Serving, Generic[App, Limits]):
    """A sandbox's facade; its ``__init__`` sets ``app``, ``host``, ``port`` (and ``tls``) and calls
    ``started_with`` before the first ``seed``."""

    app: App
    tls: bool = False
    _seed_args: dict[str, Any]
    _defaults: tuple[Limits, Faults]

    def started_with(self, seed_args: dict[str, Any], limits: Limits, faults: Faults | None) -> None:
        """What ``reset()`` goes back to: these seed arguments, limits and faults."""
        self._seed_args = dict(seed_args)
        self._defaults = (limits, faults or Faults())

    @property
    def seed_number(self) -> int:
        """The seed of the data as last (re)seeded."""
        return int(self._seed_args.get("seed", 1))

    # -- lifecycle -----------------------------------------------------------------------------

    def make_server(self) -> SandboxServer:
        return SandboxServer(self.app, self.host, self.port, server_context() if self.tls else None)

    def start(self) -> Self:
        super().start()
        self.app.port = self.port  # the URL the CRM's token endpoint answers with
        return self

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (with ``tls``, ``https_url`` is the same port)."""
        return f"http://{self.host}:{self.port}"

    @property
    def https_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self) -> str:
        """The sandbox's self-signed certificate (PEM), to trust for ``https_url``."""
        return self_signed().cert

    def session(self) -> requests.Session:
        """A ``requests.Session`` that trusts the sandbox over HTTPS (``Salesforce(session=...)``)."""
        return trusting_session(self.https_url)

    # -- data ----------------------------------------------------------------------------------

    def seed(self, *args: Any, **seed_args: Any) -> None:
        """Replace the data with a freshly generated one (the same for the same arguments)."""
        raise NotImplementedError

    def restore_limits(self, limits: Limits) -> None:
        """Back to these limits, their windows and counters empty."""
        raise NotImplementedError

    def reset(self, **seed_args: Any) -> None:
        """Re-seed (same arguments unless given), clear stats and faults, restore the limits."""
        if isinstance(seed_args.get("now"), str):
            seed_args["now"] = datetime.fromisoformat(seed_args["now"])
        self._seed_args.update(seed_args)
        self.seed(**self._seed_args)
        self.app.stats.reset()
        self.app.faults.configure(reset=True, **asdict(self._defaults[1]))
        self.restore_limits(self._defaults[0])


def command_line(prog: str, doc: str | None, port: int, place: str) -> argparse.ArgumentParser:
    """A sandbox's command line: ``--port``, ``--host``, ``--seed`` and ``--now`` (``place``: "the
    org's" current time); the CRM adds its own options, then ``finish_command_line``."""
    p = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n")[0])
    p.add_argument("--port", type=int, default=port, help=f"0 picks a free port (default {port})")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", help=f"the {place}'s current time, ISO 8601 (default: now)")
    return p


def finish_command_line(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every sandbox takes last: the faults to inject, ``--verbose``."""
    add_fault_arguments(p)
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p


def common_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sandbox's keyword arguments every command line gives: seed, now, faults, host, verbose."""
    now = datetime.fromisoformat(args.now) if args.now else None
    faults = faults_from_arguments(args)
    return {"seed": args.seed, "now": now, "faults": faults, "host": args.host, "verbose": args.verbose}
