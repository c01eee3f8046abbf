"""The HTTP plumbing every sandbox shares: a threaded server on 127.0.0.1 that hands each request
to an app and writes back what it answers.

An app is anything with ``verbose``, ``server_name`` and ``respond(Request) -> Response``; raising
``Dropped`` closes the connection without an answer (a fault). With ``tls`` the same port also
speaks HTTPS: the first byte of a connection tells a TLS handshake (0x16) from plain HTTP, so
clients that insist on ``https://`` (simple-salesforce builds every URL that way) and plain
``http://`` clients share one sandbox.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self
from urllib.parse import parse_qs, urlsplit

__all__ = ["App", "Dropped", "Request", "Response", "SandboxServer", "Serving"]

JSON_TYPE = "application/json;charset=utf-8"


@dataclass
class Request:
    """One HTTP request as the app sees it."""

    method: str
    target: str  # the raw request target: path and query string
    headers: Message
    body: bytes = b""
    secure: bool = False

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


@dataclass
class Response:
    """What to send back; ``content_type=None`` sends no Content-Type (a 204)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = JSON_TYPE

    @classmethod
    def json(
        cls, status: int, body: Any, headers: Mapping[str, str] | None = None, content_type: str = JSON_TYPE
    ) -> Response:
        return cls(status, json.dumps(body).encode(), dict(headers or {}), content_type)


class Dropped(Exception):
    """Close the connection without an answer."""


class App(Protocol):
    verbose: bool

    @property
    def server_name(self) -> str: ...

    def respond(self, request: Request) -> Response: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end eventually
    server: SandboxServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def version_string(self) -> str:
        return f"{self.server.app.server_name} {self.sys_version}"

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: the app's own clock when it has one (``http_now``), as the CRM's
        servers answer with theirs; clients may read the server's time from it."""
        now = getattr(self.server.app, "http_now", None)
        if timestamp is None and callable(now):
            return email.utils.format_datetime(now().astimezone(UTC), usegmt=True)
        return super().date_time_string(timestamp)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = Request(
            self.command, self.path, self.headers, raw, isinstance(self.connection, ssl.SSLSocket)
        )
        try:
            response = self.server.app.respond(request)
        except Dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception as exc:  # the app's own net failed: still answer
            response = Response(500, f"sandbox error: {exc!r}".encode(), {}, "text/plain")
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server that answers from an ``App``; HTTPS too when given a TLS context.

    Nagle's algorithm is off on every connection. An answer goes out in two writes (the headers,
    then the body); with Nagle on, the body waits for the client to acknowledge the headers, and
    the client delays that acknowledgement by up to 40 ms: every request took about 45 ms on
    loopback instead of 3. The CRMs themselves do not make their clients wait that way.
    """

    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up shutdown

    def __init__(
        self, app: App, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.app = app
        self.tls = tls
        super().__init__((host, port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            return super().finish_request(request, client_address)
        try:
            request.settimeout(_Handler.timeout)
            first = request.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first != b"\x16":  # not a TLS ClientHello: plain HTTP
            return super().finish_request(request, client_address)
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # a client that refused the certificate, or went away
        try:
            super().finish_request(secure, client_address)
        finally:
            with contextlib.suppress(OSError):
                secure.close()


class Serving:
    """``start()``/``stop()``/``with`` for a sandbox that serves on a thread of its own.

    The sandbox sets ``host`` and ``port`` (0: a free one) and builds its server in
    ``make_server``; ``start`` learns the port the server got.
    """

    host: str
    port: int
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is None:
            self._server = self.make_server()
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_until_interrupted(self) -> None:
        """Block until Ctrl-C (a sandbox run from its command line), then stop."""
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
