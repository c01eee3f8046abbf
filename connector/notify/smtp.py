"""E-mail over SMTP with the standard library's ``smtplib``: STARTTLS (verifying the server's
certificate; ``ca_file`` for a private CA), AUTH when a user is set, one message per send.

SMTP's own reply codes decide the outcome: 4xx (greylisting, a full queue, 421 closing) and a
connection that fails or times out are tried again later; 5xx (535 bad credentials, 550 unknown
mailbox) and a server that offers no STARTTLS are for good, with the server's words.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from leadsync.notify.mail import email_digest, email_notice
from leadsync.notify.notice import Digest, Notice
from leadsync.notify.outcome import Delivered, FailedPermanently, Outcome, RetryAfter, short

__all__ = ["EmailSender"]


def _said(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"SMTP {code} {short(words)}"


def _by_code(code: int, error: str) -> Outcome:
    return RetryAfter(error) if 400 <= code < 500 else FailedPermanently(error)


class EmailSender:
    """Mail to ``to`` (a list, or one owner) from ``sender`` through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        to: Sequence[str],
        starttls: bool = True,
        user: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 10,
        ca_file: Path | None = None,
    ) -> None:
        self.host, self.port, self.sender, self.to = host, port, sender, list(to)
        self.starttls, self.user, self._password, self.timeout = starttls, user, password, timeout
        self.ca_file = ca_file

    def to_one(self, address: str) -> EmailSender:
        """The same server and sender, to one address (an owner)."""
        return EmailSender(
            self.host, self.port, self.sender, [address], self.starttls, self.user, self._password,
            self.timeout, self.ca_file,
        )  # fmt: skip

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def send(self, message: Notice | Digest) -> Outcome:
        if isinstance(message, Digest):
            mail = email_digest(message, self.sender, self.to)
        else:
            mail = email_notice(message, self.sender, self.to)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                if self.user:
                    password = self._password.get_secret_value() if self._password else ""
                    smtp.login(self.user, password)
                refused = smtp.send_message(mail)
        except smtplib.SMTPNotSupportedError as exc:
            return FailedPermanently(f"SMTP server {self.host}: {exc}")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            said = "; ".join(f"{rcpt}: {_said(c, t)}" for rcpt, (c, t) in exc.recipients.items())
            return RetryAfter(said) if all(400 <= c < 500 for c in codes) else FailedPermanently(said)
        except smtplib.SMTPResponseException as exc:  # auth, sender refused, data refused
            return _by_code(exc.smtp_code, _said(exc.smtp_code, exc.smtp_error))
        except ssl.SSLCertVerificationError as exc:
            return FailedPermanently(
                f"SMTP server {self.host}: certificate not trusted ({exc.verify_message})"
            )
        except (smtplib.SMTPException, OSError) as exc:  # refused, dropped, timed out
            return RetryAfter(f"SMTP server {self.host}:{self.port} not reached: {type(exc).__name__}: {exc}")
        if refused:
            said = "; ".join(f"{rcpt}: {_said(c, t)}" for rcpt, (c, t) in refused.items())
            return Delivered(f"some recipients refused: {said}")
        return Delivered(str(mail["Message-ID"]))
