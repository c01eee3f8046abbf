"""Teams Workflows and signed generic webhooks (requests) against the local receivers, over HTTPS
trusting the receivers' self-signed certificate (``ca_file``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from leadsync.notify.http import TeamsSender, WebhookSender
from leadsync.notify.notice import Notice
from leadsync.notify.outcome import Delivered, FailedPermanently, RetryAfter
from leadsync.sandboxes.notify.teams import TeamsReceiver, card_problem
from leadsync.sandboxes.notify.webhook import WebhookReceiver


def _teams(teams: TeamsReceiver, url: str | None = None, timeout: float = 5) -> TeamsSender:
    return TeamsSender(SecretStr(url or teams.add_flow("managers")), timeout, Path(teams.ca_file))


class TestTeams:
    def test_an_adaptive_card_is_accepted(self, teams: TeamsReceiver, notice: Notice) -> None:
        assert _teams(teams).send(notice) == Delivered("")
        [got] = teams.received()
        [attachment] = got.body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert attachment["content"]["version"] == "1.4"

    def test_a_wrong_sig_is_refused_for_good_and_the_url_is_never_quoted(
        self, teams: TeamsReceiver, notice: Notice
    ) -> None:
        url = teams.add_flow("managers")
        bad = url.replace("sig=", "sig=x")
        outcome = _teams(teams, bad).send(notice)
        assert isinstance(outcome, FailedPermanently)
        assert "401" in outcome.error and "DirectApiAuthorizationRequired" in outcome.error
        assert "sig=" not in outcome.error

    def test_a_bad_card_is_a_400(self, teams: TeamsReceiver) -> None:
        url = teams.add_flow("managers")
        session = requests.Session()
        answer = session.post(
            url, json={"type": "message", "attachments": []}, verify=teams.ca_file, timeout=5
        )
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidRequestContent"
        assert card_problem({"type": "message", "attachments": [{"contentType": "text/html"}]})

    def test_429_comes_back_with_its_retry_after(self, teams: TeamsReceiver, notice: Notice) -> None:
        teams.set_limits(retry_after=12)
        teams.set_faults(storm=1)
        outcome = _teams(teams).send(notice)
        assert isinstance(outcome, RetryAfter) and outcome.seconds == 12

    @pytest.mark.parametrize("faults", [{"fail_next": 1, "error_statuses": [502]}, {"drop_next": 1}])
    def test_5xx_and_dropped_connections_are_tried_again_later(
        self, teams: TeamsReceiver, notice: Notice, faults: dict[str, object]
    ) -> None:
        url = teams.add_flow("managers")
        teams.set_faults(**faults)
        outcome = _teams(teams, url).send(notice)
        assert isinstance(outcome, RetryAfter) and outcome.seconds is None
        assert "sig=" not in outcome.error and url not in outcome.error

    def test_a_timeout_is_tried_again_later(self, teams: TeamsReceiver, notice: Notice) -> None:
        teams.set_faults(latency_ms=2000)
        outcome = _teams(teams, timeout=0.5).send(notice)
        assert outcome == RetryAfter("Teams did not answer within 0.5 s")

    def test_an_untrusted_certificate_is_refused_for_good(self, teams: TeamsReceiver, notice: Notice) -> None:
        outcome = TeamsSender(SecretStr(teams.add_flow("managers")), 5).send(notice)
        assert isinstance(outcome, FailedPermanently) and "certificate" in outcome.error


class TestSignedWebhook:
    def test_the_body_is_signed_over_timestamp_and_body(self, hooks: WebhookReceiver, notice: Notice) -> None:
        url, secret = hooks.add_hook("ops")
        outcome = WebhookSender(url, SecretStr(secret), 5, Path(hooks.ca_file)).send(notice)
        assert outcome == Delivered('{"ok": true}')
        [got] = hooks.received()
        stamp, signature = got.headers["x-leadsync-timestamp"], got.headers["x-leadsync-signature"]
        raw = json.dumps(got.body, ensure_ascii=False, separators=(",", ":")).encode()
        expected = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        assert signature == f"v1={expected}"
        assert got.headers["idempotency-key"] == notice.key
        assert got.body["key"] == notice.key and got.body["contact"]["record_url"] == notice.record_url

    def test_a_wrong_secret_is_refused_for_good(self, hooks: WebhookReceiver, notice: Notice) -> None:
        url, _ = hooks.add_hook("ops")
        outcome = WebhookSender(url, SecretStr("not-the-secret"), 5, Path(hooks.ca_file)).send(notice)
        assert isinstance(outcome, FailedPermanently) and "signature mismatch" in outcome.error
        assert hooks.received() == []

    def test_a_stale_timestamp_is_refused(self, hooks: WebhookReceiver, notice: Notice) -> None:
        url, secret = hooks.add_hook("ops")
        sender = WebhookSender(url, SecretStr(secret), 5, Path(hooks.ca_file), clock=lambda: 1_000_000.0)
        outcome = sender.send(notice)
        assert isinstance(outcome, FailedPermanently) and "timestamp too far" in outcome.error

    def test_429_5xx_and_timeouts_are_tried_again_later(self, hooks: WebhookReceiver, notice: Notice) -> None:
        url, secret = hooks.add_hook("ops")
        sender = WebhookSender(url, SecretStr(secret), 0.5, Path(hooks.ca_file))
        hooks.set_limits(retry_after=3)
        hooks.set_faults(storm=1)
        assert sender.send(notice) == RetryAfter("webhook answered HTTP 429: rate limited", 3)
        hooks.set_faults(reset=True, fail_next=1, error_statuses=[503])
        assert isinstance(sender.send(notice), RetryAfter)
        hooks.set_faults(reset=True, latency_ms=1500)
        assert isinstance(sender.send(notice), RetryAfter)
        assert hooks.received() == []
