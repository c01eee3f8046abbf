"""A generic webhook receiver on 127.0.0.1 that verifies leadsync's HMAC-SHA256 signature with a
timestamp (``leadsync.notify.signing``): ``POST /hooks/{name}``.

200 ``{"ok": true}`` for a good signature; 401 ``{"error": why}`` for a missing, stale or wrong
one (the message is not recorded); 400 for a body that is not JSON; 404 for an unknown hook.
``received()`` holds what was taken, headers included (``idempotency-key`` among them), so a test
can count duplicates.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from leadsync.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.notify.receiver import Receiver

__all__ = ["WebhookReceiver"]


class WebhookReceiver(Receiver):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__("Webhook sandbox", host, port, tls)
        self.hooks: dict[str, bytes] = {}  # name -> secret
        self.clock = clock

    def add_hook(self, name: str) -> tuple[str, str]:
        """A hook called ``name``: its URL and its signing secret."""
        secret = secrets.token_urlsafe(24)
        self.hooks[name] = secret.encode()
        return f"{self.url}/hooks/{name}", secret

    def endpoint_name(self, path: str) -> str:
        return "/hooks/{name}" if path.startswith("/hooks/") else path

    def handle(self, request: Request) -> Response:
        name = request.path.removeprefix("/hooks/")
        secret = self.hooks.get(name) if request.path.startswith("/hooks/") else None
        if request.method != "POST" or secret is None:
            return Response.json(404, {"error": "no such hook"})
        why = verify(
            secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            request.body,
            self.clock(),
        )
        if why:
            self.app.stats.count("faults", "bad_signature")
            return Response.json(401, {"error": why})
        body = self.json_body(request)
        if body is None:
            return Response.json(400, {"error": "the body is not JSON"})
        self.record(request, name, body)
        return Response.json(200, {"ok": True})
