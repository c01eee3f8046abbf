"""Issue 13, defect 8: Zoho's refused refresh token is an authentication failure, exit 3 as the
README says and as HubSpot's and Salesforce's are (it was a configuration error, exit 2), against
the Zoho sandbox (127.0.0.1 only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.sandboxes.zoho.sandbox import SECRET_ENV, ZohoSandbox
from tests.harnesses.zoho import NOW

RULES = Path(__file__).resolve().parents[2] / "examples" / "rules" / "bant.yaml"


@pytest.fixture
def sb() -> Iterator[ZohoSandbox]:
    with ZohoSandbox(seed=3, leads=5, now=NOW) as box:
        yield box


def _config(tmp_path: Path, sb: ZohoSandbox) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES.read_text())
    connection = {
        "name": "zoho",
        "adapter": "zoho",
        "rules": "rules.yaml",
        "token_env": "ZOHO_TEST_REFRESH",
        "options": {
            "client_id": sb.credentials.client_id,
            "client_secret_env": SECRET_ENV,
            "accounts_url": sb.accounts_url,
            "api_url": sb.url,
        },
    }
    config = {"state": f"sqlite:///{tmp_path / 'state.db'}", "log": {"level": "warning"}}
    path = tmp_path / "leadsync.yaml"
    path.write_text(yaml.safe_dump({**config, "connections": [connection]}, sort_keys=False))
    return path


@pytest.mark.parametrize("command", [["sync", "--once"], ["explain", "4000000000001"]])
def test_a_refused_refresh_token_exits_3(
    tmp_path: Path, sb: ZohoSandbox, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv(SECRET_ENV, sb.credentials.client_secret)
    monkeypatch.setenv("ZOHO_TEST_REFRESH", "1000.revoked0000000000000000000000.0000000000000000000000")
    result = CliRunner().invoke(main, [*command, "--config", str(_config(tmp_path, sb))])
    assert result.exit_code == 3, (result.exit_code, result.output)
    assert "authentication failed" in result.stderr and "invalid_code" in result.stderr
    assert "mint a new one" in result.stderr and "revoked0000" not in result.output
