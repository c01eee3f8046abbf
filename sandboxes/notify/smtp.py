"""A real SMTP server on 127.0.0.1 (aiosmtpd) for e-mail notifications: STARTTLS with the kit's
self-signed certificate, AUTH PLAIN and LOGIN (required, and only after STARTTLS), recipients it
does not know refused with 550, and the messages it took kept for tests (parsed, multipart and all).

Its faults are the kit's, set like every sandbox's (``set_faults`` or ``POST /__sandbox/faults``
on ``control_url``, a small HTTP back door beside it) and read the SMTP way at the DATA command:
``latency_ms`` delays the answer (a client times out), ``drop_next`` closes the connection,
``storm`` answers ``421`` (too many messages), ``fail_next``/``error_rate`` answer the codes of
``error_statuses`` (default 451, a temporary failure; 5xx ones are for good).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import socket
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.kit.tls import server_context
from leadsync.sandboxes.notify.receiver import Receiver

__all__ = ["SmtpReceiver"]

_DATA = "SMTP DATA"
# aiosmtpd warns on every AUTH that a field it sets itself is deprecated, and logs a traceback when
# a client refuses the certificate (a test's doing): neither is news in a test's log.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.receiver.unknown:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        app = self.receiver.app
        app.stats.count("by_endpoint", _DATA)
        plan = app.faults.plan(_DATA)
        if plan.delay_s > 0:
            app.stats.count("faults", "latency")
            await asyncio.sleep(plan.delay_s)
        if plan.action == "drop":
            app.stats.count("faults", "dropped")
            if server.transport is not None:
                server.transport.close()
            return "421 4.4.2 connection dropped"
        if plan.action == "storm":
            app.stats.count("faults", "storm")
            return "421 4.7.0 Too many messages, try again later"
        if plan.action == "error":
            app.stats.count("faults", "smtp_error")
            kind = "4.3.0 Temporary" if plan.status < 500 else "5.3.0 Permanent"
            return f"{plan.status} {kind} failure (injected)"
        raw = envelope.original_content or b""
        body = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": session.ssl is not None,
            "user": session.auth_data.login.decode()
            if isinstance(session.auth_data, LoginPassword)
            else None,
            "message": raw.decode("utf-8", "replace"),
        }
        self.receiver.record_mail(body)
        return "250 2.0.0 OK queued"


class SmtpReceiver(Receiver):
    """The local SMTP server (``host``, ``smtp_port``) and its HTTP back door (``control_url``)."""

    def __init__(
        self, host: str = "127.0.0.1", user: str = "leadsync", password: str = "sandbox-password"
    ) -> None:
        super().__init__("SMTP sandbox control", host, 0, tls=False)
        self.user, self.password = user, password
        self.unknown: set[str] = set()
        self.smtp_port = 0
        self._controller: Controller | None = None
        self.app.faults.configure(reset=True, error_statuses=(451,))

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        good = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=good, handled=False, auth_data=auth_data if good else None)

    def start(self) -> Self:
        if self._controller is None:
            self.smtp_port = _free_port(self.host)
            self._controller = Controller(
                _Handler(self),
                hostname=self.host,
                port=self.smtp_port,
                server_hostname="localhost",
                tls_context=server_context(),
                require_starttls=True,
                auth_required=True,
                auth_require_tls=True,
                authenticator=self._authenticate,
            )
            self._controller.start()
        return super().start()

    def stop(self) -> None:
        if self._controller is not None:
            with contextlib.suppress(Exception):
                self._controller.stop()
            self._controller = None
        super().stop()

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def record_mail(self, body: dict[str, Any]) -> None:
        self.record(Request("DATA", "/", email.message.Message()), "smtp", body)

    def messages(self) -> list[EmailMessage]:
        """The messages taken, parsed."""
        out = []
        for item in self.received():
            parsed = email.message_from_string(item.body["message"], policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            out.append(parsed)
        return out

    def reset(self, **_: Any) -> None:
        super().reset()
        self.app.faults.configure(reset=True, error_statuses=(451,))
        self.unknown.clear()

    def handle(self, request: Request) -> Response:
        return Response.json(404, {"error": "this is the SMTP sandbox's back door: use /__sandbox/*"})
