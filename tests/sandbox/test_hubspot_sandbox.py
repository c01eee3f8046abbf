"""The HubSpot sandbox's data and objects: seeding, search, batch reads, writes, owners.

Driven by the real hubspot-api-client 12 and by plain HTTP (127.0.0.1 only); its auth, limits,
faults and control endpoints are in ``test_hubspot_sandbox_control.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from leadsync.sandboxes.hubspot.common import ms_from_value
from leadsync.sandboxes.hubspot.sandbox import CALL_DISPOSITIONS, HubSpotSandbox
from tests.sandbox.hubspot_support import NOW, RELAXED, call, contact_in_stage, search_body

hubspot = pytest.importorskip("hubspot")
from hubspot import HubSpot  # noqa: E402
from hubspot.crm.contacts import (  # noqa: E402
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
)


class TestSeed:
    """Seeding is deterministic and realistic enough to exercise the adapter."""

    def test_same_seed_same_portal_and_other_seed_differs(self) -> None:
        a = HubSpotSandbox(seed=3, contacts=60, now=NOW)
        b = HubSpotSandbox(seed=3, contacts=60, now=NOW)
        c = HubSpotSandbox(seed=4, contacts=60, now=NOW)
        dump = lambda s: [(r.properties, r.history) for r in s.contacts.values()]  # noqa: E731
        assert dump(a) == dump(b) != dump(c)
        assert [r.properties for r in a.objects("calls").values()] == [
            r.properties for r in b.objects("calls").values()
        ]

    def test_contacts_owners_and_engagements_look_like_a_portal(self) -> None:
        sb = HubSpotSandbox(seed=11, contacts=400, now=NOW)
        props = [r.properties for r in sb.contacts.values()]
        assert {p["country"] for p in props} == {"ES", "FR", "DE", "US", "GB"}
        titles = Counter(p.get("jobtitle") for p in props)
        assert titles["CEO"] and titles["IT Director"] and titles["Student"]
        stages = Counter(p.get("lifecyclestage", "") for p in props)
        assert stages["lead"] + stages["subscriber"] + stages[""] > len(props) / 2
        assert stages["marketingqualifiedlead"] and stages["opportunity"] and stages["customer"]
        domains = Counter(p["email"].split("@")[1] for p in props)
        assert domains["gmail.com"] + domains["hotmail.com"] > 0 and max(domains.values()) > 5
        assert any(p.get("budget_status") for p in props) and any(
            "/pricing" in p.get("hs_analytics_last_url", "") for p in props
        )
        assert any(p.get("recent_conversion_event_name") == "Demo request" for p in props)
        ties = Counter(p["lastmodifieddate"] for p in props)
        assert max(ties.values()) >= 5  # many contacts share a lastmodifieddate
        assert sum(o["archived"] for o in sb.owners) == 2
        calls = [r.properties for r in sb.objects("calls").values()]
        assert {c["hs_call_disposition"] for c in calls} <= set(CALL_DISPOSITIONS.values())
        oldest = min(ms_from_value(c["hs_timestamp"]) or 0 for c in calls)
        assert oldest >= ms_from_value(NOW.isoformat()) - 120 * 86_400_000  # type: ignore[operator]
        directions = {r.properties["hs_email_direction"] for r in sb.objects("emails").values()}
        assert {"EMAIL", "INCOMING_EMAIL"} <= directions


class TestSearch:
    """POST /crm/v3/objects/contacts/search: filters, one sort, offset paging, the 10k window."""

    def test_paging_by_lastmodifieddate_keeps_ties_in_id_order(self, sb: HubSpotSandbox, hs: Any) -> None:
        api = hs.crm.contacts.search_api
        seen: list[tuple[int, int]] = []
        after = None
        while True:
            page = api.do_search(
                PublicObjectSearchRequest(
                    filter_groups=[
                        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}
                    ],
                    sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    properties=["email"],
                    limit=7,
                    after=after,
                )
            )
            assert page.total == 120
            seen += [(ms_from_value(r.properties["lastmodifieddate"]) or 0, int(r.id)) for r in page.results]
            if not page.paging:
                break
            after = page.paging.next.after
        assert len(seen) == 120 and seen == sorted(seen)  # ties ordered by hs_object_id
        assert len({ms for ms, _ in seen}) < 120

    def test_filters_and_operators(self, sb: HubSpotSandbox) -> None:
        recs = list(sb.contacts.values())
        pivot = sorted(ms_from_value(r.properties["lastmodifieddate"]) or 0 for r in recs)[60]
        status, _, body = call(
            sb,
            "POST",
            "/crm/v3/objects/contacts/search",
            search_body(
                filterGroups=[
                    {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": str(pivot)}]}
                ],
                limit=200,
            ),
        )
        assert status == 200
        expected = {str(r.id) for r in recs if (ms_from_value(r.properties["lastmodifieddate"]) or 0) > pivot}
        assert {r["id"] for r in body["results"]} == expected and body["total"] == len(expected)
        some = ["1003", "1005", "1010"]
        groups = [
            {"filters": [{"propertyName": "hs_object_id", "operator": "IN", "values": some}]},
            {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": "1100"}]},
        ]
        _, _, body = call(
            sb,
            "POST",
            "/crm/v3/objects/contacts/search",
            search_body(filterGroups=groups, sorts=["-hs_object_id"]),
        )
        assert [r["id"] for r in body["results"]] == ["1100", "1010", "1005", "1003"]
        has = [{"filters": [{"propertyName": "hs_lead_status", "operator": "HAS_PROPERTY"}]}]
        _, _, body = call(
            sb, "POST", "/crm/v3/objects/contacts/search", search_body(filterGroups=has, limit=200)
        )
        assert body["total"] == sum(1 for r in recs if r.properties.get("hs_lead_status"))
        first = body["results"][0]
        assert set(first["properties"]) == {
            "lifecyclestage",
            "createdate",
            "hs_object_id",
            "lastmodifieddate",
        }
        assert first["properties"]["createdate"].endswith("Z") and isinstance(first["id"], str)

    def test_limit_over_200_is_a_validation_error(self, sb: HubSpotSandbox, hs: Any) -> None:
        with pytest.raises(Exception) as err:
            hs.crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=201))
        assert err.value.status == 400 and json.loads(err.value.body)["category"] == "VALIDATION_ERROR"

    def test_paging_past_10000_is_a_400_and_an_id_anchor_gets_the_rest(self) -> None:
        with HubSpotSandbox(seed=2, contacts=10_050, now=NOW, engagements=False, limits=RELAXED) as sb:
            api = HubSpot(access_token=sb.token, host=sb.url).crm.contacts.search_api
            sort = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
            ids: list[str] = []
            after: str | None = None
            with pytest.raises(Exception) as err:
                while True:
                    page = api.do_search(
                        PublicObjectSearchRequest(sorts=sort, limit=200, after=after, properties=["email"])
                    )
                    assert page.total == 10_050
                    ids += [r.id for r in page.results]
                    after = page.paging.next.after
            assert err.value.status == 400 and len(ids) == 10_000
            assert "10000" in json.loads(err.value.body)["message"]
            anchor = [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": ids[-1]}]}]
            rest = api.do_search(PublicObjectSearchRequest(filter_groups=anchor, sorts=sort, limit=200))
            assert rest.total == 50 and len(set(ids + [r.id for r in rest.results])) == 10_050


class TestBatchRead:
    """POST /crm/v3/objects/contacts/batch/read: ≤100 inputs, ≤50 with history, 207 for missing ids."""

    def test_history_newest_first_and_missing_ids_in_errors(self, sb: HubSpotSandbox, hs: Any) -> None:
        cid = contact_in_stage(sb, "opportunity")
        api = hs.crm.contacts.batch_api
        res = api.read(
            BatchReadInputSimplePublicObjectId(
                inputs=[{"id": cid}, {"id": "99999"}],
                properties=["email"],
                properties_with_history=["lifecyclestage"],
            )
        )
        assert res.errors[0].category == "OBJECT_NOT_FOUND" and res.errors[0].context == {"ids": ["99999"]}
        history = res.results[0].properties_with_history["lifecyclestage"]
        assert [h.value for h in history][:2] == ["opportunity", "salesqualifiedlead"]
        assert [h.timestamp for h in history] == sorted((h.timestamp for h in history), reverse=True)
        status, _, body = call(sb, "POST", "/crm/v3/objects/contacts/batch/read", {"inputs": [{"id": cid}]})
        assert status == 200 and "errors" not in body and body["status"] == "COMPLETE"

    @pytest.mark.parametrize(("count", "history"), [(101, []), (51, ["lifecyclestage"])])
    def test_too_many_inputs(self, sb: HubSpotSandbox, count: int, history: list[str]) -> None:
        body = {"inputs": [{"id": str(1001 + i)} for i in range(count)], "propertiesWithHistory": history}
        status, _, err = call(sb, "POST", "/crm/v3/objects/contacts/batch/read", body)
        assert status == 400 and err["category"] == "VALIDATION_ERROR" and err["status"] == "error"
        assert err["correlationId"]

    def test_id_property_email(self, sb: HubSpotSandbox) -> None:
        email = sb.contacts["1004"].properties["email"]
        body = {"inputs": [{"id": email.upper()}], "idProperty": "email", "properties": ["email"]}
        _, _, res = call(sb, "POST", "/crm/v3/objects/contacts/batch/read", body)
        assert res["results"][0]["id"] == "1004"


class TestWrites:
    """Batch and single updates: validation, forward-only lifecycle, history, per-record rejection."""

    def batch(self, hs: Any, inputs: list[dict[str, Any]]) -> Any:
        return hs.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))

    def test_more_than_100_inputs_is_a_400(self, hs: Any) -> None:
        with pytest.raises(Exception) as err:
            self.batch(hs, [{"id": str(1001 + i), "properties": {"jobtitle": "x"}} for i in range(101)])
        assert err.value.status == 400

    @pytest.mark.parametrize(
        ("props", "code"),
        [
            ({"no_such_prop": "x"}, "PROPERTY_DOESNT_EXIST"),
            ({"lifecyclestage": "hot"}, "INVALID_OPTION"),
            ({"createdate": "0"}, "READ_ONLY_VALUE"),
            ({"hubspot_owner_id": "1"}, "INVALID_OWNER_ID"),
        ],
    )
    def test_invalid_values_fail_the_whole_batch(
        self, sb: HubSpotSandbox, hs: Any, props: dict[str, str], code: str
    ) -> None:
        before = sb.contacts["1001"].properties.get("jobtitle")
        inputs = [{"id": "1001", "properties": {"jobtitle": "Changed"}}, {"id": "1002", "properties": props}]
        with pytest.raises(Exception) as err:
            self.batch(hs, inputs)
        body = json.loads(err.value.body)
        assert err.value.status == 400 and body["category"] == "VALIDATION_ERROR" and code in body["message"]
        assert sb.contacts["1001"].properties.get("jobtitle") == before

    def test_lifecycle_only_moves_forward_unless_cleared(self, sb: HubSpotSandbox, hs: Any) -> None:
        cid = contact_in_stage(sb, "marketingqualifiedlead")
        res = self.batch(hs, [{"id": cid, "properties": {"lifecyclestage": "lead"}}])
        assert res.results[0].properties["lifecyclestage"] == "marketingqualifiedlead"  # silently ignored
        self.batch(hs, [{"id": cid, "properties": {"lifecyclestage": ""}}])
        res = self.batch(hs, [{"id": cid, "properties": {"lifecyclestage": "lead"}}])
        assert res.results[0].properties["lifecyclestage"] == "lead"
        rec = sb.contacts[cid]
        assert [h["value"] for h in rec.history["lifecyclestage"][:3]] == [
            "lead",
            "",
            "marketingqualifiedlead",
        ]
        assert rec.history["lifecyclestage"][0]["sourceType"] == "INTEGRATION"
        assert rec.history["lifecyclestage"][0]["sourceId"] == "3100001"
        assert not rec.properties.get(
            "hs_lifecyclestage_marketingqualifiedlead_date"
        )  # later stage's date cleared
        self.batch(hs, [{"id": cid, "properties": {"lifecyclestage": "salesqualifiedlead"}}])
        assert rec.properties["lifecyclestage"] == "salesqualifiedlead"
        assert (
            rec.properties["hs_lifecyclestage_salesqualifiedlead_date"] == rec.properties["lastmodifieddate"]
        )

    def test_writes_bump_lastmodifieddate_and_no_op_writes_do_not(self, sb: HubSpotSandbox, hs: Any) -> None:
        rec = sb.contacts["1007"]
        old = rec.properties["lastmodifieddate"]
        self.batch(hs, [{"id": "1007", "properties": {"jobtitle": "VP Marketing"}}])
        bumped = rec.properties["lastmodifieddate"]
        assert bumped > old and bumped.endswith("Z")
        self.batch(hs, [{"id": "1007", "properties": {"jobtitle": "VP Marketing"}}])
        assert rec.properties["lastmodifieddate"] == bumped
        got = hs.crm.contacts.basic_api.get_by_id(
            "1007", properties=["jobtitle"], properties_with_history=["jobtitle"]
        )
        assert (
            got.properties["jobtitle"] == "VP Marketing" and len(got.properties_with_history["jobtitle"]) >= 1
        )

    def test_one_rejected_record_does_not_fail_its_batch(self, sb: HubSpotSandbox, hs: Any) -> None:
        sb.reject_writes("1011")
        res = self.batch(
            hs, [{"id": i, "properties": {"jobtitle": "Buyer"}} for i in ("1010", "1011", "1012", "77")]
        )
        assert sorted(r.id for r in res.results) == ["1010", "1012"]
        assert sorted(e.context["ids"][0] for e in res.errors) == ["1011", "77"] and res.num_errors == 2
        assert sb.contacts["1011"].properties.get("jobtitle") != "Buyer"
        status, _, body = call(
            sb, "PATCH", "/crm/v3/objects/contacts/1011", {"properties": {"jobtitle": "Buyer"}}
        )
        assert status == 400 and "rejected" in body["message"]

    def test_single_patch_and_get(self, sb: HubSpotSandbox, hs: Any) -> None:
        cid = contact_in_stage(sb, "customer")
        api = hs.crm.contacts.basic_api
        res = api.update(cid, SimplePublicObjectInput(properties={"lifecyclestage": "lead", "city": "Porto"}))
        assert res.properties["lifecyclestage"] == "customer" and res.properties["city"] == "Porto"
        with pytest.raises(Exception) as err:
            api.get_by_id("424242")
        assert err.value.status == 404
        status, _, body = call(
            sb, "GET", f"/crm/v3/objects/contacts/{cid}?properties=city,email&associations=calls"
        )
        assert status == 200 and body["properties"]["city"] == "Porto" and body["id"] == cid


class TestOwners:
    def test_paging_and_archived(self, hs: Any) -> None:
        api = hs.crm.owners.owners_api
        first = api.get_page(limit=4)
        second = api.get_page(limit=4, after=first.paging.next.after)
        active = first.results + second.results
        assert len(active) == 6 and not second.paging and not any(o.archived for o in active)
        archived = api.get_page(archived=True)
        assert len(archived.results) == 2 and all(o.archived for o in archived.results)
        team = active[0].teams[0]
        assert team.primary is True and team.name and active[0].user_id
