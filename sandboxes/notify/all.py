"""All four notification receivers together, for the demo and a person trying a config by hand:
started on free ports of 127.0.0.1, with one Slack channel, webhook and user, one Teams flow and one
signed hook, and the environment variables a ``notifications:`` section would read (printed as one
JSON object, sandbox secrets only).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Self

from leadsync.sandboxes.notify.slack import SlackReceiver
from leadsync.sandboxes.notify.smtp import SmtpReceiver
from leadsync.sandboxes.notify.teams import TeamsReceiver
from leadsync.sandboxes.notify.webhook import WebhookReceiver

__all__ = ["NotifyReceivers", "main"]


@dataclass
class NotifyReceivers:
    slack: SlackReceiver = field(default_factory=SlackReceiver)
    teams: TeamsReceiver = field(default_factory=lambda: TeamsReceiver(tls=True))
    smtp: SmtpReceiver = field(default_factory=SmtpReceiver)
    hooks: WebhookReceiver = field(default_factory=lambda: WebhookReceiver(tls=True))
    env: dict[str, str] = field(default_factory=dict)  # what a notifications: section reads
    where: dict[str, Any] = field(default_factory=dict)  # URLs, ports and the CA file to trust

    def start(self) -> Self:
        for receiver in (self.slack, self.teams, self.smtp, self.hooks):
            receiver.start()
        self.slack.add_channel("sales-leads")
        hook_url, hook_secret = self.hooks.add_hook("ops")
        self.env = {
            "SLACK_WEBHOOK_URL": self.slack.add_webhook("hot-leads"),
            "SLACK_BOT_TOKEN": self.slack.token,
            "TEAMS_WORKFLOW_URL": self.teams.add_flow("managers"),
            "SMTP_PASSWORD": self.smtp.password,
            "WEBHOOK_SECRET": hook_secret,
        }
        self.where = {
            "slack_api_url": self.slack.url + "/api/",
            "smtp": {"host": self.smtp.host, "port": self.smtp.smtp_port, "user": self.smtp.user},
            "smtp_control_url": self.smtp.control_url,
            "webhook_url": hook_url,
            "ca_file": self.teams.ca_file,
        }
        return self

    def stop(self) -> None:
        for receiver in (self.slack, self.teams, self.smtp, self.hooks):
            receiver.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> dict[str, Any]:
        return {"env": self.env, **self.where}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m leadsync.sandboxes.notify", description=__doc__.split("\n")[0]
    )
    parser.parse_args(argv)
    receivers = NotifyReceivers().start()
    print(json.dumps(receivers.describe()), flush=True)
    try:
        receivers.slack.serve_until_interrupted()
    finally:
        receivers.stop()
        sys.stdout.flush()
