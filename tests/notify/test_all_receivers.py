"""``python -m leadsync.sandboxes.notify`` starts the four receivers and says where they are."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests

from leadsync.sandboxes.notify.slack import SlackReceiver


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


def test_faults_and_what_was_received_over_the_back_door(slack: SlackReceiver) -> None:
    url = slack.add_webhook("hot-leads")
    answer = requests.post(slack.url + "/__sandbox/faults", json={"storm": 1}, timeout=5)
    assert answer.json()["storm"] == 1
    requests.post(slack.url + "/__sandbox/limits", json={"retry_after": 9}, timeout=5)
    first = requests.post(url, json={"text": "hi"}, timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "9"
    assert requests.post(url, json={"text": "hi"}, timeout=5).text == "ok"
    [got] = requests.get(slack.url + "/__sandbox/received", timeout=5).json()
    assert got["endpoint"] == "webhook" and got["body"]["text"] == "hi"
    stats = requests.get(slack.url + "/__sandbox/stats", timeout=5).json()
    assert stats["by_status"] == {"200": 1, "429": 1} and stats["faults"] == {"storm": 1}
    requests.post(slack.url + "/__sandbox/reset", timeout=5)
    assert slack.received() == []
