"""mappings/hubspot.yaml: the packaged file loads, reads back unambiguously, and bad files say FILE:LINE."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from leadsync.adapters.hubspot.mapping import FieldMap, default_mapping_path
from leadsync.adapters.hubspot.mapping_check import load_mapping
from leadsync.api import ConfigError

PACKAGED = default_mapping_path().read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hubspot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_mapping(write(tmp_path, text))
    return [str(p) for p in caught.value.problems]


class TestPackagedMapping:
    def test_loads(self) -> None:
        mapping = load_mapping()
        assert mapping.fields["score"].field == "leadsync_score"
        assert mapping.stages["nurture"].lead_status == "BAD_TIMING"

    @pytest.mark.parametrize(
        ("lifecyclestage", "lead_status", "stage"),
        [
            ("lead", "BAD_TIMING", "nurture"),
            ("lead", "NEW", "lead"),
            ("lead", None, "lead"),
            ("lead", "UNQUALIFIED", "lead"),
            ("other", "UNQUALIFIED", "disqualified"),
            ("other", None, "disqualified"),
            ("subscriber", None, "lead"),
            ("marketingqualifiedlead", "BAD_TIMING", "mql"),
            ("salesqualifiedlead", None, "sql"),
            ("opportunity", "BAD_TIMING", "opportunity"),
            ("evangelist", None, "customer"),
            ("1234567", None, "opportunity"),
            (None, "BAD_TIMING", None),
        ],
    )
    def test_reading_back(
        self, lifecyclestage: str | None, lead_status: str | None, stage: str | None
    ) -> None:
        """Every stage leadsync writes reads back as itself; other values as the comments say."""
        assert load_mapping().stage_of(lifecyclestage, lead_status) == stage

    def test_written_pairs_read_back_as_written(self) -> None:
        mapping = load_mapping()
        for name, held in mapping.stages.items():
            assert mapping.stage_of(held.lifecyclestage, held.lead_status) == name

    def test_conversion_rules(self) -> None:
        acts = load_mapping().activities
        assert acts.conversion_for("Demo request") == ("demo_request", {})
        assert acts.conversion_for("Case Study: logistics") == (
            "content_download",
            {"asset_type": "case_study"},
        )
        assert acts.conversion_for("Newsletter signup") == ("form_submission", {})


class TestProblems:
    def test_unknown_key_with_line_and_suggestion(self, tmp_path: Path) -> None:
        text = PACKAGED.replace("lifecycle:\n", "lifecycel:\n", 1)
        found = problems(tmp_path, text)
        line = text.splitlines().index("lifecycel:") + 1
        assert any(p.startswith(f"{tmp_path}/hubspot.yaml:{line}: unknown key `lifecycel`") for p in found)
        assert any("did you mean `lifecycle`?" in p for p in found)

    def test_unknown_canonical_field(self, tmp_path: Path) -> None:
        text = PACKAGED.replace("  title: jobtitle", "  job_title: jobtitle")
        found = problems(tmp_path, text)
        assert any("unknown canonical contact field `job_title`" in p for p in found)
        assert any("`title`" in p for p in found)

    def test_unknown_stage_and_activity_type(self, tmp_path: Path) -> None:
        text = PACKAGED.replace("    nurture:      {", "    nuture:      {").replace(
            "type: demo_request}", "type: demo_requests}"
        )
        found = problems(tmp_path, text)
        assert any("unknown stage `nuture`; did you mean `nurture`?" in p for p in found)
        assert any("stage `nurture` is not mapped" in p for p in found)
        assert any("unknown activity type `demo_requests`; did you mean `demo_request`?" in p for p in found)

    def test_stages_that_cannot_read_back_apart(self, tmp_path: Path) -> None:
        text = PACKAGED.replace("lead_status: UNQUALIFIED", "lead_status: BAD_TIMING").replace(
            "{lifecyclestage: other,", "{lifecyclestage: lead,"
        )
        found = problems(tmp_path, text)
        assert any("stages `nurture` and `disqualified` are held the same way" in p for p in found)

    def test_bad_regex_and_missing_writable_field(self, tmp_path: Path) -> None:
        text = PACKAGED.replace('"(?i)demo"', '"(?i)demo("').replace(
            "  score: leadsync_score                         # number; HubSpot's own score is left alone\n",
            "",
        )
        found = problems(tmp_path, text)
        assert any("bad regular expression" in p for p in found)
        assert any("`score` must be mapped" in p for p in found)

    def test_yaml_errors_are_config_errors(self, tmp_path: Path) -> None:
        found = problems(tmp_path, "version: 1\ncontact: [\n")
        assert found and found[0].startswith(f"{tmp_path}/hubspot.yaml:")

    def test_ambiguous_yes_no(self, tmp_path: Path) -> None:
        found = problems(tmp_path, PACKAGED.replace("  country: country", "  country: no"))
        assert any("ambiguous" in p for p in found)


class TestFieldMap:
    def test_multiple_values(self) -> None:
        fm = FieldMap("buying_role", "hs_buying_role", {"BUDGET_HOLDER": "economic_buyer"}, multiple=True)
        assert fm.read("BUDGET_HOLDER;CHAMPION") == ["economic_buyer", "CHAMPION"]
        assert fm.write(["economic_buyer", "CHAMPION"]) == "BUDGET_HOLDER;CHAMPION"

    def test_none_clears(self) -> None:
        assert FieldMap("score", "leadsync_score").write(None) == ""
        assert FieldMap("score", "leadsync_score").read("") is None


def test_minimal_custom_file(tmp_path: Path) -> None:
    """Activity sections left out take their defaults."""
    stages = "\n".join(
        f"    {s}: {{lifecyclestage: {v}}}"
        for s, v in [("lead", "lead"), ("mql", "marketingqualifiedlead"), ("sql", "salesqualifiedlead"),
                     ("opportunity", "opportunity"), ("customer", "customer")]
    )  # fmt: skip
    text = (
        textwrap.dedent("""\
        version: 1
        contact:
          created_at: createdate
          owner_id: hubspot_owner_id
          score: s
          score_breakdown: sb
          disqualification_reason: r
          sla_status: ss
          sla_due_at: sd
          mql_at: m
          sql_at: q
          assigned_at: a
        properties: {}
        lifecycle:
          stages:
        """)
        + stages
        + "\n    nurture: {lifecyclestage: lead, lead_status: BAD_TIMING}\n"
        + ("    disqualified: {lifecyclestage: other, lead_status: UNQUALIFIED}\n")
    )
    mapping = load_mapping(write(tmp_path, text))
    assert mapping.activities.call == "call"
    assert mapping.activities.note is None
