"""Holding owners: the users whose leads count as not yet assigned (Zoho has no queues)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadsync.adapters.zoho.adapter import ZohoAdapter, from_options
from leadsync.adapters.zoho.mapping import default_mapping_path, load_mapping
from leadsync.api import ConfigError
from leadsync.sandboxes.zoho.sandbox import SECRET_ENV, ZohoSandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[ZohoSandbox]:
    with ZohoSandbox(seed=3, leads=10, users=6) as sandbox:
        yield sandbox


def _mapping_with(tmp_path: Path, holding: str) -> Path:
    text = default_mapping_path().read_text().replace("  holding: []", f"  holding: {holding}")
    path = tmp_path / "zoho.yaml"
    path.write_text(text)
    return path


def _adapter(sb: ZohoSandbox, mapping: Path, monkeypatch: pytest.MonkeyPatch) -> ZohoAdapter:
    monkeypatch.setenv(SECRET_ENV, sb.credentials.client_secret)
    c = sb.credentials
    options: dict[str, Any] = {
        "accounts_url": sb.accounts_url,
        "api_url": sb.url,
        "client_id": c.client_id,
        "client_secret_env": SECRET_ENV,
        "token": c.refresh_token,
        "mapping": str(mapping),
        "clock": sb.clock,
    }
    return from_options(options)


def test_holding_users_read_as_inactive_owners(
    sb: ZohoSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = sb.users()
    rep = next(u for u in users if u.get("last_name") != "Integration" and u.get("status") == "active")
    holding = f"[integration_user, {str(rep['email']).upper()}]"
    owners = {o.id: o for o in _adapter(sb, _mapping_with(tmp_path, holding), monkeypatch).read_owners()}
    integration = next(u for u in users if u.get("last_name") == "Integration")
    assert not owners[str(integration["id"])].active
    assert not owners[str(rep["id"])].active  # by email, whatever its case
    plain = {o.id: o for o in _adapter(sb, default_mapping_path(), monkeypatch).read_owners()}
    assert plain[str(integration["id"])].active and plain[str(rep["id"])].active
    others = set(owners) - {str(integration["id"]), str(rep["id"])}
    assert all(owners[i].active == plain[i].active for i in others)


def test_holding_must_be_a_list_with_file_and_line(tmp_path: Path) -> None:
    path = _mapping_with(tmp_path, "integration_user")
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "holding: integration_user" in t)
    assert f"zoho.yaml:{line}:" in str(caught.value) and "must be a list" in str(caught.value)
