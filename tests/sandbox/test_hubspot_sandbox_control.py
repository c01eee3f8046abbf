"""The HubSpot sandbox's engagements, tasks and properties, auth, rate limits, faults, stats and
command line, driven by the real hubspot-api-client 12 and by plain HTTP (127.0.0.1 only)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest

from leadsync.sandboxes.hubspot.sandbox import CALL_DISPOSITIONS, HubSpotSandbox
from tests.sandbox.hubspot_support import call, search_body

hubspot = pytest.importorskip("hubspot")
from hubspot import HubSpot  # noqa: E402
from hubspot.crm.contacts import (  # noqa: E402
    PublicObjectSearchRequest,
)


class TestAssociationsAndEngagements:
    def test_contact_to_engagements_then_batch_read(self, sb: HubSpotSandbox, hs: Any) -> None:
        assoc_api = hs.crm.associations.v4.batch_api
        ids = [{"id": cid} for cid in sb.contacts]
        found: dict[str, list[str]] = {}
        for kind in ("calls", "emails", "meetings", "notes"):
            res = assoc_api.get_page("contacts", kind, {"inputs": ids})
            found[kind] = [t.to_object_id for r in res.results for t in r.to]
            assert res.results and all(
                t.association_types[0].category == "HUBSPOT_DEFINED" for r in res.results for t in r.to
            )
            assert res.errors  # contacts without that kind of engagement
        calls = hs.crm.objects.calls.batch_api.read(
            {
                "inputs": [{"id": i} for i in found["calls"][:100]],
                "properties": ["hs_call_disposition", "hs_timestamp"],
            }
        )
        assert {c.properties["hs_call_disposition"] for c in calls.results} <= set(CALL_DISPOSITIONS.values())
        emails = hs.crm.objects.emails.batch_api.read(
            {"inputs": [{"id": i} for i in found["emails"][:100]], "properties": ["hs_email_direction"]}
        )
        assert {e.properties["hs_email_direction"] for e in emails.results} <= {
            "EMAIL",
            "INCOMING_EMAIL",
            "FORWARDED_EMAIL",
        }
        status, _, _ = call(
            sb, "POST", "/crm/v4/associations/contacts/calls/batch/read", {"inputs": [{"id": "1"}] * 1001}
        )
        assert status == 400


class TestTasksAndProperties:
    def test_property_and_group_create_then_task_create_and_search_by_key(
        self, sb: HubSpotSandbox, hs: Any
    ) -> None:
        group = {"name": "leadsync", "label": "leadsync"}
        prop = {
            "name": "leadsync_task_key",
            "label": "leadsync action key",
            "type": "string",
            "fieldType": "text",
            "groupName": "leadsync",
        }
        task = {
            "properties": {
                "hs_timestamp": "2026-11-24T09:00:00Z",
                "hs_task_subject": "Call Laura",
                "leadsync_task_key": "sla:1001:2026-11-23",
            },
            "associations": [
                {
                    "to": {"id": "1001"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
                }
            ],
        }
        assert (
            call(sb, "POST", "/crm/v3/objects/tasks", task)[0] == 400
        )  # the key property does not exist yet
        assert call(sb, "POST", "/crm/v3/properties/tasks/groups", group)[0] == 201
        assert call(sb, "POST", "/crm/v3/properties/tasks", prop)[0] == 201
        status, _, again = call(sb, "POST", "/crm/v3/properties/tasks", prop)
        assert status == 409 and again["category"] == "OBJECT_ALREADY_EXISTS"
        assert call(sb, "POST", "/crm/v3/properties/tasks/groups", group)[0] == 409
        created = hs.crm.objects.tasks.basic_api.create(task)
        assert created.properties["leadsync_task_key"] == "sla:1001:2026-11-23"
        assert created.properties["hs_timestamp"] == "2026-11-24T09:00:00.000Z"
        flt = [
            {
                "filters": [
                    {"propertyName": "leadsync_task_key", "operator": "EQ", "value": "sla:1001:2026-11-23"}
                ]
            }
        ]
        found = hs.crm.objects.tasks.search_api.do_search(
            {"filterGroups": flt, "properties": ["hs_task_subject"]}
        )
        assert found.total == 1 and found.results[0].id == created.id
        links = hs.crm.associations.v4.batch_api.get_page("contacts", "tasks", {"inputs": [{"id": "1001"}]})
        assert created.id in [t.to_object_id for t in links.results[0].to]
        task["associations"][0]["types"][0]["associationTypeId"] = 1  # type: ignore[index]
        assert call(sb, "POST", "/crm/v3/objects/tasks", task)[0] == 400

    def test_property_reads_and_option_replacement(self, sb: HubSpotSandbox, hs: Any) -> None:
        core = hs.crm.properties.core_api
        stage = core.get_by_name("contacts", "lifecyclestage")
        assert [o.value for o in stage.options] == [
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other",
        ]
        names = {p.name for p in core.get_all("contacts").results}
        assert {"hs_lead_status", "budget_status", "timeline", "hs_analytics_last_url"} <= names
        bad = {
            "name": "leadsync_reason",
            "label": "Reason",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "contactinformation",
        }
        assert call(sb, "POST", "/crm/v3/properties/contacts", bad)[0] == 400  # enumeration without options
        bad["options"] = [{"label": "No budget", "value": "no_budget", "displayOrder": 0, "hidden": False}]
        assert call(sb, "POST", "/crm/v3/properties/contacts", bad)[0] == 201
        new = [{"label": "Competitor", "value": "competitor", "displayOrder": 0, "hidden": False}]
        status, _, body = call(sb, "PATCH", "/crm/v3/properties/contacts/leadsync_reason", {"options": new})
        assert status == 200 and [o["value"] for o in body["options"]] == ["competitor"]
        assert call(sb, "GET", "/crm/v3/properties/contacts/nope")[0] == 404


class TestAuth:
    def test_missing_and_unknown_tokens_are_401(self, sb: HubSpotSandbox) -> None:
        status, _, body = call(sb, "GET", "/crm/v3/owners/", token=None)
        assert status == 401 and body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error"
        with pytest.raises(Exception) as err:
            HubSpot(access_token="pat-wrong", host=sb.url).crm.owners.owners_api.get_page()
        assert err.value.status == 401

    def test_missing_scope_is_403_with_required_scopes(self, sb: HubSpotSandbox) -> None:
        sb.add_token("pat-readonly", ["crm.objects.contacts.read"])
        assert (
            call(sb, "POST", "/crm/v3/objects/contacts/search", search_body(), token="pat-readonly")[0] == 200
        )
        status, _, body = call(
            sb, "POST", "/crm/v3/objects/contacts/batch/update", {"inputs": []}, token="pat-readonly"
        )
        assert status == 403 and body["category"] == "MISSING_SCOPES"
        assert body["message"].startswith(
            "This app hasn't been granted all required scopes to make this call"
        )
        detail = body["errors"][0]
        assert detail["message"] == "One or more of the following scopes are required."
        assert detail["context"] == {"requiredGranularScopes": ["crm.objects.contacts.write"]}
        status, _, body = call(sb, "GET", "/crm/v3/owners/", token="pat-readonly")
        assert status == 403 and body["errors"][0]["context"]["requiredGranularScopes"] == [
            "crm.objects.owners.read"
        ]


class TestRateLimits:
    def test_ten_second_window(self, sb: HubSpotSandbox) -> None:
        sb.set_limits(ten_second_max=3, ten_second_window_ms=800)
        remaining = [call(sb, "GET", "/crm/v3/owners/")[1]["X-HubSpot-RateLimit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        status, headers, body = call(sb, "GET", "/crm/v3/owners/")
        assert (
            status == 429
            and body["policyName"] == "TEN_SECONDLY_ROLLING"
            and body["errorType"] == "RATE_LIMIT"
        )
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert body["groupName"].startswith("publicapi:") and headers["X-HubSpot-RateLimit-Max"] == "3"
        time.sleep(0.85)
        assert call(sb, "GET", "/crm/v3/owners/")[0] == 200
        assert sb.stats()["rate_limited"] == {"TEN_SECONDLY_ROLLING": 1}

    def test_search_secondly_and_daily(self, sb: HubSpotSandbox) -> None:
        sb.set_limits(search_per_second=2, search_window_ms=5000)
        first = call(sb, "POST", "/crm/v3/objects/contacts/search", search_body())
        assert first[0] == 200 and not any(h.startswith("X-HubSpot-RateLimit") for h in first[1])
        call(sb, "POST", "/crm/v3/objects/contacts/search", search_body())
        status, _, body = call(sb, "POST", "/crm/v3/objects/contacts/search", search_body())
        assert status == 429 and body["policyName"] == "SECONDLY"
        assert body["message"] == "You have reached your secondly limit."
        sb.set_limits(daily_max=sb.app.limiter._daily)
        status, _, body = call(sb, "GET", "/crm/v3/owners/")
        assert status == 429 and body["policyName"] == "DAILY"


class TestFaults:
    def test_5xx_for_the_next_requests(self, sb: HubSpotSandbox, hs: Any) -> None:
        owners = hs.crm.owners.owners_api
        sb.set_faults(fail_next=2, error_statuses=[503])
        for _ in range(2):
            with pytest.raises(Exception) as err:
                owners.get_page()
            assert err.value.status == 503 and json.loads(err.value.body)["status"] == "error"
        assert owners.get_page().results

    def test_error_rate_is_reproducible_with_a_seed(self, sb: HubSpotSandbox) -> None:
        def run() -> list[int]:
            sb.set_faults(reset=True, error_rate=0.5, seed=42)
            return [call(sb, "GET", "/crm/v3/owners/")[0] for _ in range(20)]

        first = run()
        assert first == run()
        assert 200 in first and set(first) - {200} and set(first) - {200} <= {502, 503, 504}

    def test_storm_then_recovery_set_over_http(self, sb: HubSpotSandbox) -> None:
        status, _, faults = call(sb, "POST", "/__sandbox/faults", {"storm": 2}, token=None)
        assert status == 200 and faults["storm"] == 2
        results = [call(sb, "GET", "/crm/v3/owners/") for _ in range(3)]
        assert [r[0] for r in results] == [429, 429, 200]
        assert results[0][2]["policyName"] == "TEN_SECONDLY_ROLLING"

    def test_dropped_connection(self, sb: HubSpotSandbox, hs: Any) -> None:
        sb.set_faults(drop_next=1)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            call(sb, "GET", "/crm/v3/owners/")
        sb.set_faults(drop_next=1)
        with pytest.raises(Exception) as err:  # urllib3 does not retry a POST: the error escapes
            hs.crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=1))
        assert "ApiException" not in type(err.value).__name__
        sb.set_faults(drop_next=1)
        assert hs.crm.owners.owners_api.get_page().results  # urllib3 silently retries a GET once
        stats = sb.stats()
        assert stats["faults"]["dropped"] == 3 and stats["by_endpoint"]["GET /crm/v3/owners/"] == 3

    def test_latency_and_endpoint_match(self, sb: HubSpotSandbox) -> None:
        sb.set_faults(latency_ms=300, match="batch/update")
        started = time.perf_counter()
        call(sb, "GET", "/crm/v3/owners/")
        assert time.perf_counter() - started < 0.3
        started = time.perf_counter()
        call(sb, "POST", "/crm/v3/objects/contacts/batch/update", {"inputs": []})
        assert time.perf_counter() - started >= 0.3


class TestStatsAndControl:
    def test_counts_by_endpoint_method_and_status_then_reset(self, sb: HubSpotSandbox, hs: Any) -> None:
        search = hs.crm.contacts.search_api
        for _ in range(3):
            search.do_search(PublicObjectSearchRequest(limit=1))
        call(sb, "GET", "/crm/v3/owners/")
        call(sb, "PATCH", "/crm/v3/objects/contacts/1001", {"properties": {"city": "Lugo"}})
        stats = call(sb, "GET", "/__sandbox/stats", token=None)[2]
        assert stats["by_endpoint"] == {
            "POST /crm/v3/objects/contacts/search": 3,
            "GET /crm/v3/owners/": 1,
            "PATCH /crm/v3/objects/contacts/{id}": 1,
        }
        assert stats["by_method"] == {"GET": 1, "PATCH": 1, "POST": 3} and stats["requests"] == 5
        assert call(sb, "POST", "/__sandbox/reset", {}, token=None)[0] == 200
        assert sb.stats()["requests"] == 0 and sb.contacts["1001"].properties["city"] != "Lugo"


def test_cli_prints_url_and_token() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadsync.sandboxes.hubspot", "--port", "0", "--contacts", "20"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        assert proc.stdout.readline().strip() == "token: pat-sandbox"
        req = urllib.request.Request(url + "/crm/v3/owners/", headers={"Authorization": "Bearer pat-sandbox"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert url.startswith("http://127.0.0.1:") and resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
