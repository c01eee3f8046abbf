"""`leadsync check` as a real process on local CRM sandboxes: everything a run needs (issue 12).

- HubSpot, Salesforce, Zoho: not ready before `leadsync setup` (naming each missing field and
  saying to run setup), ok after it.
- Owner ids the rules name that the CRM lacks: each named, with the rules FILE:LINE; exit 1.
- `leadsync demo --dir D` leaves a config that, changed only at the lines it marks, checks a
  "real" CRM (another local portal whose owners differ): check names the sandbox's owner ids, and
  is ok once they are corrected where it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.sandboxes.salesforce.sandbox import demo_org
from leadsync.sandboxes.zoho.sandbox import demo_zoho
from leadsync.testing import example_playbook
from tests.e2e.helpers import (
    FAST,
    NOW,
    TOKEN,
    TOKEN_ENV,
    Run,
    active_owners,
    leadsync,
    no_secret,
    start_sandbox,
    write_config,
)


@pytest.fixture(scope="module")
def portal() -> Iterator[HubSpotSandbox]:
    sb = start_sandbox(contacts=10)
    yield sb
    sb.stop()


def _check(config: Path, token: str | None = TOKEN) -> Run:
    return leadsync("check", "--config", str(config), token=token)


class TestHubSpot:
    def test_ok_after_setup_and_names_unknown_owner_ids_at_their_line(
        self, portal: HubSpotSandbox, tmp_path: Path
    ) -> None:
        config = write_config(tmp_path, portal)
        assert leadsync("setup", "--config", str(config)).code == 0
        ok = _check(config)
        assert ok.code == 0, ok.text
        assert ok.out.startswith("hs: ok ")
        assert "properties: every property leadsync writes and reads is there" in ok.out
        assert "MISSING" not in ok.out
        rules = tmp_path / "rules.yaml"
        lines = rules.read_text(encoding="utf-8").splitlines()
        first = active_owners(portal)[0]
        at = [n for n, line in enumerate(lines, 1) if f'"{first}"' in line]
        rules.write_text(
            "\n".join(line.replace(f'"{first}"', '"77777777"') for line in lines) + "\n", encoding="utf-8"
        )
        bad = _check(config)
        assert bad.code == 1, bad.text
        assert bad.out.startswith("hs: NOT READY")
        [line] = [x for x in bad.out.splitlines() if "77777777" in x]
        places = re.findall(r"rules\.yaml:(\d+) \(", line)
        assert [int(p) for p in places] == at, (line, at)
        assert f"correct the owner id at {tmp_path / 'rules.yaml'}:{at[0]}" in line
        assert no_secret(bad.text)


def _other_crm(tmp_path: Path, demo: Any, playbook: str) -> Path:
    """A config and rules for a Salesforce or Zoho sandbox, from its demo wiring."""
    options = {k: v for k, v in demo["options"].items() if k != "token"}
    (tmp_path / "rules.yaml").write_text(example_playbook(playbook, demo["owners"]), encoding="utf-8")
    connection = {"name": "crm", "adapter": demo["adapter"], "rules": "rules.yaml", "every": "1h",
                  "token_env": TOKEN_ENV, "options": options}  # fmt: skip
    config = tmp_path / "leadsync.yaml"
    config.write_text(yaml.safe_dump({"state": "sqlite:///state.db", "connections": [connection]}))
    return config


@pytest.mark.parametrize(
    ("make", "field"),
    [
        pytest.param(demo_org, "Lead.Leadsync_Score__c", id="salesforce"),
        pytest.param(demo_zoho, "Leads.Leadsync_Score", id="zoho"),
    ],
)
def test_salesforce_and_zoho_name_their_missing_fields_until_setup(
    make: Any, field: str, tmp_path: Path
) -> None:
    with make(contacts=12) as demo:
        token = demo["options"]["token"]
        config = _other_crm(tmp_path, demo, str(demo.get("playbook") or "smarketing-2h.yaml"))
        before = _check(config, token)
        assert before.code == 1, before.text
        assert "NOT READY" in before.out
        assert f"{field}: MISSING — run `leadsync setup`" in before.out, before.out
        setup = leadsync("setup", "--config", str(config), token=token, timeout=120)
        assert setup.code == 0, setup.text
        after = _check(config, token)
        assert after.code == 0, after.text
        assert after.out.startswith("crm: ok ")
        assert "owner ids the rules name exist in the CRM" in after.out


def test_the_demos_config_points_at_another_crm_by_its_marked_lines(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    run = leadsync("demo", "--dir", str(folder), "--contacts", "20", "--cycles", "1", token=None, timeout=90)
    assert run.code == 0, run.text[-3000:]
    config, rules = folder / "leadsync.yaml", folder / "rules.yaml"
    text = config.read_text(encoding="utf-8")
    marked = [line for line in text.splitlines() if "CHANGE" in line or "SANDBOX" in line]
    for key in ("adapter:", "rules:", "every:", "token_env:", "options:", "base_url:"):
        assert any(line.strip().startswith(key) for line in marked), (key, text)
    sandbox_ids = [
        n for n, line in enumerate(rules.read_text().splitlines(), 1) if "SANDBOX owner ids" in line
    ]
    assert sandbox_ids, "the rules say which owner ids are the sandbox's"
    # "Your CRM": a portal with two owners, where the demo's 3rd and 4th owner ids do not exist.
    real = HubSpotSandbox(port=0, token=TOKEN, seed=11, contacts=10, owners=2, now=NOW, limits=FAST).start()
    try:
        edited = []
        for line in text.splitlines():
            key = line.strip().split(":", 1)[0]
            if key == "token_env":
                line = f"    token_env: {TOKEN_ENV}"
            elif key == "base_url":  # a real HubSpot needs none; this stand-in is local
                line = f"      base_url: {real.url}"
            elif key == "every":
                line = "    every: 5m"
            edited.append(line)
        config.write_text("\n".join(edited) + "\n", encoding="utf-8")
        assert leadsync("setup", "--config", str(config)).code == 0
        first = _check(config)
        assert first.code == 1, first.text
        unknown = re.findall(r"owner `(\d+)`: MISSING .*? at (\S+):(\d+) ", first.out)
        assert unknown and all(int(n) in sandbox_ids for _, _, n in unknown), first.out
        # Correct them where check says, with the CRM's own owner ids.
        mine = active_owners(real)
        body = rules.read_text(encoding="utf-8")
        for i, (oid, _, _) in enumerate(unknown):
            body = body.replace(f'"{oid}"', f'"{mine[i % len(mine)]}"')
        # one pool must not list an owner twice
        body = re.sub(r'owners: \["(\d+)", "\1"\]', r'owners: ["\1"]', body)
        rules.write_text(body, encoding="utf-8")
        second = _check(config)
        assert second.code == 0, second.text
        assert no_secret(first.text + second.text)
    finally:
        real.stop()
