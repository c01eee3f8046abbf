"""HubSpot errors, rate limiting, options and secrets (the sandbox on 127.0.0.1 where a server is needed)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from leadsync.adapters.hubspot.adapter import from_options
from leadsync.adapters.hubspot.auth import token_from_options
from leadsync.adapters.hubspot.errors import error_for
from leadsync.adapters.hubspot.paging import SearchRequest
from leadsync.adapters.hubspot.ratelimit import SEARCH_INTERVAL_S, RateLimiter
from leadsync.api import (
    ApiBudget,
    AuthError,
    ConfigError,
    CrmError,
    FakeClock,
    QuotaExhausted,
    RetryPolicy,
    TransientError,
)
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits

URL = "https://api.hubapi.com/crm/v3/objects/contacts/search"
TOKEN = "pat-na1-secret-value-0001"


def no_wait(attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, initial=0.001, maximum=0.001, sleep=lambda s: None)


class TestStatusToError:
    def test_401(self) -> None:
        err = error_for(401, '{"message":"Authentication credentials not found."}', "POST", URL)
        assert isinstance(err, AuthError)
        assert "token" in str(err) and err.status == 401 and err.url == URL

    def test_403_names_the_missing_scopes(self) -> None:
        body = {
            "status": "error",
            "category": "MISSING_SCOPES",
            "message": "This app hasn't been granted all required scopes to make this call.",
            "errors": [
                {
                    "message": "One or more…",
                    "context": {"requiredGranularScopes": ["crm.objects.owners.read"]},
                }
            ],
        }
        err = error_for(403, json.dumps(body), "GET", URL)
        assert isinstance(err, AuthError)
        assert "crm.objects.owners.read" in str(err)

    def test_429_daily_is_quota_exhausted_until_midnight(self) -> None:
        body = '{"status":"error","message":"You have reached your daily limit.","policyName":"DAILY"}'
        resume = datetime(2026, 11, 24, tzinfo=ZoneInfo("Europe/Madrid"))
        err = error_for(429, body, "POST", URL, resume_at=resume)
        assert isinstance(err, QuotaExhausted) and err.resume_at == resume

    @pytest.mark.parametrize("status", [500, 502, 503, 504, 0])
    def test_5xx_and_connection_are_transient(self, status: int) -> None:
        assert isinstance(error_for(status, "", "POST", URL), TransientError)

    def test_423_waits_two_seconds(self) -> None:
        err = error_for(423, '{"message":"locked"}', "POST", URL)
        assert isinstance(err, TransientError) and err.retry_after == 2.0

    def test_other_4xx_keeps_url_status_and_body(self) -> None:
        body = '{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR"}'
        err = error_for(400, body, "POST", URL)
        assert type(err) is CrmError
        assert (err.status, err.url, err.body) == (400, URL, body)


class TestRateLimiter:
    def test_blocks_before_the_window_is_exceeded(self) -> None:
        clock = FakeClock()
        limiter = RateLimiter(3, 10.0, 5, clock=clock)
        for _ in range(4):
            limiter.acquire()
        assert clock.slept == [10.0]

    def test_search_has_its_own_stricter_window(self) -> None:
        clock = FakeClock()
        limiter = RateLimiter(190, 10.0, 2, clock=clock)
        for _ in range(3):
            limiter.acquire(search=True)
        limiter.acquire()
        assert clock.slept == [pytest.approx(SEARCH_INTERVAL_S)]  # a second and a margin for jitter
        assert limiter.burst.used(clock.monotonic()) == 4

    def test_headers_update_the_policy(self) -> None:
        clock = FakeClock()
        limiter = RateLimiter(190, 10.0, 5, clock=clock)
        headers = {
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Remaining": "1",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
        limiter.update_from_headers(headers)
        assert limiter.burst.limit == 100
        limiter.acquire()
        limiter.acquire()
        assert clock.slept, "another client used the window: the limiter waits"

    def test_the_daily_quota_is_remembered_as_the_api_budget(self) -> None:
        limiter = RateLimiter(190, 10.0, 5, clock=FakeClock())
        assert limiter.budget() is None  # nothing reported yet
        limiter.update_from_headers(
            {"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249000"}
        )
        assert limiter.budget() == ApiBudget("requests", used=1000, limit=250_000, remaining=249_000)


@pytest.fixture
def sandbox() -> Iterator[HubSpotSandbox]:
    limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
    with HubSpotSandbox(port=0, token=TOKEN, contacts=20, engagements=False, limits=limits) as sb:
        yield sb


def adapter_for(sb: HubSpotSandbox, **options: Any) -> Any:
    base = {
        "base_url": sb.url,
        "token": TOKEN,
        "retry": no_wait(),
        "search_per_s": 1000,
        "rate_per_10s": 10_000,
    }
    return from_options({**base, **options})


class TestAgainstTheSandbox:
    def test_daily_quota_stops_with_resume_at_next_local_midnight(self, sandbox: HubSpotSandbox) -> None:
        sandbox.set_limits(daily_max=2)  # one listing of owners: active, then archived
        adapter = adapter_for(sandbox, account_timezone="America/New_York")
        adapter.read_owners()
        with pytest.raises(QuotaExhausted) as caught:
            adapter.read_owners()
        resume = caught.value.resume_at
        assert resume is not None and resume.tzinfo is not None
        local = resume.astimezone(ZoneInfo("America/New_York"))
        assert (local.hour, local.minute) == (0, 0)
        assert resume > datetime.now(UTC)

    def test_the_api_budget_is_the_daily_quota_the_answers_report(self, sandbox: HubSpotSandbox) -> None:
        sandbox.set_limits(daily_max=500)
        adapter = adapter_for(sandbox)
        assert adapter.api_budget() is None  # no answer yet: nothing to report, and no call made
        adapter.read_owners()  # two calls: active owners, then archived ones
        assert adapter.api_budget() == ApiBudget("requests", used=2, limit=500, remaining=498)

    def test_ten_secondly_429_waits_for_the_window(self, sandbox: HubSpotSandbox) -> None:
        """The refusal fills the limiter's window: the retry waits for it, on the adapter's clock."""
        waits: list[float] = []
        retry = RetryPolicy(attempts=3, sleep=waits.append)
        clock = FakeClock()
        adapter = adapter_for(sandbox, retry=retry, clock=clock)
        sandbox.set_faults(storm=1)
        started = time.monotonic()
        adapter.read_owners()
        assert len(waits) == 1 and 0 < waits[0] <= 10
        assert clock.slept and time.monotonic() - started < 1.0  # the window waited out, not slept

    def test_search_429_fills_our_search_window_so_the_retry_waits_for_hubspots(
        self, sandbox: HubSpotSandbox
    ) -> None:
        sandbox.set_limits(search_per_second=1)
        waits: list[float] = []
        adapter = adapter_for(sandbox, retry=RetryPolicy(attempts=2, sleep=waits.append))
        request = SearchRequest((), "lastmodifieddate", ("email",), 10)
        adapter.client.search("contacts", request)
        sandbox.reset_stats()
        started = time.monotonic()
        adapter.client.search("contacts", request)  # our limiter allows 1000/s; HubSpot's says 1
        assert len(waits) == 1 and 0.25 <= waits[0] <= SEARCH_INTERVAL_S
        # The refusal filled our window: the retry waited for it (on our limiter's clock), and passed.
        assert time.monotonic() - started >= 0.5
        assert sandbox.stats()["by_status"] == {"429": 1, "200": 1}

    def test_check_names_missing_scopes(self, sandbox: HubSpotSandbox) -> None:
        sandbox.add_token("pat-limited", ["crm.objects.contacts.read", "crm.objects.contacts.write"])
        report = adapter_for(sandbox, token="pat-limited").check()
        assert not report.ok
        assert "crm.objects.owners.read" in report.missing_scopes
        assert "crm.schemas.contacts.write" in report.missing_scopes
        assert any("MISSING" in d and "owners" in d for d in report.details)

    def test_setup_patches_reason_options_and_hides_retired_ones(self, sandbox: HubSpotSandbox) -> None:
        adapter = adapter_for(sandbox)
        adapter.setup({"student": "Student", "spam": "Spam"})
        lines = adapter.setup({"student": "Estudiante", "no_budget": "Sin presupuesto"})
        changed = "added no_budget; relabelled student; hid spam"
        assert f"updated the options of contact property `leadsync_reason`: {changed}" in lines
        options = {o["value"]: o for o in sandbox.store.schema.get("contacts", "leadsync_reason").options}
        assert options["student"]["label"] == "Estudiante" and not options["student"]["hidden"]
        assert options["spam"]["hidden"]

    def test_connection_refused_is_transient_after_retries(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        adapter = from_options({"base_url": f"http://127.0.0.1:{port}", "token": TOKEN, "retry": no_wait(2)})
        with pytest.raises(TransientError):
            adapter.read_owners()
        assert adapter.client.calls == 2

    def test_the_token_never_shows(self, sandbox: HubSpotSandbox) -> None:
        adapter = adapter_for(sandbox, token=SecretStr(TOKEN))
        with capture_logs() as logs:
            list(adapter.read_contacts(None))
            sandbox.expire_token(TOKEN)
            with pytest.raises(AuthError) as caught:
                adapter.read_owners()
        assert TOKEN not in repr(adapter) and TOKEN not in repr(adapter.client)
        assert TOKEN not in json.dumps(logs, default=str)
        assert TOKEN not in str(caught.value) and TOKEN not in (caught.value.body or "")


class TestOptions:
    def test_unknown_option_and_bad_values(self) -> None:
        with pytest.raises(ConfigError) as caught:
            from_options({"token": "x", "bacth_size": 5, "account_timezone": "Mars/Base", "batch_size": 500})
        text = str(caught.value)
        assert "unknown option `bacth_size`; did you mean `batch_size`?" in text
        assert "unknown time zone `Mars/Base`" in text
        assert "`batch_size` must be a whole number from 1 to 100" in text

    def test_token_from_env_file_or_missing(self, tmp_path: Path) -> None:
        secret = tmp_path / "token"
        secret.write_text(f"  {TOKEN}\n")
        assert token_from_options({"token_file": str(secret)}).get_secret_value() == TOKEN
        assert token_from_options({}, environ={"HUBSPOT_TOKEN": TOKEN}).get_secret_value() == TOKEN
        assert token_from_options({"token_env": "HS"}, environ={"HS": TOKEN}).get_secret_value() == TOKEN
        with pytest.raises(ConfigError, match="HUBSPOT_TOKEN"):
            token_from_options({}, environ={})

    def test_entry_point_is_registered(self) -> None:
        from leadsync.registry import adapter_factory

        assert adapter_factory("hubspot") is from_options
