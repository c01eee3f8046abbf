"""From recipients to senders, built from a loaded config against the local receivers; and no
secret in the log, even at debug level with the libraries' own lines."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from leadsync.logging import configure_logging
from leadsync.model import Owner
from leadsync.notify.config import NotificationSettings
from leadsync.notify.notice import Digest, Notice
from leadsync.notify.outcome import Delivered, FailedPermanently
from leadsync.notify.targets import Senders
from leadsync.sandboxes.notify.slack import SlackReceiver
from leadsync.sandboxes.notify.smtp import SmtpReceiver
from leadsync.sandboxes.notify.teams import TeamsReceiver
from leadsync.sandboxes.notify.webhook import WebhookReceiver
from leadsync.settings import load_settings
from tests.notify.conftest import make_notice

OWNERS = {
    "u1": Owner("u1", "Grace Hopper", "grace@example.com"),
    "u2": Owner("u2", "No Mail"),
}


@pytest.fixture
def config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackReceiver,
    teams: TeamsReceiver,
    hooks: WebhookReceiver,
    smtp: SmtpReceiver,
) -> tuple[NotificationSettings, dict[str, str]]:
    slack.add_channel("sales-leads")
    slack.add_user("grace@example.com")
    slack.set_limits(per_channel_per_second=0)
    hook_url, hook_secret = hooks.add_hook("ops")
    secrets = {
        "HOT_URL": slack.add_webhook("hot-leads"),
        "SLACK_TOKEN": slack.token,
        "TEAMS_URL": teams.add_flow("managers"),
        "SMTP_PASSWORD": smtp.password,
        "OPS_SECRET": hook_secret,
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    ca = teams.ca_file
    text = f"""\
connections: [{{name: hs, adapter: hubspot, rules: rules.yaml}}]
notifications:
  channels:
    hot-leads: {{type: slack_webhook, url_env: HOT_URL}}
    sales-leads: {{type: slack, token_env: SLACK_TOKEN, channel: "#sales-leads", api_url: "{slack.url}/api/"}}
    managers: {{type: teams, url_env: TEAMS_URL, ca_file: "{ca}"}}
    marketing: {{type: email, host: 127.0.0.1, port: {smtp.smtp_port}, user: {smtp.user},
                 password_env: SMTP_PASSWORD, from: leadsync@example.com, to: [m@example.com],
                 ca_file: "{ca}"}}
    ops: {{type: webhook, url: "{hook_url}", secret_env: OPS_SECRET, ca_file: "{ca}"}}
    broken: {{type: slack_webhook, url_env: NOT_SET_ANYWHERE}}
  owners: {{via: both, slack: sales-leads, email: marketing, digest_over: 3}}
"""
    path = tmp_path / "leadsync.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    settings = load_settings(path).notifications
    assert settings is not None
    return settings, secrets


class TestTargets:
    def test_each_channel_is_reached(
        self, config: tuple[NotificationSettings, dict[str, str]], notice: Notice
    ) -> None:
        senders = Senders(config[0], OWNERS)
        for name in ("hot-leads", "sales-leads", "managers", "marketing", "ops"):
            [target] = senders.targets(f"channel:{name}")
            assert target.route == f"channel:{name}"
            assert isinstance(target.send(notice), Delivered), name

    def test_an_owner_by_both_is_two_routes_with_the_owners_policy(
        self,
        config: tuple[NotificationSettings, dict[str, str]],
        notice: Notice,
        slack: SlackReceiver,
        smtp: SmtpReceiver,
    ) -> None:
        targets = Senders(config[0], OWNERS).targets("owner:u1")
        assert [t.route for t in targets] == ["owner:u1/slack", "owner:u1/email"]
        assert {t.policy.digest_over for t in targets} == {3}
        assert [type(t.send(notice)) for t in targets] == [Delivered, Delivered]
        assert slack.received()[0].body["channel"] == slack.users["grace@example.com"]
        assert smtp.received()[0].body["rcpt_tos"] == ["grace@example.com"]

    def test_who_cannot_be_reached_fails_for_good_saying_why(
        self, config: tuple[NotificationSettings, dict[str, str]], notice: Notice
    ) -> None:
        senders = Senders(config[0], OWNERS)
        outcomes = {
            t.route: t.send(notice)
            for r in ("owner:u2", "owner:u9", "channel:nope", "team:x")
            for t in senders.targets(r)
        }
        assert outcomes["owner:u2/email"] == FailedPermanently(
            "owner u2 has no e-mail address in the owners file"
        )
        assert outcomes["owner:u9/slack"] == FailedPermanently("owner u9 is not in the owners file")
        nope = outcomes["channel:nope"]
        assert (
            isinstance(nope, FailedPermanently)
            and "no channel `nope`" in nope.error
            and "hot-leads" in nope.error
        )
        assert isinstance(outcomes["team:x"], FailedPermanently)
        [broken] = senders.targets("channel:broken")
        outcome = broken.send(notice)
        assert isinstance(outcome, FailedPermanently) and "NOT_SET_ANYWHERE is not set" in outcome.error
        assert ":11:" in outcome.error  # the config's line of that channel

    def test_without_owner_delivery_an_owner_is_a_dead_letter_not_a_silence(self, notice: Notice) -> None:
        [target] = Senders(None, OWNERS).targets("owner:u1")
        outcome = target.send(notice)
        assert isinstance(outcome, FailedPermanently) and "notifications.owners" in outcome.error


@pytest.fixture
def urllib3_speaks() -> Iterator[None]:
    """urllib3's request lines at debug, whatever earlier tests in this worker did to logging (a
    ``fileConfig`` that disabled its logger, a level set on ``urllib3``, ``logging.disable``)."""
    logger = logging.getLogger("urllib3.connectionpool")
    saved = (logger.disabled, logger.level, logger.propagate, logging.root.manager.disable)
    logger.disabled, logger.propagate = False, True
    logger.setLevel(logging.DEBUG)
    logging.disable(logging.NOTSET)
    yield
    logger.disabled, logger.propagate = saved[0], saved[2]
    logger.setLevel(saved[1])
    logging.disable(saved[3])


@pytest.mark.usefixtures("urllib3_speaks")
def test_no_secret_reaches_the_log_even_at_debug(
    config: tuple[NotificationSettings, dict[str, str]],
    notice: Notice,
    slack: SlackReceiver,
    teams: TeamsReceiver,
    smtp: SmtpReceiver,
    hooks: WebhookReceiver,
) -> None:
    settings, secrets = config
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    log = structlog.get_logger("leadsync.notify")
    senders = Senders(settings, OWNERS)
    for faults in ({}, {"fail_next": 1, "error_statuses": [503]}, {"storm": 1}, {"drop_next": 1}):
        for receiver in (slack, teams, smtp, hooks):
            receiver.set_faults(reset=True, **faults)
        for recipient in (
            "channel:hot-leads",
            "channel:sales-leads",
            "channel:managers",
            "channel:marketing",
            "channel:ops",
            "owner:u1",
        ):
            for target in senders.targets(recipient):
                outcome = target.send(notice)
                log.info("notification_sent", route=target.route, outcome=repr(outcome))
    wrong = Senders(settings, OWNERS)
    smtp.password, saved = "changed", smtp.password
    try:
        [mail] = wrong.targets("channel:marketing")
        log.warning("notification_failed", outcome=repr(mail.send(notice)))
    finally:
        smtp.password = saved
    text = stream.getvalue()
    # urllib3's debug request lines (which carry Teams' sig=) are there too when run alone; in the
    # whole suite an earlier test's logging set-up may still hide them, so only ours are required.
    assert "notification_sent" in text
    secret_parts = [secrets["SLACK_TOKEN"], secrets["SMTP_PASSWORD"], secrets["OPS_SECRET"]]
    secret_parts += [secrets["HOT_URL"].rsplit("/", 1)[1], secrets["TEAMS_URL"].rsplit("sig=", 1)[1]]
    for part in secret_parts:
        assert part not in text


def test_a_digest_is_one_message_on_every_channel_type(
    config: tuple[NotificationSettings, dict[str, str]],
    slack: SlackReceiver,
    teams: TeamsReceiver,
    smtp: SmtpReceiver,
    hooks: WebhookReceiver,
) -> None:
    senders = Senders(config[0], OWNERS)
    for name in ("hot-leads", "sales-leads", "managers", "marketing", "ops"):
        digest = Digest(f"channel:{name}", tuple(make_notice(f"k{i}") for i in range(12)))
        [target] = senders.targets(f"channel:{name}")
        assert isinstance(target.send(digest), Delivered), name
    assert len(slack.received()) == 2 and len(teams.received()) == 1
    assert len(smtp.received()) == 1 and len(hooks.received()) == 1
    assert hooks.received()[0].body["type"] == "digest" and len(hooks.received()[0].body["notices"]) == 12
