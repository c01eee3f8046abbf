"""The local notification receivers, started once per test module, and a notice to send."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from leadsync.notify.notice import Notice, RuleHit
from leadsync.sandboxes.notify.slack import SlackReceiver
from leadsync.sandboxes.notify.smtp import SmtpReceiver
from leadsync.sandboxes.notify.teams import TeamsReceiver
from leadsync.sandboxes.notify.webhook import WebhookReceiver


def make_notice(key: str = "stage_sql:C1:2026-12-07T10:00:00Z", **changes: object) -> Notice:
    fields: dict[str, object] = {
        "key": key,
        "trigger": "stage_sql",
        "recipients": ("owner:u1", "channel:sales-leads"),
        "contact_id": "C1",
        "name": "Ada Lovelace",
        "email": "ada@acme.example",
        "company": "Acme <Analytical> & Co",
        "title": "CTO",
        "stage": "sql",
        "score": 130,
        "top_rules": (RuleHit("demo_request", 50), RuleHit("title_cxo", 30), RuleHit("free_mail", -10)),
        "bant": {"budget": "yes", "timeline": "Q1"},
        "owner_id": "u1",
        "owner_name": "Grace Hopper",
        "due_at": datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
        "timezone": "Europe/Madrid",
        "attempts": 1,
        "attempts_max": 5,
        "record_url": "https://app.hubspot.com/contacts/123/record/0-1/C1",
    }
    fields.update(changes)
    return Notice(**fields)  # type: ignore[arg-type]


@pytest.fixture
def notice() -> Notice:
    return make_notice()


@pytest.fixture(scope="module")
def slack_server() -> Iterator[SlackReceiver]:
    with SlackReceiver() as server:
        yield server


@pytest.fixture
def slack(slack_server: SlackReceiver) -> SlackReceiver:
    slack_server.reset()
    slack_server.set_limits(retry_after=1, per_channel_per_second=1.0)
    return slack_server


@pytest.fixture(scope="module")
def teams_server() -> Iterator[TeamsReceiver]:
    with TeamsReceiver(tls=True) as server:
        yield server


@pytest.fixture
def teams(teams_server: TeamsReceiver) -> TeamsReceiver:
    teams_server.reset()
    teams_server.set_limits(retry_after=1)
    return teams_server


@pytest.fixture(scope="module")
def hooks_server() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(tls=True) as server:
        yield server


@pytest.fixture
def hooks(hooks_server: WebhookReceiver) -> WebhookReceiver:
    hooks_server.reset()
    hooks_server.set_limits(retry_after=1)
    return hooks_server


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpReceiver) -> SmtpReceiver:
    smtp_server.reset()
    return smtp_server
