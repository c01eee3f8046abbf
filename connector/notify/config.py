"""The ``notifications:`` section of the daemon's config file (``leadsync.yaml``, never the rules):
named channels, how owners are reached, and the noise controls.

    notifications:
      quiet_hours: business_hours      # default: hold notices outside the rules' business hours
      digest_over: 10                  # more than 10 due for one channel in one run: one digest
      max_per_run: 200                 # per channel and run; the rest wait for the next run
      channels:
        hot-leads:   {type: slack_webhook, url_env: SLACK_HOT_LEADS_URL}
        sales-leads: {type: slack, token_env: SLACK_BOT_TOKEN, channel: "#sales-leads"}
        managers:    {type: teams, url_file: /run/secrets/teams-managers-url, quiet_hours: none}
        marketing:   {type: email, host: smtp.example.com, port: 587, user: leadsync,
                      password_env: SMTP_PASSWORD, from: leadsync@example.com,
                      to: [marketing@example.com]}
        ops:         {type: webhook, url: "https://ops.example.com/hooks/leadsync",
                      secret_env: OPS_HOOK_SECRET}
      owners: {via: both, slack: sales-leads, email: marketing}
      record_urls: {hubspot: "https://app.hubspot.com/contacts/12345678/record/0-1/{id}"}

Every secret (a webhook URL with its token, a bot token, an SMTP password, an HMAC secret) comes
from an environment variable (``*_env``) or a file (``*_file``), is read only when a sender is
built, and is held as ``SecretStr``; a missing one is a ``FILE:LINE`` problem at its key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from leadsync.errors import ConfigError, Problem
from leadsync.rules.conditions import did_you_mean
from leadsync.rules.yamlsource import Path_, YamlSource

__all__ = [
    "Channel",
    "ChannelBase",
    "EmailChannel",
    "NotificationSettings",
    "OwnerDelivery",
    "SlackChannel",
    "SlackWebhookChannel",
    "TeamsChannel",
    "WebhookChannel",
    "error_location",
    "notification_problems",
]

QuietHours = Literal["business_hours", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ChannelBase(_Model):
    """What every channel may set: its noise controls (else the section's) and its time-out."""

    quiet_hours: QuietHours | None = None
    digest_over: int | None = Field(default=None, ge=1)
    max_per_run: int | None = Field(default=None, ge=1)
    timeout: float = Field(default=10.0, gt=0, le=120)
    _at: tuple[str, dict[str, int]] = PrivateAttr(default=("config", {}))

    # Secrets of this channel type: the name its `NAME_env` / `NAME_file` keys share.
    SECRETS: ClassVar[tuple[str, ...]] = ()

    def secret(self, name: str) -> SecretStr:
        """The secret ``name`` (``url``, ``token``, ``password``, ``secret``) from its variable or file."""
        env: str | None = getattr(self, f"{name}_env", None)
        file: Path | None = getattr(self, f"{name}_file", None)
        if env:
            value = os.environ.get(env)
            if not value:
                raise self._problem(f"{name}_env", f"the environment variable {env} is not set; export it")
            return SecretStr(value.strip())
        if file:
            try:
                return SecretStr(file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise self._problem(f"{name}_file", f"cannot read {file}: {exc.strerror}") from None
        raise self._problem("type", f"give `{name}_env` or `{name}_file`")

    def _problem(self, key: str, text: str) -> ConfigError:
        file, lines = self._at
        return ConfigError([Problem(file, lines.get(key, lines.get("", 0)), text)])

    def located(self, file: str, lines: dict[str, int], base: Path) -> ChannelBase:
        """A copy knowing its keys' lines, relative ``*_file`` paths taken from ``base``."""
        update = {
            k: v if v.is_absolute() else base / v
            for k, v in self.__dict__.items()
            if k.endswith("_file") and isinstance(v, Path)
        }
        copy = self.model_copy(update=update)
        copy._at = (file, lines)
        return copy


class SlackWebhookChannel(ChannelBase):
    """A Slack incoming webhook: the URL holds the token, so it is a secret."""

    type: Literal["slack_webhook"]
    url_env: str | None = None
    url_file: Path | None = None
    ca_file: Path | None = None
    SECRETS = ("url",)


class SlackChannel(ChannelBase):
    """A Slack channel written to by a bot token (``chat.postMessage``)."""

    type: Literal["slack"]
    channel: str = Field(min_length=1)
    token_env: str | None = None
    token_file: Path | None = None
    api_url: str = "https://slack.com/api/"
    ca_file: Path | None = None
    SECRETS = ("token",)


class TeamsChannel(ChannelBase):
    """A Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received")."""

    type: Literal["teams"]
    url_env: str | None = None
    url_file: Path | None = None
    ca_file: Path | None = None
    SECRETS = ("url",)


class EmailChannel(ChannelBase):
    """An e-mail list over SMTP (STARTTLS unless ``starttls: false``, AUTH when a password is given)."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    user: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(default_factory=list)
    ca_file: Path | None = None
    SECRETS = ("password",)


class WebhookChannel(ChannelBase):
    """A generic HTTPS webhook, each request signed with HMAC-SHA256 and a timestamp."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = None
    secret_file: Path | None = None
    ca_file: Path | None = None
    SECRETS = ("secret",)


Channel = Annotated[
    SlackWebhookChannel | SlackChannel | TeamsChannel | EmailChannel | WebhookChannel,
    Field(discriminator="type"),
]
CHANNEL_TYPES: dict[str, type[ChannelBase]] = {
    "slack_webhook": SlackWebhookChannel,
    "slack": SlackChannel,
    "teams": TeamsChannel,
    "email": EmailChannel,
    "webhook": WebhookChannel,
}


class OwnerDelivery(_Model):
    """How ``owner`` recipients are reached: a Slack direct message (the owner found by e-mail with
    ``users.lookupByEmail``, through the bot of the ``slack`` channel named), an e-mail (through the
    SMTP server and From of the ``email`` channel named), or both."""

    via: Literal["slack", "email", "both"] = "email"
    slack: str | None = None
    email: str | None = None
    quiet_hours: QuietHours | None = None
    digest_over: int | None = Field(default=None, ge=1)
    max_per_run: int | None = Field(default=None, ge=1)


class NotificationSettings(_Model):
    quiet_hours: QuietHours = "business_hours"
    digest_over: int = Field(default=10, ge=1)
    max_per_run: int | None = Field(default=None, ge=1)
    channels: dict[str, Channel] = Field(default_factory=dict)
    owners: OwnerDelivery | None = None
    # Per connection, the CRM's web address of a record, `{id}` standing for the contact's id:
    # the link a notice carries (adapters do not know their portal's or org's web address).
    record_urls: dict[str, str] = Field(default_factory=dict)

    def record_url(self, connection: str, contact_id: str) -> str | None:
        """The link to ``contact_id`` in ``connection``'s CRM, or None when no template is given."""
        template = self.record_urls.get(connection)
        return template.replace("{id}", quote(contact_id, safe="")) if template else None

    def located(self, source: YamlSource, base: Path) -> NotificationSettings:
        """A copy whose channels know their lines (for a secret that cannot be read later)."""
        channels: dict[str, Any] = {}
        for name, channel in self.channels.items():
            at = ("notifications", "channels", name)
            lines = {str(p[3]): n for p, n in source.lines.items() if p[:3] == at and len(p) == 4}
            lines[""] = source.line(at)
            channels[name] = channel.located(source.file, lines, base)
        return self.model_copy(update={"channels": channels})


def error_location(loc: Path_, err: Any) -> tuple[Path_, str | None]:
    """A validation error inside ``notifications.channels.NAME``: pydantic puts the channel's type
    in its location (``...NAME.slack.channel``); the location without it, and for an unknown key
    the message naming the keys that channel type takes (None: the usual message)."""
    if not (len(loc) >= 4 and loc[:2] == ("notifications", "channels") and loc[3] in CHANNEL_TYPES):
        return loc, None
    tag = str(loc[3])
    kind = CHANNEL_TYPES[tag]
    loc = (*loc[:3], *loc[4:])
    if err["type"] != "extra_forbidden":
        return loc, None
    keys = [f.alias or n for n, f in kind.model_fields.items()]
    key = str(loc[-1])
    return loc, f"unknown key `{key}` for a `{tag}` channel" + (
        did_you_mean(key, keys) or f"; it takes {', '.join(keys)}"
    )


def notification_problems(settings: NotificationSettings | None, source: YamlSource) -> list[Problem]:
    """What the schema cannot say: a secret given both ways or not at all, an e-mail list without
    recipients, owners reached through a channel that is not there or not of the right type."""
    if settings is None:
        return []
    problems: list[Problem] = []
    for name, channel in settings.channels.items():
        at = ("notifications", "channels", name)
        for secret in channel.SECRETS:
            env, file = getattr(channel, f"{secret}_env"), getattr(channel, f"{secret}_file")
            if env and file:
                problems.append(source.problem(at, f"give `{secret}_env` or `{secret}_file`, not both"))
            elif not env and not file and not (secret == "password" and not _has_user(channel)):
                hint = (
                    f"name the environment variable (`{secret}_env`) or the file (`{secret}_file`) holding it"
                )
                problems.append(source.problem(at, f"channel `{name}` has no {secret}; {hint}"))
        if isinstance(channel, EmailChannel) and not channel.to:
            problems.append(
                source.problem((*at, "to"), f"channel `{name}` sends to nobody; list addresses in `to`")
            )
    problems += _owner_problems(settings, source)
    for name, template in settings.record_urls.items():
        if "{id}" not in template or not template.startswith(("https://", "http://")):
            text = f"`record_urls.{name}` must be an http(s) URL with `{{id}}` where the contact's id goes"
            problems.append(source.problem(("notifications", "record_urls", name), text))
    return problems


def _has_user(channel: ChannelBase) -> bool:
    return isinstance(channel, EmailChannel) and bool(channel.user)


def _owner_problems(settings: NotificationSettings, source: YamlSource) -> list[Problem]:
    owners = settings.owners
    if owners is None:
        return []
    problems = []
    for via in ("slack", "email"):
        if owners.via not in (via, "both"):
            continue
        name = getattr(owners, via)
        channel = settings.channels.get(name) if name else None
        wanted = SlackChannel if via == "slack" else EmailChannel
        if not isinstance(channel, wanted):
            kind = "slack" if via == "slack" else "email"
            known = sorted(n for n, c in settings.channels.items() if isinstance(c, wanted))
            listed = (
                f" (the `{kind}` channels: {', '.join(known)})" if known else f"; define a `{kind}` channel"
            )
            text = f"owners are reached by {via}: set `owners.{via}` to a channel of type `{kind}`{listed}"
            problems.append(source.problem(("notifications", "owners", via), text))
    return problems
