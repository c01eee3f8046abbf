"""A small threaded HTTP server for ``/metrics``, ``/livez``, ``/readyz`` and the report (the
standard library's).

GET and HEAD only, on a thread of its own and a thread per request, each request given 10 s:
Prometheus and a kubelet make a request every few seconds, nothing here needs a framework. A
route is a function of the request's headers and query parameters to (status, content type,
body); one that raises answers 500 and is logged. With a ``Guard`` (a token), a protected path
without the token answers 401 and the route is not called. Requests are logged at debug level
(never their ``Authorization`` header), never on standard error as the standard library's server
does by default.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from leadsync.observe.access import CHALLENGES, Guard
from leadsync.observe.address import ListenAddress

__all__ = ["NO_QUERY", "HttpListener", "Query", "Response", "Route"]

log = structlog.get_logger("leadsync.http")

Response = tuple[int, str, bytes]  # status, content type, body
Query = Mapping[str, Sequence[str]]  # each query parameter's values, in the order given
NO_QUERY: Query = {}
# the request's headers (names in lower case) and query → answer
Route = Callable[[Mapping[str, str], Query], Response]
REQUEST_TIMEOUT_S = 10.0
_TEXT = "text/plain; charset=utf-8"
_UNAUTHORIZED = (
    b"unauthorized: send the listener's token (http.token_env or http.token_file in the config) as "
    b"`Authorization: Bearer TOKEN`, or as the password of basic auth\n"
)


class HttpListener:
    """Serves ``routes`` (path → route) on ``address`` from ``start`` until ``stop``."""

    def __init__(
        self, address: ListenAddress, routes: Mapping[str, Route], guard: Guard | None = None
    ) -> None:
        self.address = address
        self.routes = dict(routes)
        self.guard = guard
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ListenAddress:
        """Bind and serve; the address bound (its port, when 0 was asked). Raises ``OSError``."""
        handler = type("Handler", (_Handler,), {"routes": self.routes, "guard": self.guard})
        server_class = _Server6 if self.address.ipv6 else _Server
        self._server = server_class((self.address.host, self.address.port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="leadsync-http", daemon=True)
        self._thread.start()
        return ListenAddress(self.address.host, int(self._server.server_address[1]))

    def stop(self) -> None:
        """Stop serving and close the socket (requests under way finish on their own threads)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request under way never holds the process at exit

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-answer: a debug line, not the standard library's traceback on stderr."""
        log.debug("http_request_failed", client=str(client_address[0]), exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    routes: Mapping[str, Route] = {}
    guard: Guard | None = None
    server_version = "leadsync"
    sys_version = ""  # no Python version in the Server header
    timeout = REQUEST_TIMEOUT_S

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        url = urlsplit(self.path)
        path = url.path
        route = self.routes.get(path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        challenge = False
        if route is None:
            known = ", ".join(sorted(self.routes))
            status, kind, body = 404, _TEXT, f"not found; try {known}\n".encode()
        elif self.guard is not None and not self.guard.allows(path, headers):
            log.debug("http_unauthorized", path=path, client=self.client_address[0])
            status, kind, body, challenge = 401, _TEXT, _UNAUTHORIZED, True
        else:
            try:
                status, kind, body = route(headers, parse_qs(url.query, keep_blank_values=True))
            except Exception:
                log.exception("http_route_failed", path=path)
                status, kind, body = 500, _TEXT, b"internal error; see the log\n"
        self.send_response(status)
        if challenge:
            for scheme in CHALLENGES:
                self.send_header("WWW-Authenticate", scheme)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http_request", client=self.client_address[0], request=format % args)
