"""The Zoho adapter's sign-in, token cache, error translation, rate limits and credits (fake Zoho)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadsync.adapters.zoho.auth import DATA_CENTERS, ZohoSetupError, endpoints
from leadsync.api import ApiBudget, AuthError, ConfigError, QuotaExhausted
from tests.adapters.test_zoho_fake import ACCOUNTS, API, FakeZoho, make_adapter, zoho_fixture  # noqa: F401

_SCOPE = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "invalid oauth scope", "status": "error"}
_TOKEN = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}
_429_V8 = {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "too many requests", "status": "error"}
_429_OLD = {"code": 429, "error": "TOO_MANY_REQUESTS", "error_info": "Many requests fired", "details": []}


class TestDataCentres:
    @pytest.mark.parametrize(
        ("dc", "accounts", "api"),
        [
            ("com", "https://accounts.zoho.com", "https://www.zohoapis.com"),
            ("us", "https://accounts.zoho.com", "https://www.zohoapis.com"),
            ("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
            ("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
            ("com.au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
            ("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
            ("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
            ("com.cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
            ("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
        ],
    )
    def test_each_data_centre_has_its_accounts_and_api_hosts(self, dc: str, accounts: str, api: str) -> None:
        where = endpoints(dc)
        assert (where.accounts_url, where.default_api_url, where.api_url) == (accounts, api, None)

    def test_sandbox_and_developer_hosts_and_explicit_overrides(self) -> None:
        assert endpoints("eu", "sandbox").default_api_url == "https://sandbox.zohoapis.eu"
        assert endpoints("com", "developer").default_api_url == "https://developer.zohoapis.com"
        local = endpoints("com", accounts_url="https://127.0.0.1:9/", api_url="https://127.0.0.1:9")
        assert (local.accounts_url, local.api_url) == ("https://127.0.0.1:9", "https://127.0.0.1:9")
        assert len(DATA_CENTERS) >= 8

    def test_bad_options_are_all_reported(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("ZOHO_CLIENT_SECRET", raising=False)
        with pytest.raises(ConfigError) as caught:
            make_adapter(client_id="", data_center="mars", concurency=3, token="")
        text = str(caught.value)
        for part in (
            "client_id",
            "mars",
            "did you mean `concurrency`",
            "refresh token",
            "ZOHO_CLIENT_SECRET",
        ):
            assert part in text


class TestToken:
    def test_a_200_without_access_token_is_a_clear_setup_error(self, zoho: FakeZoho) -> None:
        """Zoho answers a bad refresh token with HTTP 200 {"error": "invalid_code"}."""
        zoho.token_body = {"error": "invalid_code"}
        with pytest.raises(ZohoSetupError) as caught:
            make_adapter().read_owners()
        # an authentication failure (exit 3), as HubSpot's and Salesforce's (issue 13, defect 8)
        assert isinstance(caught.value, AuthError) and not isinstance(caught.value, ConfigError)
        assert "invalid_code" in str(caught.value) and "mint a new one" in str(caught.value)
        assert caught.value.status == 401
        assert "1000.refresh" not in str(caught.value) and "s3cret" not in str(caught.value)

    def test_the_token_is_minted_once_and_sent_as_zoho_oauthtoken(self, zoho: FakeZoho) -> None:
        crm = make_adapter()
        crm.read_owners()
        crm.read_owners()
        assert zoho.mints == 1
        assert all(s.headers["Authorization"] == "Zoho-oauthtoken 1000.tok1" for s in zoho.sent)

    def test_refreshed_five_minutes_before_expiry_not_per_request(self, zoho: FakeZoho) -> None:
        now = [datetime(2026, 11, 20, 10, tzinfo=UTC)]
        crm = make_adapter(clock=lambda: now[0])
        crm.read_owners()
        now[0] += timedelta(minutes=54)
        crm.read_owners()
        assert zoho.mints == 1
        now[0] += timedelta(minutes=1, seconds=1)  # 4 min 59 s left
        crm.read_owners()
        assert zoho.mints == 2

    def test_the_file_cache_spares_a_mint_across_restarts(self, zoho: FakeZoho, tmp_path: Path) -> None:
        cache = tmp_path / "zoho-token.json"
        make_adapter(token_cache=str(cache)).read_owners()
        make_adapter(token_cache=str(cache)).read_owners()
        assert zoho.mints == 1
        assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
        make_adapter(token_cache=str(cache), token="1000.other").read_owners()  # another refresh token
        assert zoho.mints == 2

    def test_invalid_token_mints_once_and_repeats_the_call(self, zoho: FakeZoho) -> None:
        crm = make_adapter()
        crm.read_owners()
        zoho.faults = [(401, _TOKEN)]
        crm.read_owners()
        assert zoho.mints == 2
        zoho.faults = [(401, _TOKEN), (401, _TOKEN)]
        with pytest.raises(AuthError, match="refused again"):
            crm.read_owners()
        assert zoho.mints == 3

    def test_scope_mismatch_names_the_scopes_to_grant(self, zoho: FakeZoho) -> None:
        zoho.faults = [(401, _SCOPE)]
        with pytest.raises(ZohoSetupError) as caught:
            make_adapter().read_owners()
        assert "ZohoCRM.modules.leads.ALL" in str(caught.value) and "ZohoCRM.users.READ" in str(caught.value)


class TestLimits:
    @pytest.mark.parametrize("body", [_429_V8, _429_OLD], ids=["v8", "older"])
    def test_429_in_either_shape_is_backed_off_and_retried(
        self, zoho: FakeZoho, body: dict[str, object]
    ) -> None:
        zoho.users = [{"id": "u1", "full_name": "Ann", "email": "a@x.io", "status": "active"}]
        zoho.faults = [(429, body), (429, body)]
        assert [o.id for o in make_adapter().read_owners()] == ["u1"]

    def test_429_that_persists_stops_the_job_cleanly(self, zoho: FakeZoho) -> None:
        zoho.faults = [(429, _429_V8)] * 20
        with pytest.raises(QuotaExhausted) as caught:
            make_adapter().read_owners()
        assert caught.value.resume_at is not None

    def test_the_24_hour_message_stops_at_once(self, zoho: FakeZoho) -> None:
        day = {**_429_OLD, "error_info": "Many requests fired than the allowed limit for the past 24 hours."}
        zoho.faults = [(429, day)]
        with pytest.raises(QuotaExhausted):
            make_adapter().read_owners()
        assert len(zoho.sent) == 1

    def test_credits_at_the_floor_stop_before_the_next_call(self, zoho: FakeZoho) -> None:
        crm = make_adapter(credit_floor=500)
        zoho.credits = 480
        crm.client.get("/org")
        sent = len(zoho.sent)
        with pytest.raises(QuotaExhausted, match="credit_floor"):
            crm.client.get("/org")
        assert len(zoho.sent) == sent
        assert crm.client.credits_remaining == 480

    def test_the_api_budget_is_the_credits_left_once_zoho_says(self, zoho: FakeZoho) -> None:
        crm = make_adapter()
        crm.client.get("/org")
        assert crm.api_budget() is None  # Zoho sends the header only once half the credits are spent
        zoho.credits = 4_200
        crm.client.get("/org")
        assert crm.api_budget() == ApiBudget("credits", remaining=4_200)  # the total: never said

    def test_304_and_204_have_no_body_to_parse(self, zoho: FakeZoho) -> None:
        crm = make_adapter()
        answer = crm.client.request(
            "GET", "/Leads", params={"fields": "id"}, headers={"If-Modified-Since": "x"}
        )
        assert answer.body is None
        assert crm.client.get("/users", {"type": "ActiveUsers"}) is None
        assert API in str(zoho.sent[0].path) or zoho.sent[0].path.startswith("/crm/v8/")
        assert ACCOUNTS.startswith("https://")
