"""`bench/notify_delivery.py` runs at HEAD on a tiny input: every format rendered, every channel
type sent to and delivered, a burst for one channel planned as one digest."""

from __future__ import annotations

import json

from tests.bench.runbench import run_bench


def test_the_notify_bench_reports_every_format_and_channel() -> None:
    result = json.loads(run_bench("notify_delivery.py", "--notices", "30", "--sends", "2", "--json").stdout)
    assert result["messages_for_one_channel"] == 1  # 30 > digest_over 10: one digest
    assert set(result["render_us_per_notice"]) == {
        "slack_block_kit", "teams_adaptive_card", "email_text_html", "webhook_json",
    }  # fmt: skip
    assert {name: s["delivered"] for name, s in result["send"].items()} == {
        "slack_webhook": 2, "slack_bot": 2, "teams_https": 2, "webhook_https": 2, "email_starttls_auth": 2,
    }  # fmt: skip
