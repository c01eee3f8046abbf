"""mappings/salesforce.yaml: the packaged file loads, and every mistake is named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadsync.adapters.salesforce.mapping import HISTORY, default_mapping_path, load_mapping
from leadsync.api import ConfigError


def _broken(tmp_path: Path, old: str, new: str) -> list[str]:
    text = default_mapping_path().read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "salesforce.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    return [f"{p.line}: {p.message}" for p in caught.value.problems]


def _line_of(text: str) -> int:
    lines = default_mapping_path().read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


class TestPackagedMapping:
    def test_reads_leads_and_contacts(self) -> None:
        m = load_mapping()
        assert list(m.objects) == ["Lead", "Contact"] and m.queues == "holding"
        lead = m.objects["Lead"]
        assert lead.fields["email"].field == "Email" and lead.stage.field == "Status"
        assert {"Id", "SystemModstamp", "IsConverted", "ConvertedContactId", "Budget_Status__c"} <= set(
            lead.select()
        )
        assert lead.stage.changed_at == HISTORY

    def test_lead_status_reads_and_writes(self) -> None:
        stage = load_mapping().objects["Lead"].stage
        assert stage.read("Marketing Qualified") == "mql"
        assert stage.read("Working - Contacted") == "sql"  # also_read
        assert stage.read("Some Custom Status") == "opportunity"  # unknown
        assert stage.write("nurture") == "Nurture" and stage.write("customer") is None

    def test_an_empty_contact_stage_is_sales_territory(self) -> None:
        stage = load_mapping().objects["Contact"].stage
        assert stage.read(None) == "opportunity" and stage.read("mql") == "mql"

    def test_values_translate_both_ways(self) -> None:
        source = load_mapping().objects["Lead"].fields["lead_source"]
        assert source.read("Phone Inquiry") == "phone_inquiry" and source.read("Unlisted") == "Unlisted"
        assert source.write("phone_inquiry") == "Phone Inquiry" and source.write(None) is None

    def test_parent_fields_are_read_only(self) -> None:
        contact = load_mapping().objects["Contact"]
        assert not contact.fields["company"].writable and contact.fields["score"].writable
        assert "company" not in contact.written_fields() and contact.written_fields()["stage"] == (
            "Leadsync_Stage__c"
        )

    def test_campaign_types_become_activities(self) -> None:
        acts = load_mapping().activities
        assert acts.campaign("Webinar") == ("webinar_attended", {"completed": True})
        assert acts.campaign("Podcast") == ("form_submission", {})
        assert acts.call_outcomes["left voicemail"] == "voicemail"

    def test_campaign_names_come_before_types(self) -> None:
        acts = load_mapping().activities
        assert acts.campaign("Other", "Website: Demo Request") == ("demo_request", {})
        assert acts.campaign("Content Syndication", "Website: Case Study Download") == (
            "content_download",
            {"asset_type": "case_study"},
        )
        assert acts.campaign("Webinar", "Webinar: Lead Scoring 101") == (
            "webinar_attended",
            {"completed": True},
        )


class TestBadMappings:
    def test_a_bad_campaign_name_pattern(self, tmp_path: Path) -> None:
        problems = _broken(tmp_path, '"(?i)demo"', '"(?i)demo("')
        assert "`name_matches` is not a regular expression" in problems[0]

    def test_unknown_canonical_field(self, tmp_path: Path) -> None:
        problems = _broken(tmp_path, "    title: Title\n", "    titel: Title\n")
        assert problems == [
            f"{_line_of('    title: Title')}: unknown canonical contact field `titel`; did you mean `title`?"
        ]

    def test_not_an_api_name(self, tmp_path: Path) -> None:
        problems = _broken(tmp_path, "    title: Title\n", "    title: Job Title\n")
        assert "`Job Title` is not a Salesforce field API name" in problems[0]

    def test_writing_a_parent_field(self, tmp_path: Path) -> None:
        old = "    score: Leadsync_Score__c\n    score_breakdown"
        problems = _broken(tmp_path, old, "    score: Account.Score__c\n    score_breakdown")
        assert "a parent record's field; leadsync cannot write it" in problems[0]

    def test_unknown_stage_and_shared_value(self, tmp_path: Path) -> None:
        problems = _broken(tmp_path, "      sql: Sales Qualified\n", "      sqll: Marketing Qualified\n")
        assert any("unknown stage `sqll`; did you mean `sql`?" in p for p in problems)

    def test_unknown_activity_type(self, tmp_path: Path) -> None:
        problems = _broken(tmp_path, "    Email: email_click\n", "    Email: email_clik\n")
        assert problems == [
            f"{_line_of('    Email: email_click')}: unknown activity type `email_clik`; did you mean "
            "`email_click`?; declare it in `custom_types`"
        ]

    def test_required_field_missing(self, tmp_path: Path) -> None:
        problems = _broken(tmp_path, "    owner_id: OwnerId             # a User", "    # a User")
        assert any("`owner_id` must be mapped" in p for p in problems)

    def test_objects_must_be_known(self, tmp_path: Path) -> None:
        problems = _broken(tmp_path, "objects: [Lead, Contact]", "objects: [Lead, Account]")
        assert problems == [
            f"{_line_of('objects: [Lead, Contact]')}: `objects` must list Lead, Contact or both"
        ]
