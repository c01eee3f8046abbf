"""E-mail (smtplib) against a real local SMTP server (aiosmtpd): STARTTLS, AUTH, and SMTP's
reply codes as outcomes."""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path

from pydantic import SecretStr

from leadsync.notify.notice import Notice
from leadsync.notify.outcome import Delivered, FailedPermanently, RetryAfter
from leadsync.notify.smtp import EmailSender
from leadsync.sandboxes.notify.smtp import SmtpReceiver


def _sender(smtp: SmtpReceiver, password: str | None = None, timeout: float = 5, **kw: object) -> EmailSender:
    options: dict[str, object] = {
        "starttls": True,
        "user": smtp.user,
        "password": SecretStr(password or smtp.password),
        "timeout": timeout,
        "ca_file": Path(smtp.ca_file),
        **kw,
    }
    return EmailSender(smtp.host, smtp.smtp_port, "leadsync@example.com", ["sales@example.com"], **options)  # type: ignore[arg-type]


class TestEmail:
    def test_a_notice_goes_over_starttls_with_auth_as_text_and_html(
        self, smtp: SmtpReceiver, notice: Notice
    ) -> None:
        outcome = _sender(smtp).send(notice)
        assert isinstance(outcome, Delivered) and outcome.detail.startswith("<")
        [got] = smtp.received()
        assert got.body["tls"] is True and got.body["user"] == "leadsync"
        assert got.body["rcpt_tos"] == ["sales@example.com"]
        [message] = smtp.messages()
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["Subject"] == "New SQL: Ada Lovelace (Acme <Analytical> & Co)"
        html = message.get_body(("html",))
        assert html is not None and "Acme &lt;Analytical&gt; &amp; Co" in html.get_content()

    def test_an_owner_gets_one_of_their_own(self, smtp: SmtpReceiver, notice: Notice) -> None:
        assert isinstance(_sender(smtp).to_one("grace@example.com").send(notice), Delivered)
        assert smtp.received()[0].body["rcpt_tos"] == ["grace@example.com"]

    def test_a_wrong_password_is_refused_for_good(self, smtp: SmtpReceiver, notice: Notice) -> None:
        outcome = _sender(smtp, password="wrong").send(notice)
        assert isinstance(outcome, FailedPermanently) and outcome.error.startswith("SMTP 535")
        assert "wrong" not in outcome.error

    def test_an_unknown_mailbox_is_refused_for_good(self, smtp: SmtpReceiver, notice: Notice) -> None:
        smtp.unknown.add("sales@example.com")
        outcome = _sender(smtp).send(notice)
        assert isinstance(outcome, FailedPermanently) and "SMTP 550" in outcome.error

    def test_4xx_and_421_are_tried_again_later_5xx_is_not(self, smtp: SmtpReceiver, notice: Notice) -> None:
        smtp.set_faults(fail_next=1)
        assert isinstance(_sender(smtp).send(notice), RetryAfter)
        smtp.set_faults(storm=1)
        outcome = _sender(smtp).send(notice)
        assert isinstance(outcome, RetryAfter) and "421" in outcome.error
        smtp.set_faults(fail_next=1, error_statuses=[554])
        outcome = _sender(smtp).send(notice)
        assert isinstance(outcome, FailedPermanently) and "554" in outcome.error
        assert smtp.received() == []

    def test_a_slow_server_or_a_dropped_connection_is_tried_again_later(
        self, smtp: SmtpReceiver, notice: Notice
    ) -> None:
        smtp.set_faults(latency_ms=2000)
        assert isinstance(_sender(smtp, timeout=0.5).send(notice), RetryAfter)
        smtp.set_faults(reset=True, drop_next=1, error_statuses=[451])
        assert isinstance(_sender(smtp).send(notice), RetryAfter)

    def test_an_untrusted_certificate_is_refused_for_good(self, smtp: SmtpReceiver, notice: Notice) -> None:
        outcome = _sender(smtp, ca_file=None).send(notice)
        assert isinstance(outcome, FailedPermanently) and "certificate not trusted" in outcome.error

    def test_no_starttls_means_no_auth_and_the_server_refuses(
        self, smtp: SmtpReceiver, notice: Notice
    ) -> None:
        outcome = _sender(smtp, starttls=False).send(notice)
        assert isinstance(outcome, FailedPermanently)
        assert smtp.received() == []

    def test_nothing_listens_is_tried_again_later(self, notice: Notice) -> None:
        sender = EmailSender("127.0.0.1", 9, "a@example.com", ["b@example.com"], starttls=False, timeout=1)
        assert isinstance(sender.send(notice), RetryAfter)


def test_the_receiver_takes_auth_plain_and_login_only_after_starttls(smtp: SmtpReceiver) -> None:
    for mechanism in ("PLAIN", "LOGIN"):
        with smtplib.SMTP(smtp.host, smtp.smtp_port, timeout=5) as client:
            client.ehlo()
            assert not client.has_extn("auth")  # no AUTH in clear
            client.starttls(context=ssl.create_default_context(cafile=smtp.ca_file))
            client.ehlo()
            client.user, client.password = smtp.user, smtp.password
            handler = client.auth_plain if mechanism == "PLAIN" else client.auth_login
            code, _ = client.auth(mechanism, handler)
            assert code == 235
