"""What the local notification receivers share: an HTTP app on the kit's server that records every
message it takes, injects the kit's faults, and answers the ``/__sandbox`` back door.

Faults (``POST /__sandbox/faults``, the kit's ``Faults``): ``latency_ms`` (a slow service, to make
a client time out), ``drop_next``/``drop_rate`` (the connection closes without an answer),
``storm`` (the next N requests get 429 with ``Retry-After: retry_after``), ``fail_next`` /
``error_rate`` with ``error_statuses`` (5xx). ``GET /__sandbox/received`` lists what was taken,
``POST /__sandbox/reset`` forgets it (and the faults and counts); ``GET|POST /__sandbox/limits``
shows or sets ``retry_after`` and the receiver's own limits.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leadsync.sandboxes.kit.control import BackDoor, control_key, control_reply
from leadsync.sandboxes.kit.faults import FaultInjector
from leadsync.sandboxes.kit.server import Dropped, Request, Response, SandboxServer, Serving
from leadsync.sandboxes.kit.stats import Stats
from leadsync.sandboxes.kit.tls import self_signed, server_context

__all__ = ["Received", "Receiver", "ReceiverApp"]


@dataclass(frozen=True)
class Received:
    """One message a receiver took: where, its headers (lower-cased names), its body."""

    endpoint: str
    headers: Mapping[str, str]
    body: Any  # the JSON, or the text when it was not JSON
    at: float = field(default_factory=time.time)


class _Server(SandboxServer):
    """The kit's server, quiet about clients that left before their answer (a test's time-out)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ssl.SSLError)):
            super().handle_error(request, client_address)


class ReceiverApp:
    """The HTTP side: faults, counts, then the receiver's own ``handle``."""

    verbose = False

    def __init__(
        self,
        name: str,
        receiver: Receiver,
        handle: Callable[[Request], Response],
        endpoint: Callable[[str], str],
    ) -> None:
        self.server_name = name
        self.receiver = receiver
        self.faults = FaultInjector()
        self.stats = Stats()
        self._handle = handle
        self._endpoint = endpoint

    def respond(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/__sandbox/"):
            try:
                status, out = control_reply(self.receiver, control_key(request.method, path), request.body)
            except (TypeError, ValueError, KeyError) as exc:
                status, out = 400, {"error": f"{type(exc).__name__}: {exc}"}
            return Response.json(status, out)
        endpoint = f"{request.method} {self._endpoint(path)}"
        self.stats.count("by_endpoint", endpoint)
        self.stats.count("by_method", request.method)
        response = self._faulted(endpoint) or self._handle(request)
        self.stats.count("by_status", str(response.status))
        return response

    def _faulted(self, endpoint: str) -> Response | None:
        plan = self.faults.plan(endpoint)
        if plan.delay_s > 0:
            self.stats.count("faults", "latency")
            time.sleep(plan.delay_s)
        if plan.action == "drop":
            self.stats.count("faults", "dropped")
            raise Dropped
        if plan.action == "storm":
            self.stats.count("faults", "storm")
            return self.receiver.too_many()
        if plan.action == "error":
            self.stats.count("faults", "5xx")
            return self.receiver.server_error(plan.status)
        return None


class Receiver(BackDoor, Serving):
    """A receiver's facade: serving on 127.0.0.1 (HTTPS too with ``tls``), what it received."""

    app: ReceiverApp
    retry_after: int = 1

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.app = ReceiverApp(name, self, self.handle, self.endpoint_name)
        self._received: list[Received] = []
        self._lock = threading.Lock()

    # -- what each receiver writes ---------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def endpoint_name(self, path: str) -> str:
        """The path as counts name it (secrets and ids templated)."""
        return path

    def too_many(self) -> Response:
        """A 429 with ``Retry-After`` (a storm, or the receiver's own rate limit)."""
        return Response(429, b"rate limited", {"Retry-After": str(self.retry_after)}, "text/plain")

    def server_error(self, status: int) -> Response:
        return Response(status, f"injected {status}".encode(), {}, "text/plain")

    def limits(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}

    # -- recording -------------------------------------------------------------------------------

    def record(self, request: Request, endpoint: str, body: Any) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self._received.append(Received(endpoint, headers, body))

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @staticmethod
    def json_body(request: Request) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(request.body or b"null")
        except ValueError:
            return None

    # -- the back door ----------------------------------------------------------------------------

    def set_limits(self, **changes: Any) -> dict[str, Any]:
        for key, value in changes.items():
            if key not in self.limits():
                raise ValueError(f"unknown limit {key}; known: {sorted(self.limits())}")
            setattr(self, key, type(getattr(self, key))(value))
        return self.limits()

    def reset(self, **_: Any) -> None:
        with self._lock:
            self._received.clear()
        self.app.stats.reset()
        self.app.faults.configure(reset=True)

    def more_controls(self, body: dict[str, Any]) -> Mapping[str, Callable[[], Any]]:
        return {"GET /__sandbox/received": lambda: self.control_result(self.received())}

    # -- serving ---------------------------------------------------------------------------------

    def make_server(self) -> SandboxServer:
        return _Server(self.app, self.host, self.port, server_context() if self.tls else None)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_file(self) -> str:
        """The self-signed certificate (PEM) a client trusts for ``https://``."""
        return self_signed().cert
