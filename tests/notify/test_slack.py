"""Slack senders (slack-sdk) against the local Slack: every outcome an outbox must tell apart."""

from __future__ import annotations

from pydantic import SecretStr

from leadsync.notify.notice import Notice
from leadsync.notify.outcome import Delivered, FailedPermanently, RetryAfter
from leadsync.notify.slack import SlackBot, SlackChannelSender, SlackDirectSender, SlackWebhookSender
from leadsync.sandboxes.notify.slack import SlackReceiver
from tests.notify.conftest import make_notice


def _hook(slack: SlackReceiver, channel: str = "hot-leads", **kw: float) -> SlackWebhookSender:
    return SlackWebhookSender(SecretStr(slack.add_webhook(channel)), **{"max_wait": 0, **kw})


def _bot(slack: SlackReceiver, token: str | None = None, **kw: float) -> SlackBot:
    return SlackBot(SecretStr(token or slack.token), slack.url + "/api/", **{"max_wait": 0, **kw})


class TestIncomingWebhook:
    def test_a_notice_is_delivered_as_block_kit(self, slack: SlackReceiver, notice: Notice) -> None:
        assert _hook(slack).send(notice) == Delivered("ok")
        [got] = slack.received()
        assert got.body["blocks"][0]["type"] == "header"
        assert got.body["text"].startswith("New SQL: Ada Lovelace")

    def test_an_unknown_webhook_is_refused_for_good_with_slacks_words(
        self, slack: SlackReceiver, notice: Notice
    ) -> None:
        sender = SlackWebhookSender(SecretStr(slack.url + "/services/T0/B0/nope"), max_wait=0)
        outcome = sender.send(notice)
        assert (
            isinstance(outcome, FailedPermanently)
            and "no_service" in outcome.error
            and "404" in outcome.error
        )

    def test_an_archived_channel_is_refused_for_good(self, slack: SlackReceiver, notice: Notice) -> None:
        sender = _hook(slack, "old")
        slack.archive("old")
        outcome = sender.send(notice)
        assert isinstance(outcome, FailedPermanently) and "channel_is_archived" in outcome.error

    def test_429_comes_back_with_its_retry_after(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.set_limits(retry_after=7)
        slack.set_faults(storm=1)
        outcome = _hook(slack).send(notice)
        assert isinstance(outcome, RetryAfter) and outcome.seconds == 7
        assert slack.received() == []

    def test_a_second_message_within_a_second_on_one_channel_is_rate_limited(
        self, slack: SlackReceiver, notice: Notice
    ) -> None:
        sender = _hook(slack)
        assert isinstance(sender.send(notice), Delivered)
        outcome = sender.send(make_notice("k2"))
        assert isinstance(outcome, RetryAfter) and outcome.seconds is not None and outcome.seconds >= 1

    def test_a_short_retry_after_is_waited_in_place_by_the_sdk_handler(
        self, slack: SlackReceiver, notice: Notice
    ) -> None:
        slack.set_faults(storm=1)
        assert isinstance(_hook(slack, max_wait=2).send(notice), Delivered)
        assert len(slack.received()) == 1
        assert slack.stats()["by_status"] == {"200": 1, "429": 1}

    def test_5xx_is_tried_again_later(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.set_faults(fail_next=1, error_statuses=[503])
        outcome = _hook(slack).send(notice)
        assert isinstance(outcome, RetryAfter) and outcome.seconds is None and "503" in outcome.error

    def test_a_timeout_is_tried_again_later(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.set_faults(latency_ms=2500)
        outcome = _hook(slack, timeout=1).send(notice)
        assert isinstance(outcome, RetryAfter)

    def test_a_dropped_connection_is_tried_again_later(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.set_faults(drop_next=1)
        assert isinstance(_hook(slack).send(notice), RetryAfter)


class TestBot:
    def test_chat_post_message_to_a_channel(self, slack: SlackReceiver, notice: Notice) -> None:
        channel_id = slack.add_channel("sales-leads")
        outcome = SlackChannelSender(_bot(slack), "#sales-leads").send(notice)
        assert isinstance(outcome, Delivered) and outcome.detail
        [got] = slack.received()
        assert got.body["channel"] == channel_id and got.body["blocks"][0]["type"] == "header"

    def test_a_bad_token_is_invalid_auth_for_good(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.add_channel("sales-leads")
        outcome = SlackChannelSender(_bot(slack, "xoxb-wrong"), "sales-leads").send(notice)
        assert outcome == FailedPermanently("Slack answered invalid_auth")

    def test_an_unknown_channel_is_channel_not_found_for_good(
        self, slack: SlackReceiver, notice: Notice
    ) -> None:
        outcome = SlackChannelSender(_bot(slack), "#nowhere").send(notice)
        assert outcome == FailedPermanently("Slack answered channel_not_found")

    def test_ratelimited_comes_back_with_its_retry_after(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.add_channel("sales-leads")
        slack.set_limits(retry_after=30)
        slack.set_faults(storm=1)
        outcome = SlackChannelSender(_bot(slack), "sales-leads").send(notice)
        assert outcome == RetryAfter("Slack answered ratelimited", 30)

    def test_one_message_a_second_per_channel(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.add_channel("a")
        slack.add_channel("b")
        bot = _bot(slack)
        assert isinstance(SlackChannelSender(bot, "a").send(notice), Delivered)
        assert isinstance(SlackChannelSender(bot, "b").send(notice), Delivered)  # another channel
        assert isinstance(SlackChannelSender(bot, "a").send(notice), RetryAfter)

    def test_5xx_and_timeouts_are_tried_again_later(self, slack: SlackReceiver, notice: Notice) -> None:
        slack.add_channel("sales-leads")
        slack.set_faults(fail_next=1, error_statuses=[500])
        assert isinstance(SlackChannelSender(_bot(slack), "sales-leads").send(notice), RetryAfter)
        slack.set_faults(reset=True, latency_ms=2500)
        assert isinstance(SlackChannelSender(_bot(slack, timeout=1), "sales-leads").send(notice), RetryAfter)


class TestDirectMessage:
    def test_the_owner_is_found_by_email_and_messaged_directly(
        self, slack: SlackReceiver, notice: Notice
    ) -> None:
        user_id = slack.add_user("grace@example.com")
        bot = _bot(slack)
        assert isinstance(SlackDirectSender(bot, "grace@example.com").send(notice), Delivered)
        assert slack.received()[0].body["channel"] == user_id
        slack.set_limits(per_channel_per_second=0)
        SlackDirectSender(bot, "grace@example.com").send(make_notice("k2"))
        counts = slack.stats()["by_endpoint"]
        lookups = sum(n for endpoint, n in counts.items() if endpoint.endswith("/api/users.lookupByEmail"))
        assert lookups == 1  # the bot remembers who an address is

    def test_an_unknown_email_is_users_not_found_for_good(self, slack: SlackReceiver, notice: Notice) -> None:
        outcome = SlackDirectSender(_bot(slack), "nobody@example.com").send(notice)
        assert outcome == FailedPermanently("Slack answered users_not_found")
        assert slack.received() == []
