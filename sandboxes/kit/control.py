"""A sandbox's back door: what tests and benchmarks do to it besides calling the API, in Python and
over HTTP as ``/__sandbox/*`` (no token, not counted, never faulted).

Every sandbox answers ``GET /__sandbox/stats``, ``POST /__sandbox/stats/reset``,
``GET|POST /__sandbox/faults``, ``GET|POST /__sandbox/limits`` and ``POST /__sandbox/reset``; one
with credentials ``GET /__sandbox/credentials``, one with ``records_json`` ``GET
/__sandbox/records/{type}``; and ``POST /__sandbox/{method}`` calls any of its ``CONTROLS`` with the
JSON body as arguments (positional ones as ``"args": [...]``). A sandbox adds its own endpoints in
``more_controls``. Bad arguments are a 400 ``{"error"}``, an unknown endpoint a 404 that lists the
methods.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any, Protocol

from leadsync.sandboxes.kit.faults import FaultInjector, Faults
from leadsync.sandboxes.kit.stats import Stats

__all__ = ["BackDoor", "control_key", "control_reply"]

JSON = dict[str, Any]


class _App(Protocol):
    faults: FaultInjector
    stats: Stats


def control_key(method: str, path: str) -> str:
    """``"POST /__sandbox/stats/reset"``: the method and the path without a trailing slash."""
    return f"{method} {path.rstrip('/')}"


def control_reply(backdoor: BackDoor, key: str, raw: bytes) -> tuple[int, Any]:
    """The back door's answer to one ``/__sandbox`` request (a body that is not a JSON object: no
    arguments); ValueError for a body that is not JSON."""
    body = json.loads(raw) if raw.strip() else {}
    return backdoor.control(key, body if isinstance(body, dict) else {})


class BackDoor:
    """Mixed into each sandbox: faults, stats and the ``/__sandbox`` table."""

    CONTROLS: frozenset[str] = frozenset()  # the methods POST /__sandbox/{method} may call
    app: _App
    credentials: Any = None  # a dataclass, shown by GET /__sandbox/credentials

    # -- faults and stats --------------------------------------------------------------------

    def set_faults(self, reset: bool = False, **changes: Any) -> Faults:
        """Change fault settings (see ``Faults``) while running; ``reset=True`` starts from none."""
        return self.app.faults.configure(reset=reset, **changes)

    def clear_faults(self) -> Faults:
        return self.app.faults.configure(reset=True)

    def stats(self) -> JSON:
        """Requests by endpoint, method and status; faults; refusals (and what the CRM adds)."""
        return {**self.app.stats.snapshot(), **self.more_stats()}

    def more_stats(self) -> JSON:
        return {}

    def reset_stats(self) -> None:
        self.app.stats.reset()

    # -- what each sandbox has its own way ----------------------------------------------------

    def set_limits(self, **changes: Any) -> Any:
        """Change the CRM's limits while running; returns them."""
        raise NotImplementedError

    def reset(self, **seed_args: Any) -> None:
        raise NotImplementedError

    def json_value(self, value: Any) -> Any:
        """A value a control method returned, as JSON (the CRM's datetime format)."""
        return value.isoformat() if isinstance(value, datetime) else value

    def more_controls(self, body: JSON) -> Mapping[str, Callable[[], Any]]:
        """Endpoints only this sandbox has: ``"GET /__sandbox/writes"`` → what it answers."""
        return {}

    # -- over HTTP ---------------------------------------------------------------------------

    def control_result(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: self.control_result(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.control_result(v) for v in value]
        if is_dataclass(value) and not isinstance(value, type):
            return asdict(value)
        return self.json_value(value)

    def _reset_stats(self) -> JSON:
        self.reset_stats()
        return self.stats()

    def _reset(self, body: JSON) -> JSON:
        self.reset(**body)
        return {"status": "reset"}

    def control(self, key: str, body: JSON) -> tuple[int, Any]:
        """``key`` is ``"METHOD /__sandbox/..."``; the status and JSON of the answer."""
        simple: dict[str, Callable[[], Any]] = {
            "GET /__sandbox/stats": self.stats,
            "POST /__sandbox/stats/reset": self._reset_stats,
            "GET /__sandbox/faults": lambda: asdict(self.app.faults.faults),
            "POST /__sandbox/faults": lambda: asdict(self.set_faults(**body)),
            "GET /__sandbox/limits": lambda: self.control_result(self.set_limits()),
            "POST /__sandbox/limits": lambda: self.control_result(self.set_limits(**body)),
            "POST /__sandbox/reset": lambda: self._reset(body),
            **self.more_controls(body),
        }
        if self.credentials is not None:
            simple["GET /__sandbox/credentials"] = lambda: asdict(self.credentials)
        if key in simple:
            return 200, simple[key]()
        method, _, rest = key.partition(" /__sandbox/")
        records_json = getattr(self, "records_json", None)
        if method == "GET" and rest.startswith("records/") and records_json is not None:
            return 200, records_json(rest.split("/", 1)[1])
        if method == "POST" and rest in self.CONTROLS:
            args = body.pop("args", [])
            return 200, {"result": self.control_result(getattr(self, rest)(*args, **body))}
        return 404, {"error": f"No sandbox control endpoint {key}", "methods": sorted(self.CONTROLS)}
