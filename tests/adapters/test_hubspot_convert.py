"""HubSpot records ⇄ canonical contacts, writes and activities, through the packaged mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leadsync.adapters.hubspot.activities import ActivityReader
from leadsync.adapters.hubspot.convert import (
    DEFAULT_LIFECYCLE_ORDER,
    contact_from_record,
    format_ts,
    plan_write,
)
from leadsync.adapters.hubspot.mapping_check import load_mapping
from leadsync.api import ContactChange, domain_of, employees_of, parse_crm_ts
from leadsync.sandboxes.hubspot.sandbox import CALL_DISPOSITIONS

MAPPING = load_mapping()
T = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def plan(values: dict[str, Any], current: dict[str, Any] | None = None) -> Any:
    return plan_write(ContactChange("1", values, current or {}), MAPPING, DEFAULT_LIFECYCLE_ORDER)


class TestWrites:
    @pytest.mark.parametrize(
        ("current", "new", "backward"),
        [
            ("lead", "mql", False),
            ("mql", "sql", False),
            ("mql", "nurture", True),
            ("sql", "nurture", True),
            ("nurture", "mql", False),
            ("mql", "disqualified", False),
            (None, "mql", False),
            ("opportunity", "nurture", True),
        ],
    )
    def test_backward_moves_are_detected(self, current: str | None, new: str, backward: bool) -> None:
        assert plan({"stage": new}, {"stage": current}).backward is backward

    def test_nurture_sets_lead_and_bad_timing(self) -> None:
        assert plan({"stage": "nurture"}, {"stage": "mql"}).properties == {
            "lifecyclestage": "lead",
            "hs_lead_status": "BAD_TIMING",
        }

    def test_leaving_nurture_clears_its_lead_status(self) -> None:
        props = plan({"stage": "mql"}, {"stage": "nurture"}).properties
        assert props == {"lifecyclestage": "marketingqualifiedlead", "hs_lead_status": ""}

    def test_values_as_hubspot_text(self) -> None:
        props = plan(
            {"score": 120.0, "mql_at": T, "owner_id": "77", "disqualification_reason": None}
        ).properties
        assert props == {
            "leadsync_score": "120",
            "leadsync_mql_at": "2026-11-23T10:00:00.000Z",
            "hubspot_owner_id": "77",
            "leadsync_reason": "",
        }

    def test_unknown_stage_is_a_per_record_error(self) -> None:
        assert plan({"stage": "won"}).error


class TestReading:
    def test_contact_from_record(self) -> None:
        record = {
            "id": "1001",
            "properties": {
                "createdate": "2026-01-02T03:04:05.006Z",
                "email": "Ana@Acme.com",
                "jobtitle": "CEO",
                "website": "https://www.acme.com/about",
                "numemployees": "500-1000",
                "lifecyclestage": "lead",
                "hs_lead_status": "BAD_TIMING",
                "leadsync_score": "87.5",
                "leadsync_reason": "no_budget",
                "leadsync_mql_at": "1795000000000",
                "hs_analytics_source": "ORGANIC_SEARCH",
                "budget_status": "approved",
            },
        }
        c = contact_from_record(record, MAPPING)
        assert (c.id, c.title, c.domain, c.employees, c.stage) == ("1001", "CEO", "acme.com", 500, "nurture")
        assert c.score == 87.5 and c.disqualification_reason == "no_budget"
        assert c.mql_at == datetime.fromtimestamp(1_795_000_000, tz=UTC)
        assert c.created_at == datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
        assert c.lead_source == "organic_search" and c.properties == {"budget_status": "approved"}

    @pytest.mark.parametrize(
        ("raw", "count"), [("1-5", 1), ("1000+", 1000), ("2,500", 2500), ("", None), ("many", None), (42, 42)]
    )
    def test_employees(self, raw: Any, count: int | None) -> None:
        assert employees_of(raw) == count

    def test_domain_and_timestamps(self) -> None:
        assert domain_of("HTTP://WWW.Acme.co.uk:8080/x?y") == "acme.co.uk"
        assert parse_crm_ts("2026-11-23") == datetime(2026, 11, 23, tzinfo=UTC)
        assert parse_crm_ts("garbage") is None
        assert format_ts(parse_crm_ts("2026-11-23T11:00:00.5+01:00") or T) == "2026-11-23T10:00:00.500Z"


class FakeClient:
    """Just enough of HubSpotClient for ActivityReader."""

    def __init__(
        self, objects: dict[str, list[dict[str, Any]]], links: dict[str, dict[str, list[str]]]
    ) -> None:
        self.objects, self.links = objects, links

    def associations(self, from_type: str, to_type: str, inputs: Any) -> dict[str, Any]:
        rows = [
            {"from": {"id": cid}, "to": [{"toObjectId": e} for e in self.links.get(to_type, {}).get(cid, [])]}
            for cid, _ in inputs
        ]
        return {"results": rows}

    def batch_read(
        self, object_type: str, ids: Any, properties: Any, history: Any = ()
    ) -> list[dict[str, Any]]:
        return [o for o in self.objects.get(object_type, []) if o["id"] in ids]


def obj(oid: str, **props: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "properties": {"hs_timestamp": "2026-11-20T10:00:00Z", "hubspot_owner_id": "77", **props},
    }


class TestActivities:
    def read(self, **objects: list[dict[str, Any]]) -> list[Any]:
        links = {
            kind: {"1": [o["id"] for o in items], "2": [o["id"] for o in items[:1]]}
            for kind, items in objects.items()
        }
        reader = ActivityReader(FakeClient(objects, links), MAPPING.activities)  # type: ignore[arg-type]
        return reader.read(["1", "2"])

    def test_calls_emails_meetings(self) -> None:
        connected, voicemail = CALL_DISPOSITIONS["connected"], CALL_DISPOSITIONS["left_voicemail"]
        acts = self.read(
            calls=[obj("10", hs_call_disposition=connected, hs_call_duration="65000"),
                   obj("11", hs_call_disposition=voicemail)],
            emails=[obj("20", hs_email_direction="EMAIL", hs_email_status="SENT"),
                    obj("21", hs_email_direction="INCOMING_EMAIL"),
                    obj("22", hs_email_direction="EMAIL", hs_email_status="BOUNCED")],
            meetings=[obj("30", hs_meeting_outcome="COMPLETED"), obj("31", hs_meeting_outcome="NO_SHOW")],
        )  # fmt: skip
        mine = {a.id: a for a in acts if a.contact_id == "1"}
        assert mine["call:10:1"].properties == {"outcome": "connected", "duration_s": 65.0}
        assert mine["call:10:1"].owner_id == "77"
        assert mine["call:11:1"].properties["outcome"] == "voicemail"
        assert (mine["email:20:1"].type, mine["email:21:1"].type, mine["email:22:1"].type) == (
            "email_sent",
            "email_reply",
            "email_bounce",
        )
        assert mine["email:21:1"].owner_id is None
        assert mine["meeting:30:1"].type == "meeting" and "meeting:31:1" not in mine
        assert {a.id for a in acts if a.contact_id == "2"} == {"call:10:2", "email:20:2", "meeting:30:2"}

    def test_leadsync_tasks_and_notes_are_not_activities(self) -> None:
        acts = self.read(
            tasks=[obj("40", hs_task_status="COMPLETED", leadsync_task_key="k")], notes=[obj("50")]
        )
        assert acts == []

    def test_conversions_and_last_page_seen(self) -> None:
        contact = {
            "id": "1",
            "properties": {
                "hs_analytics_last_visit_timestamp": "2026-11-21T09:00:00Z",
                "hs_analytics_last_url": "https://x.com/pricing",
                "first_conversion_event_name": "Case study: logistics",
                "first_conversion_date": "2026-10-01T09:00:00Z",
                "recent_conversion_event_name": "Demo request",
                "recent_conversion_date": "2026-11-20T09:00:00Z",
            },
        }
        acts = self.read(contacts=[contact])
        by_type = {a.type: a for a in acts}
        assert by_type["page_view"].properties == {"url": "https://x.com/pricing"}
        assert by_type["demo_request"].properties == {"form": "Demo request"}
        assert by_type["content_download"].properties == {
            "asset_type": "case_study",
            "form": "Case study: logistics",
        }
        assert (
            by_type["demo_request"].id
            == f"conv:1:{int(datetime(2026, 11, 20, 9, tzinfo=UTC).timestamp() * 1000)}"
        )

    def test_one_conversion_is_one_activity(self) -> None:
        """A contact who converted once has first == recent: one activity, not two."""
        props = {f"{w}_conversion_{k}": v for w in ("first", "recent")
                 for k, v in (("event_name", "Newsletter"), ("date", "2026-11-01T00:00:00Z"))}  # fmt: skip
        acts = self.read(contacts=[{"id": "1", "properties": props}])
        assert [a.type for a in acts] == ["form_submission"]
