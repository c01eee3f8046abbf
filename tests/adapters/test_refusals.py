"""Each adapter says when its CRM refuses a write for a cause in the setup (``RefusalCause``),
against the local sandboxes: a missing field or property, a missing scope, an unknown owner.
The loop stops the run on those and keeps the records due (tests/sync/test_refusals.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadsync.adapters.hubspot.adapter import from_options as hubspot_adapter
from leadsync.adapters.salesforce.refusals import item_cause
from leadsync.api import ContactChange, RefusalCause, TaskRequest
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.sandboxes.zoho.auth import ALL_SCOPES
from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from tests.e2e.helpers import ALL_SCOPES as HS_SCOPES
from tests.e2e.helpers import NOW, TOKEN, start_sandbox
from tests.harnesses.zoho import adapter as zoho_adapter
from tests.sandbox.sf_support import sandbox_adapter

NO_WRITE = "pat-na1-0b0b0b0b-e2e1-4d1e-9a5e-0000deadbeef"


class TestHubSpot:
    @pytest.fixture(scope="class")
    @classmethod
    def sb(cls) -> Iterator[HubSpotSandbox]:
        """A portal as HubSpot gives it (no leadsync properties), and a token without write scope."""
        sb = start_sandbox(contacts=10)
        sb.add_token(NO_WRITE, [s for s in HS_SCOPES if s != "crm.objects.contacts.write"])
        try:
            yield sb
        finally:
            sb.stop()

    @staticmethod
    def crm(sb: HubSpotSandbox, token: str = TOKEN):  # type: ignore[no-untyped-def]
        return hubspot_adapter({"base_url": sb.url, "token": token, "rate_per_10s": 10_000})

    def test_a_missing_property_is_missing_field_for_every_record(self, sb: HubSpotSandbox) -> None:
        ids = sorted(sb.contacts)[:3]
        results = self.crm(sb).write_contacts([ContactChange(cid, {"score": 40.0}) for cid in ids])
        assert [r.ok for r in results] == [False] * 3
        assert {(r.cause, r.cause_name) for r in results} == {(RefusalCause.MISSING_FIELD, "leadsync_score")}
        assert "PROPERTY_DOESNT_EXIST" in str(results[0].error)

    def test_an_unknown_owner_is_left_out_and_the_rest_written(self, sb: HubSpotSandbox) -> None:
        """INVALID_OWNER_ID is an ``unknown_owner`` refusal, which the adapter answers by writing
        the record once more without the owner (``WriteResult.dropped``): what reaches the loop is
        a write that landed, not a refusal that would stop the run."""
        owner = next(str(o["id"]) for o in sb.owners if not o.get("archived"))
        ids = sorted(sb.contacts)[:2]
        changes = [
            ContactChange(ids[0], {"owner_id": "99999999"}),
            ContactChange(ids[1], {"owner_id": owner}),
        ]
        bad, good = self.crm(sb).write_contacts(changes)
        assert (bad.ok, bad.cause, bad.dropped) == (True, None, ("owner_id",))
        assert "INVALID_OWNER_ID" in (bad.error or "")
        assert good.ok and good.cause is None and not good.dropped

    def test_a_token_without_write_scope_is_missing_scope(self, sb: HubSpotSandbox) -> None:
        cid = sorted(sb.contacts)[0]
        [result] = self.crm(sb, NO_WRITE).write_contacts([ContactChange(cid, {"stage": "mql"})])
        assert (result.ok, result.cause) == (False, RefusalCause.MISSING_SCOPE)
        assert result.cause_name == "crm.objects.contacts.write"

    def test_a_task_without_its_key_property_is_missing_field(self, sb: HubSpotSandbox) -> None:
        cid = sorted(sb.contacts)[0]
        task = TaskRequest("k1", cid, None, "Call", NOW, may_exist=False)
        [result] = self.crm(sb).create_tasks([task])
        assert (result.crm_id, result.cause, result.cause_name) == (
            None,
            RefusalCause.MISSING_FIELD,
            "leadsync_task_key",
        )

    def test_a_record_refused_for_itself_has_no_cause(self, sb: HubSpotSandbox) -> None:
        cid = sorted(sb.contacts)[4]
        [result] = self.crm(sb).write_contacts([ContactChange(cid, {"stage": "no-such-stage-value"})])
        assert result.cause is None


class TestSalesforce:
    @pytest.fixture
    def org(self) -> Iterator[SalesforceSandbox]:
        """An org without leadsync's fields (no ``leadsync setup``)."""
        with SalesforceSandbox(seed=7, leads=20, now=NOW) as sb:
            yield sb

    def test_a_missing_custom_field_is_missing_field(self, org: SalesforceSandbox) -> None:
        leads = [r["Id"] for r in org.records("Lead").values() if not r["IsConverted"]][:2]
        results = sandbox_adapter(org).write_contacts([ContactChange(cid, {"score": 40.0}) for cid in leads])
        assert {(r.ok, r.cause, r.cause_name) for r in results} == {
            (False, RefusalCause.MISSING_FIELD, "Lead.Leadsync_Score__c")
        }
        assert "INVALID_FIELD" in str(results[0].error) and not results[0].retryable

    def test_an_inactive_or_unknown_owner_is_left_out(self, org: SalesforceSandbox) -> None:
        users = org.records("User").values()
        gone = next(u["Id"] for u in users if not u["IsActive"])
        leads = [r["Id"] for r in org.records("Lead").values() if not r["IsConverted"]][:3]
        unknown = "005" + "0" * 12 + "ZZZ"
        changes = [
            ContactChange(leads[0], {"owner_id": gone}),
            ContactChange(leads[1], {"owner_id": unknown}),
        ]
        results = sandbox_adapter(org).write_contacts(changes)
        # Refused for the owner alone: written again without it (``dropped``), not a refusal.
        assert [(r.ok, r.cause, r.dropped) for r in results] == [(True, None, ("owner_id",))] * 2
        assert item_cause(
            {"errors": [{"statusCode": "INACTIVE_OWNER_OR_USER", "message": "x", "fields": []}]},
            "Lead",
            {"OwnerId": gone},
        ) == (RefusalCause.UNKNOWN_OWNER, gone)

    def test_the_bulk_error_cell_is_classified_too(self) -> None:
        from leadsync.adapters.salesforce.refusals import text_cause

        cell = "INVALID_FIELD:No such column 'Leadsync_Score__c' on sobject of type Lead:--"
        assert text_cause(cell, "Lead", {}) == (RefusalCause.MISSING_FIELD, "Lead.Leadsync_Score__c")
        owner = "INVALID_CROSS_REFERENCE_KEY:Owner ID: invalid cross reference id:OwnerId"
        assert text_cause(owner, "Lead", {"OwnerId": "005x"}) == (RefusalCause.UNKNOWN_OWNER, "005x")
        assert text_cause("FIELD_CUSTOM_VALIDATION_EXCEPTION:no:--", "Lead", {}) is None


class TestZoho:
    @pytest.fixture
    def zsb(self) -> Iterator[ZohoSandbox]:
        with ZohoSandbox(seed=7, leads=20, now=NOW) as sb:
            yield sb

    def test_an_unknown_owner_is_left_out(self, zsb: ZohoSandbox) -> None:
        leads = [r["id"] for r in zsb.records_json("Leads")][:2]
        crm = zoho_adapter(zsb)
        crm.setup(BUILTIN_REASONS)
        results = crm.write_contacts([ContactChange(leads[0], {"owner_id": "4150000099999"})])
        # Refused for the owner alone: written again without it (``dropped``), not a refusal.
        assert [(r.ok, r.cause, r.dropped) for r in results] == [(True, None, ("owner_id",))]

    def test_a_token_without_the_modules_scope_is_missing_scope(self, zsb: ZohoSandbox) -> None:
        leads = [r["id"] for r in zsb.records_json("Leads")][:1]
        scopes = [s for s in ALL_SCOPES if "modules" not in s.lower() or s.lower().endswith(".read")]
        read_only = zsb.app.auth.issue(zsb.org.api_user, [*scopes, "ZohoCRM.modules.leads.READ"])
        crm = zoho_adapter(zsb, token=read_only)
        [result] = crm.write_contacts([ContactChange(leads[0], {"score": 3.0})])
        assert (result.ok, result.cause, result.cause_name) == (
            False,
            RefusalCause.MISSING_SCOPE,
            "ZohoCRM.modules.leads.ALL",
        )
