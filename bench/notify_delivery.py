#!/usr/bin/env python3
"""What delivering notifications costs leadsync (issue 16, the delivery half): CPU per notice to
plan (quiet hours, digests, caps) and render (Block Kit, Adaptive Card, e-mail, webhook JSON), and
CPU and wall time per message sent to each local receiver.

    python bench/notify_delivery.py [--notices 10000] [--sends 50] [--json]

The receivers run in this process (their CPU counts too: an upper bound for the senders'); their
rate limits are off, so the figures are leadsync's overhead, not Slack's pacing. How many messages
a burst becomes is printed too: ``--notices`` crossing the MQL bar for one channel in one run are
one digest message (``digest_over`` 10), so Slack's one message a second per channel holds.
Prints a Markdown table (or, with ``--json``, one line of JSON); exits 0.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from leadsync.notify.blocks import slack_notice
from leadsync.notify.cards import teams_notice
from leadsync.notify.http import TeamsSender, WebhookSender
from leadsync.notify.mail import email_notice
from leadsync.notify.noise import Due, Merged, Policy, plan_run
from leadsync.notify.notice import Notice, RuleHit
from leadsync.notify.payload import webhook_notice
from leadsync.notify.slack import SlackBot, SlackChannelSender, SlackWebhookSender
from leadsync.notify.smtp import EmailSender
from leadsync.notify.targets import Sender
from leadsync.rules.clock import Calendar
from leadsync.sandboxes.notify.all import NotifyReceivers

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Madrid: open


def notices(n: int) -> list[Notice]:
    due = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)
    hits = (RuleHit("demo_request", 50), RuleHit("title_cxo", 30), RuleHit("visits_pricing", 20))
    return [
        Notice(
            f"stage_mql:C{i}:2026-12-08T09:00:00Z",
            "stage_mql",
            ("channel:hot-leads",),
            f"C{i}",
            f"Contact {i}",
            f"c{i}@example.com",
            f"Company {i % 97}",
            "VP Sales",
            "mql",
            120 + i % 50,
            hits,
            {"budget": "yes"},
            "u1",
            "Grace Hopper",
            due,
            "Europe/Madrid",
            0,
            5,
            f"https://app.hubspot.com/contacts/1/record/0-1/C{i}",
        )
        for i in range(n)
    ]


def cpu_per(items: list[Notice], work: Callable[[Notice], object]) -> float:
    start = time.process_time()
    for item in items:
        work(item)
    return (time.process_time() - start) / max(1, len(items))


def sends(sender: Sender, items: list[Notice]) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    outcomes = [type(sender.send(item)).__name__ for item in items]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    delivered = outcomes.count("Delivered")
    return {"messages": len(items), "delivered": delivered, "ms_per_message": 1000 * wall / len(items),
            "cpu_ms_per_message": 1000 * cpu / len(items)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--sends", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    items = notices(args.notices)
    office = Calendar(ZoneInfo("Europe/Madrid"), frozenset(range(5)), clock_time(9), clock_time(17))
    start = time.process_time()
    plans = plan_run([Due("channel:hot-leads", Policy(), n) for n in items], NOW, office)
    plan_cpu = (time.process_time() - start) / len(items)
    messages = len({id(p.digest) if isinstance(p, Merged) else key for key, p in plans.items()})
    render = {
        "slack_block_kit": cpu_per(items, slack_notice),
        "teams_adaptive_card": cpu_per(items, teams_notice),
        "email_text_html": cpu_per(
            items, lambda n: email_notice(n, "l@example.com", ["m@example.com"]).as_bytes()
        ),
        "webhook_json": cpu_per(items, webhook_notice),
    }
    few = items[: args.sends]
    with NotifyReceivers() as r:
        r.slack.set_limits(per_channel_per_second=0)
        ca = Path(r.where["ca_file"])
        url, secret = r.hooks.add_hook("bench")
        senders: dict[str, Sender] = {
            "slack_webhook": SlackWebhookSender(SecretStr(r.env["SLACK_WEBHOOK_URL"])),
            "slack_bot": SlackChannelSender(
                SlackBot(SecretStr(r.slack.token), r.where["slack_api_url"]), "sales-leads"
            ),
            "teams_https": TeamsSender(SecretStr(r.env["TEAMS_WORKFLOW_URL"]), 10, ca),
            "webhook_https": WebhookSender(url, SecretStr(secret), 10, ca),
            "email_starttls_auth": EmailSender(
                r.smtp.host,
                r.smtp.smtp_port,
                "l@example.com",
                ["m@example.com"],
                True,
                r.smtp.user,
                SecretStr(r.smtp.password),
                10,
                ca,
            ),
        }
        sent = {name: sends(sender, few) for name, sender in senders.items()}
    result = {
        "notices": args.notices,
        "messages_for_one_channel": messages,
        "plan_us_per_notice": 1e6 * plan_cpu,
        "render_us_per_notice": {k: 1e6 * v for k, v in render.items()},
        "send": sent,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.notices} notices for one channel in one run: planned as {messages} message(s), "
          f"{result['plan_us_per_notice']:.1f} µs CPU per notice\n")  # fmt: skip
    print("| format | CPU µs per notice |\n|---|---|")
    for name, us in result["render_us_per_notice"].items():
        print(f"| {name} | {us:.1f} |")
    print(
        f"\n| channel ({args.sends} sends, local receiver) | delivered | ms per message"
        " | CPU ms per message |"
    )
    print("|---|---|---|---|")
    for name, s in sent.items():
        print(
            f"| {name} | {s['delivered']:.0f} | {s['ms_per_message']:.2f} | {s['cpu_ms_per_message']:.2f} |"
        )


if __name__ == "__main__":
    main()
