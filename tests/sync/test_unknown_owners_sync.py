"""A run whose rules name an owner id the CRM lacks (issues 12 and 13), on a local HubSpot portal,
with the state on SQLite and PostgreSQL: routing goes around the id (one warning per run), account
matching does not spread it, and a write HubSpot refuses for its owner alone still lands the rest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from leadsync.api import ContactChange
from leadsync.rules.loader import load_rules
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore
from leadsync.testing import example_playbook
from tests.harnesses.hubspot import NOW, PLAYBOOK, _adapter, portal

GHOST = "90000001"  # no owner of the portal has this id


def _rules(tmp_path: Path, valid: list[str]) -> Path:
    """The HubSpot demo's playbook where the first owner of each pool is an id HubSpot lacks (in
    the weighted pool it weighs most: without the fix, it would take every new MQL)."""
    text = example_playbook(PLAYBOOK, [GHOST, valid[0], GHOST, valid[1]])  # irene, jon, kai, lia
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hubspot():  # type: ignore[no-untyped-def]
    sb, _ = portal(contacts=30, visitors=3)  # three CEOs at one company just asked for a demo
    yield sb
    sb.stop()


def test_routing_goes_around_an_owner_id_the_crm_lacks(hubspot, store: StateStore, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    valid = [str(o["id"]) for o in hubspot.owners if not o["archived"]][:2]
    rules = load_rules(_rules(tmp_path, valid))
    job = SyncJob("hs", _adapter(hubspot), rules, store, clock=lambda: NOW)
    with capture_logs() as logs:
        result = job.run()
    warned = [e for e in logs if e["event"] == "owner_unknown"]
    assert [e["owner_id"] for e in warned] == [GHOST], "one warning per unknown id per run"
    assert re.search(r"rules\.yaml:\d+ \(routing pool `enterprise`\)", warned[0]["at"])
    assert "weight in routing pool `smb`" in warned[0]["at"]
    visitors = [r for r in hubspot.contacts.values() if r.properties.get("email", "").startswith("visitor")]
    assert len(visitors) == 3
    owners = {r.properties.get("hubspot_owner_id") for r in visitors}
    assert GHOST not in owners and owners <= set(valid) and len(owners) == 1, owners  # one account
    assert all(r.properties.get("lifecyclestage") == "marketingqualifiedlead" for r in visitors)
    assert not result.counts.get("dead_letters")
    assert result.counts.get("tasks_created") == 3
    held = {o for o in (r.properties.get("hubspot_owner_id") for r in hubspot.contacts.values()) if o}
    assert GHOST not in held


def test_a_write_refused_for_its_owner_alone_lands_the_rest(hubspot, store: StateStore) -> None:  # type: ignore[no-untyped-def]
    """HubSpot refuses the whole record for an owner id it does not have (INVALID_OWNER_ID): the
    adapter sends it once more without the owner; the score and stage land, the owner is dropped."""
    adapter = _adapter(hubspot)
    cid = next(iter(hubspot.contacts))
    change = ContactChange(cid, {"owner_id": GHOST, "score": 77, "stage": "mql"})
    [result] = adapter.write_contacts([change])
    assert result.ok and result.dropped == ("owner_id",)
    assert "INVALID_OWNER_ID" in (result.error or "")
    props = hubspot.contacts[cid].properties
    assert props.get("leadsync_score") == "77" and props.get("lifecyclestage") == "marketingqualifiedlead"
    assert props.get("hubspot_owner_id") != GHOST
