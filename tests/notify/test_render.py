"""The rendered messages: Block Kit within Slack's limits, Adaptive Cards 1.4, e-mail multipart
with everything escaped, webhook JSON; the words shared by all, in the labels' language."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from leadsync.notify.blocks import MAX_BLOCKS, slack_digest, slack_notice
from leadsync.notify.cards import CARD_TYPE, teams_digest, teams_notice
from leadsync.notify.mail import email_digest, email_notice
from leadsync.notify.notice import Digest, Notice, words
from leadsync.notify.payload import webhook_digest, webhook_notice
from leadsync.sandboxes.notify.slack import _blocks_problem
from leadsync.sandboxes.notify.teams import card_problem
from tests.notify.conftest import make_notice

BLOCK_TYPES = {"header", "section", "actions", "context", "divider"}


def _texts(value: Any) -> list[str]:
    """Every ``text`` string inside a Block Kit or card structure."""
    if isinstance(value, dict):
        return [
            t for k, v in value.items() for t in ([v] if k == "text" and isinstance(v, str) else _texts(v))
        ]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


class TestWords:
    def test_who_why_what_by_when_and_where(self, notice: Notice) -> None:
        w = words(notice)
        assert w.headline == "New SQL: Ada Lovelace (Acme <Analytical> & Co)"
        assert w.who == "Ada Lovelace · CTO · Acme <Analytical> & Co"
        facts = dict(w.facts)
        assert facts["Score"] == "130"
        assert facts["Top rules"] == "demo_request (+50), title_cxo (+30), free_mail (-10)"
        assert facts["BANT"] == "budget: yes; timeline: Q1"
        assert (
            facts["First touch due"] == "2026-12-07 13:00 Europe/Madrid (Mon)"
        )  # 12:00 UTC, in the owner's zone
        assert facts["Attempts so far"] == "1 / 5"
        assert w.link == notice.record_url

    def test_labels_translate_the_words(self) -> None:
        labels = {
            "trigger.sla_breached": "SLA verletzt",
            "todo.breached": "Jetzt anrufen.",
            "score": "Punkte",
        }
        w = words(make_notice(trigger="sla_breached", labels=labels))
        assert w.headline.startswith("SLA verletzt: ") and w.todo == "Jetzt anrufen."
        assert dict(w.facts)["Punkte"] == "130"

    def test_a_contact_with_only_an_id_still_reads(self) -> None:
        w = words(Notice("assigned:C9:t", "assigned", ("owner:u1",), "C9"))
        assert w.headline == "Lead assigned to you: C9" and w.facts == () and w.link is None


class TestSlack:
    def test_block_kit_structure_and_limits(self, notice: Notice) -> None:
        body = slack_notice(notice)
        assert body["text"] and _blocks_problem(body["blocks"]) is None
        assert {b["type"] for b in body["blocks"]} <= BLOCK_TYPES
        header = body["blocks"][0]
        assert header == {
            "type": "header",
            "text": {"type": "plain_text", "text": header["text"]["text"], "emoji": False},
        }
        fields = next(b for b in body["blocks"] if "fields" in b)["fields"]
        assert len(fields) <= 10 and all(f["type"] == "mrkdwn" for f in fields)
        [actions] = [b for b in body["blocks"] if b["type"] == "actions"]
        assert actions["elements"][0]["url"] == notice.record_url
        json.dumps(body)

    def test_what_a_contact_wrote_cannot_mention_or_link(self) -> None:
        body = slack_notice(make_notice(name="<!channel> <https://evil.example|click>", company="A&B"))
        mrkdwn = [t for t in _texts(body["blocks"][1:]) if "channel" in t or "A&" in t]
        assert mrkdwn and all("<!channel>" not in t and "<https://evil" not in t for t in mrkdwn)
        assert any("&lt;!channel&gt;" in t for t in mrkdwn)

    def test_a_long_name_is_cut_to_the_headers_150(self) -> None:
        body = slack_notice(make_notice(name="x" * 400))
        assert len(body["blocks"][0]["text"]["text"]) == 150

    def test_a_digest_of_many_stays_within_50_blocks_and_counts_the_rest(self) -> None:
        digest = Digest("channel:hot-leads", tuple(make_notice(f"k{i}") for i in range(120)))
        body = slack_digest(digest)
        assert len(body["blocks"]) <= MAX_BLOCKS and _blocks_problem(body["blocks"]) is None
        assert body["text"] == "120 notices: channel:hot-leads"
        assert body["blocks"][-1]["elements"][0]["text"] == f"+{120 - (MAX_BLOCKS - 3)} …"


class TestTeams:
    def test_an_adaptive_card_1_4_in_the_workflows_envelope(self, notice: Notice) -> None:
        message = teams_notice(notice)
        assert card_problem(message) is None
        [attachment] = message["attachments"]
        card = attachment["content"]
        assert message["type"] == "message" and attachment["contentType"] == CARD_TYPE
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        facts = next(e for e in card["body"] if e["type"] == "FactSet")["facts"]
        assert {"title": "Score", "value": "130"} in facts
        assert card["actions"] == [
            {"type": "Action.OpenUrl", "title": "Open in CRM", "url": notice.record_url}
        ]

    def test_markdown_in_what_a_contact_wrote_is_escaped(self) -> None:
        card = teams_notice(make_notice(name="*[x](https://evil.example)*", company=None))
        assert (
            card["attachments"][0]["content"]["body"][0]["text"]
            == "New SQL: \\*\\[x\\](https://evil.example)\\*"
        )

    def test_a_digest_is_one_card(self) -> None:
        message = teams_digest(Digest("channel:managers", tuple(make_notice(f"k{i}") for i in range(3))))
        assert card_problem(message) is None
        assert len(json.dumps(message)) < 28_000  # a Workflows message's size limit


class TestEmail:
    def test_multipart_alternative_text_then_html_all_escaped(self) -> None:
        mail = email_notice(
            make_notice(name="<script>alert(1)</script>"), "ls@example.com", ["a@example.com"]
        )
        assert mail.get_content_type() == "multipart/alternative"
        plain, html = (p.get_content() for p in mail.iter_parts())
        assert "<script>" in plain and "<script>" not in html and "&lt;script&gt;" in html
        assert f'href="{make_notice().record_url}"' in html
        assert mail["Auto-Submitted"] == "auto-generated"

    def test_a_line_break_in_a_name_cannot_add_a_header(self) -> None:
        mail = email_notice(
            make_notice(name="Eve\r\nBcc: all@example.com"), "ls@example.com", ["a@example.com"]
        )
        assert mail["Bcc"] is None and "\n" not in str(mail["Subject"])

    def test_a_digest_lists_every_notice(self) -> None:
        mail = email_digest(
            Digest("channel:marketing", (make_notice("k1"), make_notice("k2"))), "l@x.io", ["m@x.io"]
        )
        plain = mail.get_body(("plain",))
        assert plain is not None and plain.get_content().count("* New SQL") == 2


class TestWebhook:
    def test_the_json_has_ids_utc_times_and_the_words(self, notice: Notice) -> None:
        body = webhook_notice(notice)
        assert body["key"] == notice.key and body["recipients"] == ["owner:u1", "channel:sales-leads"]
        assert body["sla"]["due_at"] == "2026-12-07T12:00:00Z" and body["score"] == 130
        assert body["top_rules"][0] == {"rule": "demo_request", "points": 50}
        digest = webhook_digest(Digest("channel:ops", (notice,)))
        assert digest["type"] == "digest" and digest["notices"] == [body]
        assert datetime(2026, 12, 7, 12, tzinfo=UTC) == notice.due_at
