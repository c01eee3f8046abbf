"""``python -m leadsync.sandboxes.notify`` starts the four receivers and says where they are."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests


def test_the_command_line_serves_all_four_until_interrupted() -> None:
    command = [sys.executable, "-m", "leadsync.sandboxes.notify"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            described = json.loads(process.stdout.readline())
            names = {
                "SLACK_WEBHOOK_URL",
                "SLACK_BOT_TOKEN",
                "TEAMS_WORKFLOW_URL",
                "SMTP_PASSWORD",
                "WEBHOOK_SECRET",
            }
            assert set(described["env"]) == names
            answer = requests.post(described["env"]["SLACK_WEBHOOK_URL"], json={"text": "hi"}, timeout=5)
            assert answer.text == "ok"
            stats = requests.get(described["smtp_control_url"] + "/__sandbox/stats", timeout=5).json()
            assert stats["requests"] == 0
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
