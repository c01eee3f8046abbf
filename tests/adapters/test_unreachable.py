"""Each adapter against a real closed port on 127.0.0.1: ``check`` and a run's first call give up
after a counted number of attempts (their waits recorded, never slept), as ``Unreachable``.

The bound in seconds is proven on an injected clock in tests/unit/test_first_contact.py; here the
connection really is refused, and the number of attempts is what the policy allows a CRM it has
never reached: 4 (waits of about 0.5, 1 and 2 s, under 10 s with the connect timeouts).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from click.testing import CliRunner

from leadsync.adapters.hubspot.adapter import from_options as hubspot
from leadsync.adapters.salesforce.adapter import from_options as salesforce
from leadsync.adapters.zoho.adapter import from_options as zoho
from leadsync.api import SYSTEM_CLOCK, RetryPolicy, Unreachable
from leadsync.api._retry import CONNECT_TIMEOUT_S, FIRST_CONTACT_S
from leadsync.cli import main
from leadsync.testing.sleeps import SleepRecorder

ATTEMPTS = 4


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hubspot(url: str, retry: RetryPolicy) -> Any:
    return hubspot({"base_url": url, "token": "pat-na1-x", "retry": retry})


def _salesforce(url: str, retry: RetryPolicy) -> Any:
    return salesforce(
        {"login_url": url, "auth": "client_credentials", "client_id": "x", "token": "s", "retry": retry}
    )


def _zoho(url: str, retry: RetryPolicy) -> Any:
    return zoho(
        {
            "accounts_url": url,
            "api_url": url,
            "client_id": "1000.X",
            "client_secret_env": "LEADSYNC_TEST_ZOHO_SECRET",
            "token": "1000.refresh",
            "retry": retry,
        }
    )


ADAPTERS: dict[str, Callable[[str, RetryPolicy], Any]] = {
    "hubspot": _hubspot,
    "salesforce": _salesforce,
    "zoho": _zoho,
}


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """The commands configure logging for the process; later tests (capture_logs) need it back."""
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def zoho_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_TEST_ZOHO_SECRET", "secret")


@pytest.mark.parametrize("crm", sorted(ADAPTERS))
def test_check_gives_up_on_a_closed_port(crm: str) -> None:
    recorder = SleepRecorder()
    adapter = ADAPTERS[crm](f"http://127.0.0.1:{closed_port()}", RetryPolicy(sleep=recorder))
    with pytest.raises(Unreachable) as caught:
        adapter.check()
    assert len(recorder.waits) == ATTEMPTS - 1
    assert sum(recorder.waits) + CONNECT_TIMEOUT_S <= FIRST_CONTACT_S
    assert "cannot connect: is the URL right" in str(caught.value)


@pytest.mark.parametrize("crm", sorted(ADAPTERS))
def test_a_runs_first_read_gives_up_on_a_closed_port(crm: str) -> None:
    recorder = SleepRecorder()
    adapter = ADAPTERS[crm](f"http://127.0.0.1:{closed_port()}", RetryPolicy(sleep=recorder))
    with pytest.raises(Unreachable):
        next(iter(adapter.read_contacts(None)))
    assert len(recorder.waits) == ATTEMPTS - 1


def test_the_check_command(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`leadsync check` on a HubSpot that cannot be reached: FAILED, exit 1, in 4 attempts whose
    waits (the system clock's sleeps, recorded here) stay under the 10 s budget."""
    recorder = SleepRecorder()
    monkeypatch.setattr(SYSTEM_CLOCK, "sleep", recorder)
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-x")
    (tmp_path / "rules.yaml").write_text("version: 1\n")
    config = tmp_path / "leadsync.yaml"
    config.write_text(
        "log: {level: error}\n"
        "connections:\n"
        "  - name: hubspot\n"
        "    adapter: hubspot\n"
        "    rules: rules.yaml\n"
        "    token_env: LEADSYNC_TEST_TOKEN\n"
        f"    options: {{base_url: 'http://127.0.0.1:{closed_port()}'}}\n"
    )
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("hubspot: FAILED: POST http://127.0.0.1:")
    assert "cannot connect" in result.stdout
    assert len(recorder.waits) == ATTEMPTS - 1 and sum(recorder.waits) + CONNECT_TIMEOUT_S <= FIRST_CONTACT_S
