"""From a notice's recipients (``owner:ID``, ``channel:NAME``) to the senders that reach them.

Each recipient becomes one or more ``Target``s, each with a ``route`` of its own (the outbox's
unit of delivery, so that an owner reached by Slack and e-mail gets both exactly once):
``channel:NAME``, ``owner:ID/slack`` and ``owner:ID/email``. A recipient that cannot be reached
(an owner without an e-mail address, a channel the config does not define, a secret that cannot
be read) still becomes a target, whose send fails for good with the reason: nothing is dropped
silently, it is a dead letter a person can read.

Senders are built on first use and kept (a Slack bot's client and user look-ups are shared by its
channel and its direct messages).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from leadsync.errors import ConfigError
from leadsync.model import Owner
from leadsync.notify.config import (
    ChannelBase,
    EmailChannel,
    NotificationSettings,
    OwnerDelivery,
    SlackChannel,
    SlackWebhookChannel,
    TeamsChannel,
    WebhookChannel,
)
from leadsync.notify.http import TeamsSender, WebhookSender
from leadsync.notify.noise import Policy
from leadsync.notify.notice import Digest, Notice
from leadsync.notify.outcome import FailedPermanently, Outcome
from leadsync.notify.slack import SlackBot, SlackChannelSender, SlackDirectSender, SlackWebhookSender
from leadsync.notify.smtp import EmailSender

__all__ = ["Sender", "Senders", "Target"]


class Sender(Protocol):
    def send(self, message: Notice | Digest) -> Outcome: ...


@dataclass(frozen=True)
class Target:
    """One place a notice goes: its route, its noise controls, and how to send there."""

    route: str
    policy: Policy
    sender: Sender

    def send(self, message: Notice | Digest) -> Outcome:
        return self.sender.send(message)


@dataclass(frozen=True)
class _Refused:
    """A target that cannot be reached: every send fails for good, saying why."""

    reason: str

    def send(self, message: Notice | Digest) -> Outcome:
        return FailedPermanently(self.reason)


class Senders:
    """The deployment's senders, built from its ``notifications:`` section and owners."""

    def __init__(self, settings: NotificationSettings | None, owners: Mapping[str, Owner]) -> None:
        self.settings = settings or NotificationSettings()
        self.owners = owners
        self._built: dict[str, Sender | SlackBot] = {}
        self._lock = threading.Lock()

    def targets(self, recipient: str) -> list[Target]:
        """Where ``recipient`` (``owner:ID`` or ``channel:NAME``) is reached."""
        kind, _, name = recipient.partition(":")
        if kind == "channel":
            return [self._channel_target(name)]
        if kind == "owner":
            return self._owner_targets(name)
        reason = f"recipient `{recipient}` is neither `owner:ID` nor `channel:NAME`"
        return [Target(recipient, self._policy(None), _Refused(reason))]

    # -- channels ------------------------------------------------------------------------------

    def _policy(self, own: ChannelBase | OwnerDelivery | None) -> Policy:
        """A route's noise controls: its channel's (or the owners') own, else the section's."""
        s = self.settings
        return Policy(
            (own and own.quiet_hours) or s.quiet_hours,
            (own and own.digest_over) or s.digest_over,
            (own and own.max_per_run) or s.max_per_run,
        )

    def _channel_target(self, name: str) -> Target:
        channel = self.settings.channels.get(name)
        route = f"channel:{name}"
        if channel is None:
            known = ", ".join(sorted(self.settings.channels)) or "none"
            reason = f"no channel `{name}` in the config's `notifications.channels` (defined: {known})"
            return Target(route, self._policy(None), _Refused(reason))
        return Target(route, self._policy(channel), self._sender(name, channel))

    def _sender(self, name: str, channel: ChannelBase) -> Sender:
        built = self._build(name, lambda: _make_sender(channel, self._bot))
        if isinstance(built, SlackBot):  # a slack channel's bot, shared with the direct messages
            return SlackChannelSender(built, getattr(channel, "channel", ""))
        return built

    def _build(self, key: str, make: Callable[[], Sender | SlackBot]) -> Sender | SlackBot:
        """The sender (or bot) of channel ``key``, built once; one whose secret cannot be read
        is a refused target saying so, at the config's line."""
        with self._lock:
            if key not in self._built:
                try:
                    self._built[key] = make()
                except ConfigError as exc:
                    self._built[key] = _Refused("; ".join(str(p) for p in exc.problems))
            return self._built[key]

    def _bot(self, channel: SlackChannel) -> SlackBot:
        return SlackBot(channel.secret("token"), channel.api_url, channel.timeout, _tls(channel))

    # -- owners --------------------------------------------------------------------------------

    def _owner_targets(self, owner_id: str) -> list[Target]:
        delivery = self.settings.owners
        s = self.settings
        policy = Policy(s.quiet_hours, s.digest_over, s.max_per_run)
        if delivery is None:
            reason = (
                "the config has no `notifications.owners`: say how owners are reached (slack, email or both)"
            )
            return [Target(f"owner:{owner_id}", policy, _Refused(reason))]
        policy = Policy(
            delivery.quiet_hours or s.quiet_hours,
            delivery.digest_over or s.digest_over,
            delivery.max_per_run or s.max_per_run,
        )
        owner = self.owners.get(owner_id)
        vias = ("slack", "email") if delivery.via == "both" else (delivery.via,)
        targets = []
        for via in vias:
            route = f"owner:{owner_id}/{via}"
            if owner is None or not owner.email:
                what = (
                    "is not in the owners file"
                    if owner is None
                    else "has no e-mail address in the owners file"
                )
                targets.append(Target(route, policy, _Refused(f"owner {owner_id} {what}")))
                continue
            targets.append(
                Target(route, policy, self._owner_sender(via, str(getattr(delivery, via)), owner.email))
            )
        return targets

    def _owner_sender(self, via: str, channel_name: str, email: str) -> Sender:
        channel = self.settings.channels.get(channel_name)
        if via == "slack" and isinstance(channel, SlackChannel):
            bot = self._build(channel_name, lambda: self._bot(channel))
            return SlackDirectSender(bot, email) if isinstance(bot, SlackBot) else _refused(bot)
        if via == "email" and isinstance(channel, EmailChannel):
            mail = self._build(channel_name, lambda: _make_sender(channel, self._bot))
            return mail.to_one(email) if isinstance(mail, EmailSender) else _refused(mail)
        return _Refused(f"owners are reached by {via} through `{channel_name}`, which is not a {via} channel")


def _refused(built: Sender | SlackBot) -> Sender:
    return built if isinstance(built, _Refused) else _Refused("unexpected sender for this channel")


def _tls(channel: SlackChannel | SlackWebhookChannel) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=str(channel.ca_file)) if channel.ca_file else None


def _make_sender(channel: ChannelBase, bot: Callable[[SlackChannel], SlackBot]) -> Sender | SlackBot:
    """A channel's sender (a Slack channel's: its bot), reading its secrets now."""
    if isinstance(channel, SlackWebhookChannel):
        return SlackWebhookSender(channel.secret("url"), channel.timeout, _tls(channel))
    if isinstance(channel, SlackChannel):
        return bot(channel)
    if isinstance(channel, TeamsChannel):
        return TeamsSender(channel.secret("url"), channel.timeout, channel.ca_file)
    if isinstance(channel, EmailChannel):
        password = channel.secret("password") if channel.user else None
        return EmailSender(
            channel.host, channel.port, channel.sender, channel.to, channel.starttls, channel.user,
            password, channel.timeout, channel.ca_file,
        )  # fmt: skip
    if isinstance(channel, WebhookChannel):
        return WebhookSender(channel.url, channel.secret("secret"), channel.timeout, channel.ca_file)
    raise TypeError(f"unknown channel type {type(channel).__name__}")
