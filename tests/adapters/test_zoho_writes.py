"""Writing to Zoho: 207 mixed results, RECORD_LOCKED, setup, the mapping's errors (tasks: test_zoho_tasks)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadsync.adapters.zoho.mapping import load_mapping
from leadsync.api import ConfigError, ContactChange
from leadsync.model import BUILTIN_REASONS
from tests.adapters.test_zoho_fake import FakeZoho, make_adapter, zoho_fixture  # noqa: F401

_INVALID = {"code": "INVALID_DATA", "details": {"api_name": "Lead_Status", "id": "x"},
            "message": "picklist not found in record layout", "status": "error"}  # fmt: skip


class TestWrites:
    def test_207_mixed_results_one_per_change(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 3)
        zoho.refuse[leads[1]] = _INVALID
        crm = make_adapter()
        results = crm.write_contacts([ContactChange(cid, {"score": 42.0, "owner_id": "u9"}) for cid in leads])
        assert [r.ok for r in results] == [True, False, True]
        assert "INVALID_DATA" in str(results[1].error) and "[Lead_Status]" in str(results[1].error)
        assert not results[1].retryable
        put = next(s for s in zoho.sent if s.method == "PUT")
        assert put.path == "/crm/v8/Leads" and put.body["trigger"] == []
        assert put.body["data"][0] == {"id": leads[0], "Leadsync_Score": 42, "Owner": {"id": "u9"}}

    def test_stage_dates_and_clearing(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 1)[0]
        at = datetime(2026, 11, 21, 9, 30, 15, 123, tzinfo=UTC)
        change = ContactChange(lead, {"stage": "mql", "mql_at": at, "disqualification_reason": None})
        assert make_adapter().write_contacts([change])[0].ok
        sent = next(s for s in zoho.sent if s.method == "PUT").body["data"][0]
        assert sent["Lead_Status"] == "Marketing Qualified"
        assert sent["Leadsync_MQL_At"] == "2026-11-21T09:30:15+00:00" and sent["Leadsync_Reason"] is None

    def test_record_locked_is_retried_then_left_to_the_outbox(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 2)
        zoho.locked = {leads[0]: 2, leads[1]: 99}
        crm = make_adapter()
        crm._writer.sleep = lambda s: None
        results = crm.write_contacts([ContactChange(cid, {"score": 1}) for cid in leads])
        assert results[0].ok
        assert not results[1].ok and results[1].retryable and "RECORD_LOCKED" in str(results[1].error)

    def test_workflows_run_only_when_the_options_say(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 1)[0]
        make_adapter(triggers=["workflow"]).write_contacts([ContactChange(lead, {"score": 3})])
        assert next(s for s in zoho.sent if s.method == "PUT").body["trigger"] == ["workflow"]

    def test_an_unknown_id_fails_alone(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 1)[0]
        results = make_adapter().write_contacts(
            [ContactChange("404", {"score": 1}), ContactChange(lead, {"score": 1})]
        )
        assert [r.ok for r in results] == [False, True]


class TestSetup:
    def test_setup_creates_fields_once(self, zoho: FakeZoho) -> None:
        first = make_adapter().setup(BUILTIN_REASONS)
        second = make_adapter().setup(BUILTIN_REASONS)
        assert any(line.startswith("created Leads.Leadsync_Score") for line in first)
        assert any(line.startswith("created Tasks.Leadsync_Key") for line in first)
        assert not any(line.startswith("created") for line in second)
        assert any("already there" in line for line in second)
        posts = [s for s in zoho.sent if s.method == "POST" and s.path == "/crm/v8/settings/fields"]
        reason = next(
            p.body["fields"][0] for p in posts if p.body["fields"][0]["field_label"] == "Leadsync Reason"
        )
        assert {"display_value": "No budget", "actual_value": "no_budget"} in reason["pick_list_values"]

    def test_check_names_missing_scopes_and_fields(self, zoho: FakeZoho) -> None:
        zoho.token_body = {"access_token": "1000.t", "api_domain": "https://www.zohoapis.test",
                           "expires_in": 3600, "scope": "ZohoCRM.modules.ALL ZohoCRM.users.READ"}  # fmt: skip
        report = make_adapter().check()
        assert not report.ok
        assert (
            "ZohoCRM.settings.fields.ALL" in report.missing_scopes
            and "ZohoCRM.org.READ" in report.missing_scopes
        )
        assert "ZohoCRM.modules.leads.ALL" not in report.missing_scopes
        assert "Acme" in report.account
        # COQL is only for listings past 100,000 records: reported, not required
        assert "ZohoCRM.coql.READ" not in report.missing_scopes
        assert any(d.startswith("ZohoCRM.coql.READ: not granted") for d in report.details)


class TestMapping:
    def test_every_problem_has_its_line(self, tmp_path: Path) -> None:
        bad = tmp_path / "zoho.yaml"
        bad.write_text(
            "version: 1\n"
            "modules: [Leads]\n"
            "Leads:\n"
            "  fields:\n"
            "    email: Email\n"
            "    titel: Designation\n"
            "  stage:\n"
            "    field: Lead Status\n"
            "    stages: {mql: Marketing Qualified, sqll: Sales Qualified}\n"
            "activities:\n"
            "  calls: {type: phone_call}\n",
            encoding="utf-8",
        )
        with pytest.raises(ConfigError) as caught:
            load_mapping(bad)
        text = str(caught.value)
        assert f"{bad}:6: unknown canonical contact field `titel`" in text and "did you mean `title`" in text
        assert f"{bad}:8: `Lead Status` is not a Zoho field API name" in text
        assert f"{bad}:9: unknown stage `sqll`" in text
        assert f"{bad}:11: unknown activity type `phone_call`" in text
        assert f"{bad}:4: `score` must be mapped" in text

    def test_more_than_50_fields_are_refused(self, tmp_path: Path) -> None:
        packaged = Path("mappings/zoho.yaml").read_text(encoding="utf-8")
        extra = "".join(f"    extra_{i}: Extra_{i}\n" for i in range(30))
        text = packaged.replace(
            "    timeline: Timeline                #", extra + "    timeline: Timeline  #", 1
        )
        path = tmp_path / "big.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match="Zoho reads at most 50 a call"):
            load_mapping(path)

    def test_the_packaged_mapping_loads(self) -> None:
        mapping = load_mapping()
        assert set(mapping.modules) == {"Leads", "Contacts"}
        assert mapping.modules["Leads"].fields["title"].field == "Designation"
