"""A lost answer (``Faults.lose_next``), the same in the three sandboxes: the CRM applies the
request, then the client gets a 502 (or, with ``lose_status`` 0, a dropped connection). Set over
the back door (``POST /__sandbox/faults``), as a test of another process would."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import requests

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.sandboxes.kit.faults import FaultInjector, Faults
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from tests.sandbox.hubspot_support import call
from tests.sandbox.sf_support import Api as SfApi
from tests.sandbox.zoho_support import NOW as ZOHO_NOW
from tests.sandbox.zoho_support import Api as ZohoApi
from tests.sandbox.zoho_support import access_token, open_leads


def lose(url: str, **faults: Any) -> dict[str, Any]:
    """Set faults over HTTP, as ``POST /__sandbox/faults``."""
    req = urllib.request.Request(
        url + "/__sandbox/faults",
        data=json.dumps(faults).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        out: dict[str, Any] = json.loads(resp.read())
        return out


class TestLostAnswers:
    def test_hubspot_applies_the_update_then_answers_502(self, sb: HubSpotSandbox) -> None:
        cid = next(iter(sb.contacts))
        assert lose(sb.url, lose_next=1, match="PATCH")["lose_next"] == 1
        body = {"properties": {"jobtitle": "Lost Answer"}}
        status, _, _ = call(sb, "PATCH", f"/crm/v3/objects/contacts/{cid}", body)
        assert status == 502
        assert sb.contacts[cid].properties["jobtitle"] == "Lost Answer"  # applied all the same
        assert call(sb, "GET", f"/crm/v3/objects/contacts/{cid}?properties=jobtitle")[0] == 200
        assert sb.stats()["faults"] == {"lost": 1}

    def test_salesforce_serves_the_last_page_then_the_retry_finds_no_locator(
        self, sf_ro: SalesforceSandbox, ro_api: SfApi
    ) -> None:
        first = ro_api.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
        more = first.json()["nextRecordsUrl"]
        lose(sf_ro.url, lose_next=1, match="query/")
        lost = ro_api.get(sf_ro.url + more)
        assert lost.status_code == 502 and "text/html" in lost.headers["Content-Type"]
        again = ro_api.get(sf_ro.url + more)  # the org served the last batch: its locator is closed
        assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"

    def test_zoho_saves_the_edit_then_drops_the_connection(self, zsb: ZohoSandbox) -> None:
        api = ZohoApi(zsb, access_token(zsb))
        rid = str(open_leads(zsb)[0]["id"])
        lose(zsb.url, lose_next=1, lose_status=0, match="PUT ")
        with pytest.raises(requests.ConnectionError):
            api.put("Leads", json={"data": [{"id": rid, "Designation": "Lost Answer"}], "trigger": []})
        assert zsb.record("Leads", rid)["Designation"] == "Lost Answer"
        assert zsb.stats()["faults"] == {"lost": 1}


@pytest.fixture
def zsb() -> Any:
    with ZohoSandbox(seed=7, leads=20, now=ZOHO_NOW) as sb:
        yield sb


def test_zoho_dates_its_answers_by_its_own_clock(zsb: ZohoSandbox) -> None:
    """A skewed Zoho: the Date header is the org's clock (started at ``now``), not this machine's."""
    from email.utils import parsedate_to_datetime

    resp = ZohoApi(zsb, access_token(zsb)).leads()
    assert abs((parsedate_to_datetime(resp.headers["Date"]) - zsb.clock()).total_seconds()) < 2


class TestLoseRate:
    """``lose_rate``: answers lost at random over a whole run, seeded, on a stream of their own."""

    @staticmethod
    def outcomes(injector: FaultInjector, n: int = 400) -> list[tuple[str | None, int | None]]:
        out = []
        for i in range(n):
            endpoint = f"GET /things/{i}"
            out.append((injector.plan(endpoint).action, injector.lose(endpoint)))
        return out

    def test_a_seeded_share_of_answers_is_lost(self) -> None:
        runs = [self.outcomes(FaultInjector(Faults(lose_rate=0.25, seed=5))) for _ in range(2)]
        assert runs[0] == runs[1]  # the same seed, the same answers lost
        lost = sum(1 for _, status in runs[0] if status is not None)
        assert 70 <= lost <= 130 and {s for _, s in runs[0] if s is not None} == {502}
        other = self.outcomes(FaultInjector(Faults(lose_rate=0.25, seed=6)))
        assert other != runs[0]

    def test_the_other_faults_fall_where_they_did_without_it(self) -> None:
        before = FaultInjector(Faults(error_rate=0.2, drop_rate=0.1, seed=3))
        with_lost = FaultInjector(Faults(error_rate=0.2, drop_rate=0.1, lose_rate=0.3, lose_status=0, seed=3))
        plain, mixed = self.outcomes(before), self.outcomes(with_lost)
        assert [a for a, _ in plain] == [a for a, _ in mixed]
        assert {s for _, s in mixed} == {None, 0}

    def test_match_limits_it_and_the_sandbox_takes_it_over_http(self, zsb: ZohoSandbox) -> None:
        injector = FaultInjector(Faults(lose_rate=1.0, match="^PUT "))
        assert injector.lose("GET /crm/v6/Leads") is None and injector.lose("PUT /crm/v6/Leads") == 502
        api = ZohoApi(zsb, access_token(zsb))
        assert lose(zsb.url, lose_rate=0.5, seed=1)["lose_rate"] == 0.5
        statuses = [api.leads().status_code for _ in range(20)]
        assert set(statuses) == {200, 502} and zsb.stats()["faults"]["lost"] == statuses.count(502)
