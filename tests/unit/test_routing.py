"""Step 8 of CONTRACT.md §4: who owns a new MQL or SQL (and /tmp/silent.md, "Routing")."""

from __future__ import annotations

import textwrap

import pytest

from leadsync.timeutil import parse_iso_ts
from tests.support import NOW, contact, decide, decide_objects, rules

POOL = """
    routing:
      pools:
        - {name: default, owners: [u1, u2, u3], strategy: round_robin}
"""
OWNERS = [{"id": "u1"}, {"id": "u2"}, {"id": "u3"}]


def mql(id: str, mql_at: str = "2026-11-23T09:00:00Z", **fields):
    """A contact already an MQL (so no scoring is needed), waiting for routing."""
    return contact(id, stage="mql", mql_at=mql_at, **fields)


def owners_of(out: dict, ids: list[str]) -> list[str | None]:
    return [out[i]["owner_id"] for i in ids]


class TestOwnerAlreadySet:
    """An active owner already set is always kept; an inactive one is replaced; an owner missing
    from the owners file counts as active; without an owners file nobody is routed."""

    @pytest.mark.parametrize(
        ("owner", "owners", "routing", "expected_owner", "changed"),
        [
            pytest.param("u9", [*OWNERS, {"id": "u9", "active": True}], "kept", "u9", [], id="active-kept"),
            pytest.param("u9", OWNERS, "kept", "u9", [], id="unknown-owner-counts-as-active"),
            pytest.param(
                "u9",
                [*OWNERS, {"id": "u9", "active": False}],
                "pool:default",
                "u1",
                ["assigned_at", "owner_id"],
                id="inactive-replaced",
            ),
            pytest.param("u9", None, "kept", "u9", [], id="no-owners-file-keeps-owner"),
            pytest.param(None, None, "unassigned", None, [], id="no-owners-file-nobody-routed"),
        ],
    )
    def test_owner(self, owner, owners, routing, expected_owner, changed):
        out = decide(rules(POOL), [mql("c1", owner_id=owner)], owners=owners)
        assert out["c1"]["routing"] == routing
        assert out["c1"]["owner_id"] == expected_owner
        assert [f for f in out["c1"]["changed"] if f in ("assigned_at", "owner_id")] == changed


class TestOnlyMqlAndSqlAreRouted:
    """Routing is `none` for a contact that is not an `mql` or `sql`."""

    @pytest.mark.parametrize("stage", ["lead", "nurture", "opportunity", "customer", "disqualified"])
    def test_not_routed(self, stage):
        out = decide(rules(POOL), [contact("c1", stage=stage)], owners=OWNERS)
        assert out["c1"]["routing"] == "none"
        assert out["c1"]["owner_id"] is None

    @pytest.mark.parametrize("stage", ["mql", "sql"])
    def test_routed(self, stage):
        c = contact("c1", stage=stage, **{f"{stage}_at": "2026-11-23T09:00:00Z"})
        out = decide(rules(POOL), [c], owners=OWNERS)
        assert (out["c1"]["routing"], out["c1"]["owner_id"]) == ("pool:default", "u1")


class TestAssignedAt:
    """Routing sets `owner_id` and `assigned_at = now`; both are listed in `changed`."""

    def test_assigned_at_is_now(self):
        [d] = decide_objects(rules(POOL), [mql("c1")], owners=OWNERS)
        assert d.assigned_at == parse_iso_ts(NOW)
        assert d.owner_id == "u1"
        assert "assigned_at" in d.changed and "owner_id" in d.changed

    def test_kept_owner_keeps_assigned_at(self):
        c = mql("c1", owner_id="u2", assigned_at="2026-11-20T09:00:00Z")
        [d] = decide_objects(rules(POOL), [c], owners=OWNERS)
        assert d.assigned_at == parse_iso_ts("2026-11-20T09:00:00Z")
        assert "assigned_at" not in d.changed


ACCOUNT = """
    routing:
      account_match: true
      pools:
        - {name: default, owners: [u1, u2], strategy: round_robin}
"""


def owned(id: str, created: str, owner: str, **fields):
    return contact(id, created_at=created, owner_id=owner, stage="customer", **fields)


class TestAccountMatch:
    """First account match: the active owner of the earliest-created contact with the same
    `domain` (free-mail domains never match; capacity is not checked)."""

    @pytest.mark.parametrize(
        ("others", "new", "owners_extra", "routing", "owner"),
        [
            pytest.param(
                [owned("x1", "2026-10-01T00:00:00Z", "u7", email="bo@acme.com")],
                {"email": "ann@acme.com"},
                [],
                "account_match",
                "u7",
                id="same-domain-from-email",
            ),
            pytest.param(
                [owned("x1", "2026-10-01T00:00:00Z", "u7", domain="acme.com")],
                {"email": "ann@ACME.com"},
                [],
                "account_match",
                "u7",
                id="domain-field-any-case",
            ),
            pytest.param(
                [
                    owned("x1", "2026-10-05T00:00:00Z", "u7", domain="acme.com"),
                    owned("x2", "2026-10-01T00:00:00Z", "u8", domain="acme.com"),
                ],
                {"domain": "acme.com"},
                [],
                "account_match",
                "u8",
                id="earliest-created-wins",
            ),
            pytest.param(
                [
                    owned("x2", "2026-10-01T00:00:00Z", "u8", domain="acme.com"),
                    owned("x1", "2026-10-01T00:00:00Z", "u7", domain="acme.com"),
                ],
                {"domain": "acme.com"},
                [],
                "account_match",
                "u7",
                id="created-tie-by-id",
            ),
            pytest.param(
                [owned("x1", "2026-10-01T00:00:00Z", "u7", email="bo@gmail.com")],
                {"email": "ann@gmail.com"},
                [],
                "pool:default",
                "u1",
                id="free-mail-never-matches",
            ),
            pytest.param(
                [owned("x1", "2026-10-01T00:00:00Z", "u7", domain="other.com")],
                {"domain": "acme.com"},
                [],
                "pool:default",
                "u1",
                id="other-domain",
            ),
            pytest.param(
                [
                    owned(
                        "x1",
                        "2026-10-01T00:00:00Z",
                        "u7",
                        domain="acme.com",
                        assigned_at="2026-11-23T08:00:00Z",
                    )
                ],
                {"domain": "acme.com"},
                [{"id": "u7", "capacity_per_day": 1}],
                "account_match",
                "u7",
                id="capacity-not-checked",
            ),
            pytest.param(
                [owned("x1", "2026-10-01T00:00:00Z", "u7", domain="acme.com")],
                {"domain": "acme.com"},
                [{"id": "u7", "capacity_per_day": 0}],
                "account_match",
                "u7",
                id="capacity-zero-not-checked",
            ),
            pytest.param(
                [
                    owned("x1", "2026-10-01T00:00:00Z", "u7", domain="acme.com"),
                    owned("x2", "2026-10-02T00:00:00Z", "u8", domain="acme.com"),
                ],
                {"domain": "acme.com"},
                [{"id": "u7", "active": False}],
                "account_match",
                "u8",
                id="inactive-owner-skipped",
            ),
            pytest.param(
                [contact("x1", created_at="2026-10-01T00:00:00Z", domain="acme.com")],
                {"domain": "acme.com"},
                [],
                "pool:default",
                "u1",
                id="unowned-contact-ignored",
            ),
        ],
    )
    def test_account_match(self, others, new, owners_extra, routing, owner):
        owners = [{"id": "u1"}, {"id": "u2"}, *owners_extra]
        out = decide(rules(ACCOUNT), [*others, mql("c1", **new)], owners=owners)
        assert (out["c1"]["routing"], out["c1"]["owner_id"]) == (routing, owner)

    def test_off_without_account_match(self):
        out = decide(
            rules(POOL),
            [owned("x1", "2026-10-01T00:00:00Z", "u7", domain="acme.com"), mql("c1", domain="acme.com")],
            owners=OWNERS,
        )
        assert out["c1"]["routing"] == "pool:default"

    def test_contact_routed_earlier_in_the_run_is_matched(self):
        cs = [
            mql("c1", "2026-11-23T08:00:00Z", domain="acme.com"),
            mql("c2", "2026-11-23T09:00:00Z", domain="acme.com"),
        ]
        out = decide(rules(ACCOUNT), cs, owners=[{"id": "u1"}, {"id": "u2"}])
        assert (out["c1"]["routing"], out["c1"]["owner_id"]) == ("pool:default", "u1")
        assert (out["c2"]["routing"], out["c2"]["owner_id"]) == ("account_match", "u1")


class TestPools:
    """The first pool whose `if` holds; a pool with no eligible owner leaves the contact
    `unassigned` (it does not fall through); no pool matching is `unassigned` too."""

    PICK = """
        routing:
          pools:
            - {name: enterprise, if: {field: employees, gte: 500}, owners: [u1, u2]}
            - {name: default, owners: [u3]}
    """

    @pytest.mark.parametrize(
        ("employees", "routing", "owner"),
        [
            pytest.param(1000, "pool:enterprise", "u1", id="first-pool-holds"),
            pytest.param(500, "pool:enterprise", "u1", id="boundary-gte"),
            pytest.param(499, "pool:default", "u3", id="second-pool"),
            pytest.param(None, "pool:default", "u3", id="missing-value-fails-gte"),
        ],
    )
    def test_first_matching_pool(self, employees, routing, owner):
        out = decide(rules(self.PICK), [mql("c1", employees=employees)], owners=[{"id": "u1"}, {"id": "u3"}])
        assert (out["c1"]["routing"], out["c1"]["owner_id"]) == (routing, owner)

    def test_no_fall_through_when_pool_has_nobody(self):
        owners = [{"id": "u1", "active": False}, {"id": "u2", "active": False}, {"id": "u3"}]
        out = decide(rules(self.PICK), [mql("c1", employees=1000)], owners=owners)
        assert (out["c1"]["routing"], out["c1"]["owner_id"]) == ("unassigned", None)

    def test_no_pool_matches(self):
        r = rules("""
            routing:
              pools:
                - {name: enterprise, if: {field: employees, gte: 500}, owners: [u1]}
        """)
        out = decide(r, [mql("c1", employees=10)], owners=[{"id": "u1"}])
        assert (out["c1"]["routing"], out["c1"]["owner_id"]) == ("unassigned", None)


class TestRoundRobin:
    """`round_robin` in the pool's order, contacts taken in order of (`mql_at` or `sql_at`, `id`),
    skipping owners who are not active or are at `capacity_per_day`."""

    @pytest.mark.parametrize(
        ("contacts", "owners", "expected"),
        [
            pytest.param(
                [mql("c1"), mql("c2"), mql("c3"), mql("c4")],
                OWNERS,
                {"c1": "u1", "c2": "u2", "c3": "u3", "c4": "u1"},
                id="same-time-by-id",
            ),
            pytest.param(
                [
                    mql("c1", "2026-11-23T09:00:00Z"),
                    mql("c2", "2026-11-23T08:00:00Z"),
                    mql("c3", "2026-11-23T08:00:00Z"),
                ],
                OWNERS,
                {"c2": "u1", "c3": "u2", "c1": "u3"},
                id="by-mql-at-then-id",
            ),
            pytest.param(
                [
                    contact("a", stage="sql", sql_at="2026-11-23T09:30:00Z"),
                    mql("b", "2026-11-23T09:45:00Z"),
                    mql("c", "2026-11-23T07:00:00Z"),
                ],
                OWNERS,
                {"c": "u1", "a": "u2", "b": "u3"},
                id="sql-at-when-no-mql-at",
            ),
            pytest.param(
                [mql("c1"), mql("c2"), mql("c3")],
                [{"id": "u1"}, {"id": "u2", "active": False}, {"id": "u3"}],
                {"c1": "u1", "c2": "u3", "c3": "u1"},
                id="skip-inactive",
            ),
            pytest.param(
                [mql("c1"), mql("c2"), mql("c3")],
                [
                    {"id": "u1", "capacity_per_day": 1},
                    {"id": "u2", "capacity_per_day": 1},
                    {"id": "u3", "capacity_per_day": 0},
                ],
                {"c1": "u1", "c2": "u2", "c3": None},
                id="capacity-this-run",
            ),
            pytest.param(
                [mql(f"c{i}") for i in range(1, 6)],
                [{"id": "u1", "capacity_per_day": 1}, {"id": "u2"}, {"id": "u3"}],
                {"c1": "u1", "c2": "u2", "c3": "u3", "c4": "u2", "c5": "u3"},
                id="skip-full-owner",
            ),
            pytest.param(
                [mql("c1"), mql("c2"), mql("c3")],
                [{"id": "u1", "active": False}, {"id": "u2", "active": False}, {"id": "u3", "active": False}],
                {"c1": None, "c2": None, "c3": None},
                id="nobody-eligible",
            ),
        ],
    )
    def test_sequence(self, contacts, owners, expected):
        out = decide(rules(POOL), contacts, owners=owners)
        assert {cid: out[cid]["owner_id"] for cid in expected} == expected
        for cid, owner in expected.items():
            assert out[cid]["routing"] == ("pool:default" if owner else "unassigned")


W211 = "{name: p, owners: [u3, u4, u5], strategy: weighted, weights: {u3: 2, u4: 1, u5: 1}}"


class TestWeighted:
    """`weighted` is nginx's smooth weighted round robin; ties go to the earlier owner; an owner
    without a weight weighs 1; inactive owners are skipped."""

    @pytest.mark.parametrize(
        ("pool", "owners", "n", "expected"),
        [
            pytest.param(
                "{name: p, owners: [a, b, c], strategy: weighted, weights: {a: 5, b: 1, c: 1}}",
                ["a", "b", "c"],
                7,
                "a a b a c a a",
                id="nginx-5-1-1",
            ),
            pytest.param(W211, ["u3", "u4", "u5"], 4, "u3 u4 u5 u3", id="contract-2-1-1"),
            pytest.param(W211, ["u3", "u4", "u5"], 8, "u3 u4 u5 u3 u3 u4 u5 u3", id="contract-2-1-1-twice"),
            pytest.param(
                "{name: p, owners: [u3, u4, u5], strategy: weighted, weights: {u3: 2}}",
                ["u3", "u4", "u5"],
                4,
                "u3 u4 u5 u3",
                id="missing-weight-is-1",
            ),
            pytest.param(
                "{name: p, owners: [a, b], strategy: weighted}",
                ["a", "b"],
                4,
                "a b a b",
                id="equal-weights-alternate",
            ),
        ],
    )
    def test_sequence(self, pool, owners, n, expected):
        r = rules(f"routing:\n  pools:\n    - {pool}\n")
        cs = [mql(f"c{i}", f"2026-11-23T0{i}:00:00Z") for i in range(1, n + 1)]
        out = decide(r, cs, owners=[{"id": o} for o in owners])
        assert " ".join(out[f"c{i}"]["owner_id"] for i in range(1, n + 1)) == expected

    def test_skips_owner_at_capacity(self):
        # a fills up after 2: then only b and c gain weight: a a | b(tie) c b
        r = rules(
            "routing:\n  pools:\n    - {name: p, owners: [a, b, c], strategy: weighted,"
            " weights: {a: 5, b: 1, c: 1}}\n"
        )
        cs = [mql(f"c{i}", f"2026-11-23T0{i}:00:00Z") for i in range(1, 6)]
        out = decide(r, cs, owners=[{"id": "a", "capacity_per_day": 2}, {"id": "b"}, {"id": "c"}])
        assert [out[f"c{i}"]["owner_id"] for i in range(1, 6)] == ["a", "a", "b", "c", "b"]

    def test_skips_inactive(self):
        # b is out: the rotation is over {a: 5, c: 1}: a a a(tie to earlier) c a a
        r = rules(
            "routing:\n  pools:\n    - {name: p, owners: [a, b, c], strategy: weighted,"
            " weights: {a: 5, b: 1, c: 1}}\n"
        )
        cs = [mql(f"c{i}", f"2026-11-23T0{i}:00:00Z") for i in range(1, 7)]
        out = decide(r, cs, owners=[{"id": "a"}, {"id": "b", "active": False}, {"id": "c"}])
        assert [out[f"c{i}"]["owner_id"] for i in range(1, 7)] == ["a", "a", "a", "c", "a", "a"]


class TestCapacityDay:
    """Capacity counts contacts with `assigned_at` on the day of `now` in the rules' time zone,
    plus assignments made in this run. now = 2026-11-23T10:00Z is the 23rd 02:00 in Los Angeles
    (PST, UTC-8), so 2026-11-23T05:00Z (the 22nd, 21:00 there) is another day."""

    @pytest.mark.parametrize(
        ("timezone", "assigned_at", "owner"),
        [
            pytest.param("America/Los_Angeles", "2026-11-23T05:00:00Z", "u1", id="la-22nd-does-not-count"),
            pytest.param("America/Los_Angeles", "2026-11-23T07:59:59Z", "u1", id="la-2359-22nd"),
            pytest.param("America/Los_Angeles", "2026-11-23T08:00:00Z", "u2", id="la-midnight-23rd-counts"),
            pytest.param("America/Los_Angeles", "2026-11-22T09:00:00Z", "u1", id="la-22nd-morning"),
            pytest.param("UTC", "2026-11-23T05:00:00Z", "u2", id="utc-same-day-counts"),
            pytest.param("UTC", "2026-11-22T23:59:59Z", "u1", id="utc-yesterday"),
            pytest.param("Asia/Tokyo", "2026-11-22T15:00:00Z", "u2", id="tokyo-midnight-23rd-counts"),
            pytest.param("Asia/Tokyo", "2026-11-22T14:59:59Z", "u1", id="tokyo-22nd"),
        ],
    )
    def test_day_of_now_in_rules_zone(self, timezone, assigned_at, owner):
        r = rules(f"timezone: {timezone}\n{textwrap.dedent(POOL)}")
        busy = contact("x0", stage="customer", owner_id="u1", assigned_at=assigned_at)
        owners = [{"id": "u1", "capacity_per_day": 1}, {"id": "u2"}]
        out = decide(r, [busy, mql("c1")], owners=owners)
        assert out["c1"]["owner_id"] == owner

    def test_account_match_counts_toward_capacity(self):
        # c1 is account-matched to u1 (capacity not checked); that assignment fills u1's day.
        r = rules(ACCOUNT)
        cs = [
            owned("x1", "2026-10-01T00:00:00Z", "u1", domain="acme.com"),
            mql("c1", "2026-11-23T08:00:00Z", domain="acme.com"),
            mql("c2", "2026-11-23T09:00:00Z", email="z@gmail.com"),
        ]
        out = decide(r, cs, owners=[{"id": "u1", "capacity_per_day": 1}, {"id": "u2"}])
        assert (out["c1"]["routing"], out["c1"]["owner_id"]) == ("account_match", "u1")
        assert (out["c2"]["routing"], out["c2"]["owner_id"]) == ("pool:default", "u2")

    def test_capacity_with_existing_and_run_assignments(self):
        busy = contact("x0", stage="customer", owner_id="u1", assigned_at="2026-11-23T09:00:00Z")
        owners = [
            {"id": "u1", "capacity_per_day": 2},
            {"id": "u2", "capacity_per_day": 1},
            {"id": "u3", "capacity_per_day": 0},
        ]
        cs = [busy, mql("c1"), mql("c2"), mql("c3")]
        out = decide(rules(POOL), cs, owners=owners)
        assert owners_of(out, ["c1", "c2", "c3"]) == ["u1", "u2", None]
        assert out["c3"]["routing"] == "unassigned"
