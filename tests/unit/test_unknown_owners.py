"""Owner ids the rules name that the CRM lacks (issues 12 and 13): where they are, and routing
around them. ``routable_owners`` gives them to the engine as inactive owner records, so the
engine, unchanged and pure, skips them in round robin and weights and never account-matches them."""

from __future__ import annotations

from dataclasses import asdict

from leadsync.model import Owner
from leadsync.rules.owners import routable_owners, unknown_owners
from tests.support import decide, rules

RULES = """\
version: 1
routing:
  account_match: true
  pools:
    - name: enterprise
      if: {field: employees, gte: 500}
      owners: [u1, ghost]
    - name: default
      owners: [ghost, u2, u3]
      strategy: weighted
      weights: {ghost: 5, u2: 1}
"""
CRM = {o: Owner(id=o) for o in ("u1", "u2", "u3")}


def mql(cid: str, at: str, **fields: object) -> dict[str, object]:
    return {"id": cid, "created_at": "2026-11-01T09:00:00Z", "stage": "mql", "mql_at": at, **fields}


def owners_file(owners: dict[str, Owner]) -> list[dict[str, object]]:
    return [asdict(o) for o in owners.values()]


class TestWhereTheRulesNameOwners:
    def test_every_pool_and_weight_mention_with_its_line(self) -> None:
        r = rules(RULES, "rules.yaml")
        [ghost] = unknown_owners(r.owner_refs, CRM)
        assert ghost.owner_id == "ghost"
        assert [(ref.line, ref.where) for ref in ghost.refs] == [
            (7, "routing pool `enterprise`"),
            (9, "routing pool `default`"),
            (11, "weight in routing pool `default`"),
        ]
        assert ghost.places().startswith("rules.yaml:7 (routing pool `enterprise`), rules.yaml:9")

    def test_ids_the_crm_has_are_not_named(self) -> None:
        r = rules(RULES)
        assert unknown_owners(r.owner_refs, {**CRM, "ghost": Owner(id="ghost", active=False)}) == []


class TestRoutingSkipsUnknownOwners:
    def test_the_crm_owners_plus_an_inactive_record_per_unknown_id(self) -> None:
        owners = routable_owners(rules(RULES).owner_refs, CRM)
        assert owners["ghost"] == Owner(id="ghost", active=False)
        assert {k: v.active for k, v in owners.items()} == {
            "u1": True,
            "u2": True,
            "u3": True,
            "ghost": False,
        }

    def test_no_crm_owners_stays_no_owners(self) -> None:
        """Without owners nobody is routed (CONTRACT §4); nothing is made up."""
        assert routable_owners(rules(RULES).owner_refs, {}) == {}

    def test_round_robin_and_weights_skip_the_unknown_id(self) -> None:
        r = rules(RULES)
        contacts = [
            mql("big1", "2026-11-23T08:00:00Z", employees=900),
            mql("big2", "2026-11-23T08:01:00Z", employees=900),
            *[mql(f"s{i}", f"2026-11-23T09:0{i}:00Z") for i in range(4)],
        ]
        out = decide(r, contacts, owners=owners_file(routable_owners(r.owner_refs, CRM)))
        assert [out[c]["owner_id"] for c in ("big1", "big2")] == ["u1", "u1"]
        assert [out[f"s{i}"]["owner_id"] for i in range(4)] == ["u2", "u3", "u2", "u3"]
        # Without it (the contract's owners-file reading), the unknown id is routed to.
        plain = decide(r, contacts, owners=owners_file(CRM))
        assert plain["big2"]["owner_id"] == "ghost" and plain["s0"]["owner_id"] == "ghost"

    def test_account_match_does_not_spread_an_unknown_owner(self) -> None:
        """A contact already holding the unknown id (an earlier run wrote it into the state) hands
        it to nobody: its colleague is routed by the pool, and it is re-routed itself."""
        r = rules(RULES)
        contacts = [
            mql(
                "first",
                "2026-11-23T08:00:00Z",
                domain="acme.com",
                owner_id="ghost",
                created_at="2026-10-01T09:00:00Z",
            ),
            mql("second", "2026-11-23T09:00:00Z", domain="acme.com"),
        ]
        out = decide(r, contacts, owners=owners_file(routable_owners(r.owner_refs, CRM)))
        assert out["first"]["owner_id"] != "ghost" and out["first"]["routing"].startswith("pool:")
        assert out["second"]["owner_id"] == out["first"]["owner_id"]
        assert out["second"]["routing"] == "account_match"
        plain = decide(r, contacts, owners=owners_file(CRM))
        assert plain["second"]["owner_id"] == "ghost" and plain["second"]["routing"] == "account_match"
