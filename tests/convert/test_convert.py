"""``leadsync convert``: CSV rows through a mapping into canonical records, or FILE:LINE errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from leadsync.cli import main
from leadsync.jsonl import load_activities, load_contacts
from leadsync.model import BUILTIN_ACTIVITY_TYPES

MAPPING = """\
version: 1
timezone: Europe/Madrid
missing: ["", "n/a"]
contact_id: Id
join:
  - {name: deal, file: deals.csv, key: lead, by: Id}
contact:
  fields:
    created_at: Created
    email: Email
    employees: {column: Size, type: integer}
    lead_source: {column: Source, map: {web: Website, ads: Paid}}
  properties:
    visits: {column: Visits, type: number}
    newsletter: {column: News, type: boolean}
activities:
  - name: form
    type: form_submission
    at: Created
    when: Form
    properties: {form: Form}
  - name: last
    type: {column: Last, map: {opened: email_open, clicked: email_click}, other: ""}
    at: Created
outcome:
  outcome: {column: deal.lead, other: won}
  at: {column: deal.won, format: "%d/%m/%Y %H:%M"}
"""

LEADS = """\
Id,Created,Email,Size,Source,Visits,News,Form,Last
c1,2026-03-01 10:00:00,a@x.com,50,web,3,yes,contact-us,opened
c2,2026-03-02,b@y.com,n/a,ads,0,no,,phoned
c3,2026-07-01T09:30:00+02:00,,,other,1.5,no,demo,clicked
"""

DEALS = "lead,won\nc1,15/04/2026 18:30\n"


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "map.yaml").write_text(MAPPING)
    (tmp_path / "leads.csv").write_text(LEADS)
    (tmp_path / "deals.csv").write_text(DEALS)
    return tmp_path


class TestConvert:
    def test_contacts_activities_and_outcomes(self, files: Path) -> None:
        out = files / "out"
        result = run("convert", "--mapping", files / "map.yaml", files / "leads.csv", "--out", out)
        assert result.exit_code == 0, result.output
        contacts = lines(out / "contacts.jsonl")
        assert contacts[0] == {
            "id": "c1",
            "created_at": "2026-03-01T09:00:00Z",  # Madrid, winter: +01:00
            "email": "a@x.com",
            "employees": 50,
            "lead_source": "Website",
            "properties": {"visits": 3, "newsletter": True},
        }
        # "n/a" is missing; a value the map leaves out is kept as it is; an offset in the cell wins.
        assert contacts[1]["employees"] is None and contacts[1]["lead_source"] == "Paid"
        assert contacts[1]["created_at"] == "2026-03-01T23:00:00Z"
        assert contacts[2]["created_at"] == "2026-07-01T07:30:00Z"
        assert contacts[2]["lead_source"] == "other" and contacts[2]["properties"]["visits"] == 1.5
        activities = lines(out / "activities.jsonl")
        # The form only when Form is filled; `last` only for mapped values ("phoned": `other` "").
        assert [(a["id"], a["type"]) for a in activities] == [
            ("c1:form", "form_submission"),
            ("c1:last", "email_open"),
            ("c3:form", "form_submission"),
            ("c3:last", "email_click"),
        ]
        assert activities[0]["properties"] == {"form": "contact-us"}
        assert lines(out / "outcomes.jsonl") == [
            {"contact_id": "c1", "outcome": "won", "at": "2026-04-15T16:30:00Z"}  # Madrid, summer
        ]
        assert "3 rows; 3 contacts; 4 activities; 1 outcomes; 1 won" in result.output
        # What convert writes, evaluate reads.
        assert [c.id for c in load_contacts(out / "contacts.jsonl")] == ["c1", "c2", "c3"]
        assert len(list(load_activities(out / "activities.jsonl", BUILTIN_ACTIVITY_TYPES, frozenset()))) == 4

    def test_bad_rows_are_file_line_errors_and_nothing_is_written(self, files: Path) -> None:
        (files / "leads.csv").write_text(
            LEADS + "c4,yesterday,d@z.com,5,web,1,no,,\nc5,2026-03-01,e@z.com,many,web,1,no,,\n"
            'c6,2026-03-01,"x\ny",5,web,lots,maybe,,\nc1,2026-03-01,f@z.com,5,web,1,no,,\n'
        )
        out = files / "out"
        result = run("convert", "--mapping", files / "map.yaml", files / "leads.csv", "--out", out)
        assert result.exit_code == 2
        csv_file = files / "leads.csv"
        assert f"{csv_file}:5: column `Created`: `yesterday` is not a timestamp" in result.output
        assert f"{csv_file}:6: column `Size`: `many` is not a number" in result.output
        assert f"{csv_file}:7: column `Visits`: `lots` is not a number" in result.output  # a 2-line row
        assert f"{csv_file}:7: column `News`: `maybe` is not true/false" in result.output
        assert f"{csv_file}:9: contact id `c1` repeats line 2" in result.output
        assert list(out.iterdir()) == []  # no file, no temporary folder left

    def test_mapping_problems_name_the_mapping_line(self, files: Path) -> None:
        bad = MAPPING.replace("Size, type: integer", "Size, type: int").replace(
            "timezone: Europe/Madrid", "timezone: Mars/Base"
        )
        bad = bad.replace("email: Email", "emial: Email").replace(
            "visits: {column: Visits", "visits: {column: Vists"
        )
        (files / "map.yaml").write_text(bad)
        result = run("convert", "--mapping", files / "map.yaml", files / "leads.csv", "--out", files / "out")
        assert result.exit_code == 2
        m = files / "map.yaml"
        assert f"{m}:11: `contact.fields.employees.type` must be " in result.output
        problems = result.output
        (files / "map.yaml").write_text(bad.replace("type: int}", "type: integer}"))
        result = run("convert", "--mapping", files / "map.yaml", files / "leads.csv", "--out", files / "out")
        assert f"{m}:2: unknown time zone `Mars/Base`" in result.output
        assert f"{m}:10: `emial` is not a canonical contact field" in result.output
        assert problems != result.output
        (files / "map.yaml").write_text(
            bad.replace("type: int}", "type: integer}").replace("Mars/Base", "UTC").replace("emial", "email")
        )
        result = run("convert", "--mapping", files / "map.yaml", files / "leads.csv", "--out", files / "out")
        assert result.exit_code == 2
        assert (
            f"{m}:14: column `Vists` is not in {files / 'leads.csv'}'s header (Id, Created," in result.output
        )

    def test_a_value_needs_a_column_or_a_constant(self, files: Path) -> None:
        (files / "map.yaml").write_text(MAPPING.replace("at: Created\n    when", "at: {map: {}}\n    when"))
        result = run("convert", "--mapping", files / "map.yaml", files / "leads.csv", "--out", files / "out")
        assert result.exit_code == 2
        assert "give exactly one of `column`" in result.output
        assert f"{files / 'map.yaml'}:19:" in result.output


DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "convert"


@pytest.mark.skipif(not (DATASETS / "olist_marketing_funnel").is_dir(), reason="../shared/datasets absent")
def test_olist_example(tmp_path: Path) -> None:
    csv_file = DATASETS / "olist_marketing_funnel" / "olist_marketing_qualified_leads_dataset.csv"
    result = run("convert", "--mapping", EXAMPLES / "olist.yaml", csv_file, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert len(lines(tmp_path / "contacts.jsonl")) == 8000
    assert len(lines(tmp_path / "activities.jsonl")) == 8000
    outcomes = lines(tmp_path / "outcomes.jsonl")
    assert len(outcomes) == 842 and {o["outcome"] for o in outcomes} == {"won"}


@pytest.mark.skipif(not (DATASETS / "xeducation_leads").is_dir(), reason="../shared/datasets absent")
def test_xeducation_example(tmp_path: Path) -> None:
    csv_file = DATASETS / "xeducation_leads" / "Leads.csv"
    result = run("convert", "--mapping", EXAMPLES / "xeducation.yaml", csv_file, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    contacts = lines(tmp_path / "contacts.jsonl")
    assert len(contacts) == 9240
    assert not any("tags" in c["properties"] or "lead_quality" in c["properties"] for c in contacts)
    outcomes = lines(tmp_path / "outcomes.jsonl")
    assert sum(o["outcome"] == "won" for o in outcomes) == 3561
    assert len(lines(tmp_path / "activities.jsonl")) == 2888


def test_rows_that_are_activities(tmp_path: Path) -> None:
    """An export of activities: one row each, many per contact; no contacts are made."""
    (tmp_path / "map.yaml").write_text(
        "version: 1\ntimezone: UTC\ncontact_id: Lead\n"
        "activities:\n"
        "  - name: event\n"
        "    type: {column: Event, map: {Visit: page_view, Call: call}, other: ''}\n"
        "    at: When\n"
        "    owner_id: Rep\n"
        "    properties: {url: Page, outcome: {column: Result, map: {ok: connected}}}\n"
    )
    (tmp_path / "events.csv").write_text(
        "Lead,Event,When,Rep,Page,Result\n"
        "c1,Visit,2026-03-01 10:00,,/pricing,\n"
        "c1,Call,2026-03-02 11:00,u7,,ok\n"
        "c2,Chat,2026-03-02 12:00,,,\n"
    )
    out = tmp_path / "out"
    result = run("convert", "--mapping", tmp_path / "map.yaml", tmp_path / "events.csv", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["activities.jsonl"]
    assert lines(out / "activities.jsonl") == [
        {"id": "c1:event:2", "contact_id": "c1", "type": "page_view", "at": "2026-03-01T10:00:00Z",
         "owner_id": None, "properties": {"url": "/pricing"}},
        {"id": "c1:event:3", "contact_id": "c1", "type": "call", "at": "2026-03-02T11:00:00Z",
         "owner_id": "u7", "properties": {"outcome": "connected"}},
    ]  # fmt: skip
