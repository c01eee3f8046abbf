"""Salesforce records ⇄ canonical contacts and activities, without a network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leadsync.adapters.salesforce.activities import ActivityReader
from leadsync.adapters.salesforce.convert import contact_from_record, object_of, plan_write
from leadsync.adapters.salesforce.mapping import load_mapping
from leadsync.adapters.salesforce.reads import SfCursor, soql_list, soql_ts
from leadsync.api import ContactChange

MAPPING = load_mapping()


def _lead(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "attributes": {"type": "Lead", "url": "/services/data/v66.0/sobjects/Lead/00Q000000000001AAA"},
        "Id": "00Q000000000001AAA",
        "Email": "ana@acme.com",
        "FirstName": "Ana",
        "LastName": "Ruiz",
        "Company": "Acme",
        "Title": "CTO",
        "Website": "https://www.acme.com/about",
        "NumberOfEmployees": 250,
        "LeadSource": "Phone Inquiry",
        "Status": "Marketing Qualified",
        "OwnerId": "005000000000001AAA",
        "CreatedDate": "2026-10-01T09:30:00.000+0000",
        "Leadsync_Score__c": 85.0,
        "Leadsync_MQL_At__c": "2026-11-20T10:00:00.000+0000",
        "Budget_Status__c": "approved",
        "Need__c": None,
    }
    return {**base, **fields}


class TestContacts:
    def test_a_lead(self) -> None:
        c = contact_from_record(_lead(), MAPPING)
        assert (c.id, c.email, c.company, c.domain, c.employees) == (
            "00Q000000000001AAA",
            "ana@acme.com",
            "Acme",
            "acme.com",
            250,
        )
        assert c.stage == "mql" and c.score == 85.0 and c.lead_source == "phone_inquiry"
        assert c.created_at == datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
        assert c.mql_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
        assert c.properties == {"budget_status": "approved"}

    def test_a_contact_reads_its_account(self) -> None:
        record = {
            "attributes": {"type": "Contact"},
            "Id": "003000000000001AAA",
            "Email": "bo@beta.io",
            "Account": {"attributes": {"type": "Account"}, "Name": "Beta", "NumberOfEmployees": 40},
            "Leadsync_Stage__c": None,
            "CreatedDate": "2026-10-01T09:30:00.000+0000",
        }
        c = contact_from_record(record, MAPPING)
        assert c.company == "Beta" and c.employees == 40 and c.stage == "opportunity"
        record["Account"] = None
        assert contact_from_record(record, MAPPING).company is None

    def test_ids_say_the_object(self) -> None:
        assert object_of("00Q5e00000AbCdEFGH") == "Lead" and object_of("0035e00000AbCdEFGH") == "Contact"
        assert object_of("0055e00000AbCdEFGH") is None


class TestWrites:
    def test_canonical_values_become_fields(self) -> None:
        change = ContactChange(
            "00Q000000000001AAA",
            {
                "stage": "nurture",
                "score": 40.0,
                "sla_due_at": datetime(2026, 11, 22, 10, 30, tzinfo=UTC),
                "mql_at": "2026-11-20T10:00:00+00:00",
                "disqualification_reason": None,
                "owner_id": "005000000000002AAA",
            },
        )
        p = plan_write(change, MAPPING)
        assert p.error is None and p.sobject == "Lead"
        assert p.fields == {
            "Status": "Nurture",
            "Leadsync_Score__c": 40,
            "Leadsync_SLA_Due__c": "2026-11-22T10:30:00.000Z",
            "Leadsync_MQL_At__c": "2026-11-20T10:00:00.000Z",
            "Leadsync_Reason__c": None,
            "OwnerId": "005000000000002AAA",
        }

    def test_a_stage_the_object_cannot_hold_is_an_error(self) -> None:
        p = plan_write(ContactChange("00Q000000000001AAA", {"stage": "customer"}), MAPPING)
        assert p.error and "stage `customer` has no Lead Status value" in p.error

    def test_contacts_keep_their_stage_in_leadsyncs_field(self) -> None:
        p = plan_write(ContactChange("003000000000001AAA", {"stage": "customer", "score": 10}), MAPPING)
        assert p.fields == {"Leadsync_Stage__c": "customer", "Leadsync_Score__c": 10}


class TestActivities:
    reader = ActivityReader(MAPPING.activities)

    def test_a_call_with_its_result(self) -> None:
        a = self.reader.task(
            {
                "Id": "00T1",
                "WhoId": "00Q1",
                "OwnerId": "0051",
                "TaskSubtype": "Call",
                "IsClosed": True,
                "CallDisposition": "Left Voicemail",
                "CallDurationInSeconds": 42,
                "CallType": "Outbound",
                "CompletedDateTime": "2026-11-20T10:00:00.000+0000",
            }
        )
        assert a is not None and (a.id, a.type, a.owner_id) == ("task:00T1", "call", "0051")
        assert a.properties == {"outcome": "voicemail", "duration_s": 42.0, "direction": "outbound"}

    @pytest.mark.parametrize(
        ("subtype", "status", "key", "kind"),
        [
            ("Email", "Completed", None, "email_sent"),
            ("Email", "Not Started", None, None),  # a draft is not a touch
            ("ListEmail", "Completed", None, None),  # marketing's list email
            ("Task", "Completed", None, None),  # other tasks are off by default
            ("Email", "Completed", "key-1", None),  # leadsync's own task
        ],
    )
    def test_tasks(self, subtype: str, status: str, key: str | None, kind: str | None) -> None:
        record = {
            "Id": "00T2",
            "WhoId": "00Q1",
            "TaskSubtype": subtype,
            "Status": status,
            "ActivityDate": "2026-11-20",
            "Leadsync_Key__c": key,
        }
        a = self.reader.task(record)
        assert (a.type if a else None) == kind

    def test_an_event_is_a_meeting_at_its_start(self) -> None:
        a = self.reader.event(
            {"Id": "00U1", "WhoId": "003X", "StartDateTime": "2026-11-21T15:00:00.000+0000"}
        )
        assert a is not None and a.type == "meeting" and a.at == datetime(2026, 11, 21, 15, tzinfo=UTC)

    def test_a_webinar_response(self) -> None:
        a = self.reader.member(
            {
                "Id": "00v1",
                "LeadId": "00Q1",
                "HasResponded": True,
                "FirstRespondedDate": "2026-11-18",
                "CreatedDate": "2026-11-10T08:00:00.000+0000",
                "Campaign": {"Name": "Pricing webinar", "Type": "Webinar"},
            }
        )
        assert a is not None and a.type == "webinar_attended"
        assert a.at == datetime(2026, 11, 18, tzinfo=UTC)
        assert a.properties == {"completed": True, "campaign": "Pricing webinar"}


class TestCursor:
    def test_round_trip(self) -> None:
        c = SfCursor(
            {"Lead": ["2026-11-21T10:00:00Z", "00Q1"]},
            "2026-11-21T10:01:00Z",
            "2026-11-21T10:00:00Z",
            ["00T1@2026-11-21T09:59:00Z"],
        )
        assert SfCursor.decode(c.encode()) == c

    def test_not_a_cursor(self) -> None:
        with pytest.raises(ValueError, match="not a Salesforce cursor"):
            SfCursor.decode("hs1:1:2")

    def test_soql_literals(self) -> None:
        assert soql_ts(datetime(2026, 11, 21, 10, 0, 0, 999_000, tzinfo=UTC)) == "2026-11-21T10:00:00Z"
        assert soql_list(["a'b", "c\\d"]) == "('a\\'b','c\\\\d')"
