"""CONTRACT §8, the rules side: recipients, `where` on the decided contact, and the triggers
`assigned`, `sla_due_soon`, `sla_breached`, `sla_exhausted` with their keys — each expectation
computed by hand (now = Monday 2026-11-23T10:00:00Z unless a case says otherwise)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.records import contact_from_json
from leadsync.rules.decide import decide_all
from leadsync.rules.history import History
from leadsync.rules.horizon import next_change_at
from leadsync.timeutil import format_ts, parse_iso_ts
from tests.support import activity, contact, decide, rules

OWNERS = [
    {"id": "u1", "name": "Ana", "teams": ["sales", "iberia"]},
    {"id": "u2", "name": "Bo", "teams": ["sales"], "active": False},
    {"id": "u3", "name": "Cy", "teams": ["managers", "sales"]},
    {"id": "u4", "name": "Di", "teams": []},
]

BASE = """
    scoring:
      engagement:
        - {name: demo, activity: demo_request, points: 100}
    stages:
      mql: {score_at_least: 100}
    sla:
      first_touch_within: 2h
      attempts: 2
    routing:
      pools:
        - {name: team, owners: [u4]}
"""


def notices(actions_yaml: str, contacts, acts=(), owners=OWNERS, now="2026-11-23T10:00:00Z", base=BASE):
    out = decide(rules(base + "    actions:\n" + actions_yaml), contacts, list(acts), owners, now)
    return {cid: [a for a in d["actions"] if a["type"] == "notify"] for cid, d in out.items()}


DEMO_NOW = activity("d1", "demo_request", "2026-11-23T09:00:00Z")


class TestRecipients:
    """`owner` → `owner:ID` (dropped without an owner); `team:N` → its active owners in the owners
    file's order; `channel:N` as written; a bare name is a team; order as written, each once."""

    @pytest.mark.parametrize(
        ("notify", "owner", "to"),
        [
            pytest.param("owner", "u1", ["owner:u1"], id="owner"),
            pytest.param('"channel:hot-leads"', "u1", ["channel:hot-leads"], id="channel"),
            pytest.param('"team:sales"', "u4", ["owner:u1", "owner:u3"], id="team-active-in-file-order"),
            pytest.param("sales", "u4", ["owner:u1", "owner:u3"], id="bare-name-is-a-team"),
            pytest.param('"team:nobody"', "u1", [], id="empty-team"),
            pytest.param(
                '["channel:x", owner, "team:sales"]', "u1", ["channel:x", "owner:u1", "owner:u3"], id="once"
            ),
            pytest.param('[owner, "channel:x"]', None, ["channel:x"], id="no-owner-dropped"),
        ],
    )
    def test_to(self, notify, owner, to):
        c = contact("c1", owner_id=owner)  # a lead: not routed, its owner is as given
        acts = [activity("r1", "email_reply", "2026-11-23T09:30:00Z")]
        [n] = notices(f"      - {{trigger: email_reply, notify: {notify}}}\n", [c], acts)["c1"]
        assert n == {"type": "notify", "key": "email_reply:c1:r1", "to": to, "owner_id": owner}

    def test_without_an_owners_file_a_team_is_nobody(self):
        c = contact("c1", owner_id="u1")
        acts = [activity("r1", "email_reply", "2026-11-23T09:30:00Z")]
        [n] = notices("      - {trigger: email_reply, notify: [sales, owner]}\n", [c], acts, owners=None)[
            "c1"
        ]
        assert n["to"] == ["owner:u1"]


class TestAssigned:
    """`assigned` fires when this decision set the owner by routing; key `assigned:C:ASSIGNED_AT`."""

    ACTION = "      - {trigger: assigned, notify: owner}\n"

    def test_routed_by_a_pool(self):
        got = notices(self.ACTION, [contact("c1")], [DEMO_NOW])["c1"]
        assert got == [
            {
                "type": "notify",
                "key": "assigned:c1:2026-11-23T10:00:00Z",
                "to": ["owner:u4"],
                "owner_id": "u4",
            }
        ]

    def test_routed_by_account_match(self):
        base = BASE.replace("    routing:\n", "    routing:\n      account_match: true\n")
        first = contact("c0", email="a@acme.com", owner_id="u1", created_at="2026-01-01T00:00:00Z")
        new = contact("c1", email="b@acme.com")
        got = notices(self.ACTION, [first, new], [DEMO_NOW], base=base)["c1"]
        assert [(n["key"], n["to"]) for n in got] == [("assigned:c1:2026-11-23T10:00:00Z", ["owner:u1"])]

    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"owner_id": "u1"}, id="owner-kept"),
            pytest.param(
                {"owner_id": "u1", "stage": "mql", "mql_at": "2026-11-20T09:00:00Z"}, id="already-mql"
            ),
            pytest.param({}, id="not-handed-off"),
        ],
    )
    def test_nothing_when_routing_did_not_set_the_owner(self, fields):
        acts = [DEMO_NOW] if fields else []
        assert notices(self.ACTION, [contact("c1", **fields)], acts)["c1"] == []

    def test_nothing_when_no_owner_is_eligible(self):
        owners = [{**o, "active": o["id"] != "u4"} for o in OWNERS]
        assert notices(self.ACTION, [contact("c1")], [DEMO_NOW], owners=owners)["c1"] == []


class TestSla:
    """The SLA triggers, keyed on the due time: `sla_due_soon` when pending and `now >= due − before`
    (plain time), `sla_breached` when breached with no first touch, `sla_exhausted` when exhausted."""

    ACTIONS = (
        "      - {trigger: sla_due_soon, before: 30m, notify: owner}\n"
        '      - {trigger: sla_breached, notify: [owner, "channel:managers"]}\n'
        '      - {trigger: sla_exhausted, notify: "channel:marketing"}\n'
    )

    @pytest.mark.parametrize(
        ("mql_at", "touches", "fired"),
        [
            pytest.param(
                "2026-11-23T08:00:00Z",
                [],
                ["sla_due_soon:c1:2026-11-23T10:00:00Z"],
                id="due-now-still-pending",
            ),
            pytest.param(
                "2026-11-23T08:30:00Z", [], ["sla_due_soon:c1:2026-11-23T10:30:00Z"], id="due-in-30m"
            ),
            pytest.param("2026-11-23T08:31:00Z", [], [], id="due-in-31m"),
            pytest.param("2026-11-23T07:59:00Z", [], ["sla_breached:c1:2026-11-23T09:59:00Z"], id="breached"),
            pytest.param("2026-11-23T07:00:00Z", ["09:30"], [], id="late-first-touch-fires-nothing"),
            pytest.param("2026-11-23T08:30:00Z", ["09:00"], [], id="met-is-not-due-soon"),
            pytest.param(
                "2026-11-23T07:00:00Z",
                ["08:00", "09:00"],
                ["sla_exhausted:c1:2026-11-23T09:00:00Z"],
                id="exhausted",
            ),
        ],
    )
    def test_fires(self, mql_at, touches, fired):
        c = contact("c1", stage="mql", mql_at=mql_at, owner_id="u1")
        acts = [
            activity(f"t{i}", "email_sent", f"2026-11-23T{t}:00Z", owner_id="u1")
            for i, t in enumerate(touches)
        ]
        got = notices(self.ACTIONS, [c], acts)["c1"]
        assert [n["key"] for n in got] == fired

    def test_breach_goes_to_the_owner_then_the_channel(self):
        c = contact("c1", stage="mql", mql_at="2026-11-23T07:00:00Z", owner_id="u1")
        [n] = notices(self.ACTIONS, [c])["c1"]
        assert n["to"] == ["owner:u1", "channel:managers"]

    def test_exhausted_to_disqualified_still_fires(self):
        base = BASE.replace(
            "attempts: 2", "attempts: 1\n      on_exhausted: {stage: disqualified, reason: no_response}"
        )
        c = contact("c1", stage="mql", mql_at="2026-11-23T07:00:00Z", owner_id="u1")
        acts = [activity("t1", "call", "2026-11-23T08:00:00Z", owner_id="u1", outcome="no_answer")]
        out = decide(rules(base + "    actions:\n" + self.ACTIONS), [c], acts, OWNERS)["c1"]
        assert out["stage"] == "disqualified"
        assert [a["key"] for a in out["actions"]] == ["sla_exhausted:c1:2026-11-23T09:00:00Z"]

    def test_due_soon_across_a_weekend(self):
        """Business hours Mon-Fri 09-18 (UTC): MQL Friday 17:00 → 1 business hour left Friday, due
        Monday 10:00. `before: 30m` is plain time: not due soon on Saturday, nor Monday 09:29; due
        soon from Monday 09:30 (the key is the due time either way)."""
        base = BASE.replace(
            "first_touch_within: 2h",
            "first_touch_within: 2h\n"
            "      business_hours: {days: [mon, tue, wed, thu, fri], from: '09:00', to: '18:00'}",
        )
        c = contact("c1", stage="mql", mql_at="2026-11-20T17:00:00Z", owner_id="u1")
        action = "      - {trigger: sla_due_soon, before: 30m, notify: owner}\n"
        for now, keys in [
            ("2026-11-21T12:00:00Z", []),
            ("2026-11-23T09:29:00Z", []),
            ("2026-11-23T09:30:00Z", ["sla_due_soon:c1:2026-11-23T10:00:00Z"]),
            ("2026-11-23T10:00:00Z", ["sla_due_soon:c1:2026-11-23T10:00:00Z"]),
            ("2026-11-23T10:01:00Z", []),  # breached now
        ]:
            got = notices(action, [c], now=now, base=base)["c1"]
            assert [n["key"] for n in got] == keys, now


class TestWhere:
    """`where` on a contact trigger tests the decided contact: its new score, stage and owner."""

    def test_on_the_new_score(self):
        action = '      - {trigger: stage_mql, notify: "channel:hot", where: {field: score, gte: 120}}\n'
        hot = [
            activity("d1", "demo_request", "2026-11-23T09:00:00Z"),
            activity("p1", "page_view", "2026-11-23T09:10:00Z"),
        ]
        base = BASE.replace(
            "points: 100}\n", "points: 100}\n        - {name: pv, activity: page_view, points: 20}\n", 1
        )
        assert [n["key"] for n in notices(action, [contact("c1")], hot, base=base)["c1"]] == [
            "stage_mql:c1:2026-11-23T10:00:00Z"
        ]
        assert notices(action, [contact("c1")], hot[:1], base=base)["c1"] == []

    def test_on_the_owner_routing_gave(self):
        action = "      - {trigger: assigned, notify: owner, where: {field: owner_id, eq: u4}}\n"
        assert len(notices(action, [contact("c1")], [DEMO_NOW])["c1"]) == 1
        other = action.replace("eq: u4", "eq: u1")
        assert notices(other, [contact("c1")], [DEMO_NOW])["c1"] == []


def validate(tmp_path, actions: str):
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nsla:\n  first_touch_within: 2h\nactions:\n" + actions)
    return CliRunner().invoke(main, ["validate", str(path)]), path


class TestValidate:
    @pytest.mark.parametrize(
        ("actions", "line", "words"),
        [
            pytest.param(
                "  - {trigger: sla_due_soon, notify: owner}\n", 5, ["before: DURATION"], id="before-missing"
            ),
            pytest.param(
                "  - {trigger: sla_breached, before: 30m, notify: owner}\n",
                5,
                ["only applies to `sla_due_soon`"],
                id="before-on-wrong-trigger",
            ),
            pytest.param(
                "  - {trigger: sla_due_soon, before: soon, notify: owner}\n", 5, ["soon"], id="bad-duration"
            ),
            pytest.param(
                '  - {trigger: assigned, notify: "chanel:x"}\n',
                5,
                ["unknown recipient", "did you mean `channel`"],
                id="misspelt-kind",
            ),
            pytest.param(
                '  - {trigger: assigned, notify: "channel:"}\n', 5, ["a channel name"], id="empty-name"
            ),
            pytest.param("  - {trigger: assigned, notify: []}\n", 5, ["names nobody"], id="empty-list"),
            pytest.param(
                "  - trigger: assigned\n    notify:\n      - owner\n      - 'x y'\n",
                8,
                ["unknown recipient `x y`"],
                id="line-of-the-bad-item",
            ),
            pytest.param(
                "  - {trigger: stage_mql, notify: owner, where: {field: socre, gte: 1}}\n",
                5,
                ["unknown field `socre`", "did you mean `score`"],
                id="where-unknown-field",
            ),
            pytest.param(
                "  - {trigger: sla_breach, notify: owner}\n", 5, ["did you mean `sla_breached`"], id="trigger"
            ),
        ],
    )
    def test_refused_at_its_line(self, tmp_path, actions, line, words):
        result, path = validate(tmp_path, actions)
        assert result.exit_code == 2, result.output
        assert f"{path}:{line}:" in result.stderr, result.stderr
        for word in words:
            assert word in result.stderr, result.stderr

    def test_due_soon_needs_a_due_time(self, tmp_path):
        path = tmp_path / "rules.yaml"
        path.write_text("version: 1\nactions:\n  - {trigger: sla_due_soon, before: 30m, notify: owner}\n")
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert result.exit_code == 2 and "sla.first_touch_within" in result.stderr

    def test_the_contracts_example_is_valid(self, tmp_path):
        result, _ = validate(
            tmp_path,
            "  - {trigger: stage_sql, notify: owner}\n"
            "  - {trigger: assigned, notify: owner}\n"
            "  - {trigger: sla_due_soon, before: 30m, notify: owner}\n"
            '  - {trigger: sla_breached, notify: [owner, "channel:sales-leads"]}\n'
            '  - {trigger: sla_exhausted, notify: "channel:marketing"}\n'
            '  - {trigger: stage_mql, notify: "channel:hot-leads", where: {field: score, gte: 120}}\n',
        )
        assert result.exit_code == 0, result.output


class TestRecheck:
    """The daemon re-decides an untouched contact when `sla_due_soon` falls due and when the SLA is
    breached (the first second after `due_at`), so both fire on time."""

    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            pytest.param("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z", id="due-soon-next"),
            pytest.param("2026-11-23T10:30:00Z", "2026-11-23T11:00:01Z", id="then-the-breach"),
        ],
    )
    def test_next_change_at(self, now, expected):
        r = rules(BASE + "    actions:\n      - {trigger: sla_due_soon, before: 30m, notify: owner}\n")
        c = contact_from_json(contact("c1", stage="mql", mql_at="2026-11-23T09:00:00Z", owner_id="u1"))
        histories: dict[str, History] = {}
        when = parse_iso_ts(now)
        [d] = decide_all(r, [c], lambda _id: [], None, when, histories=histories)
        assert (d.sla.status, format_ts(d.sla.due_at)) == ("pending", "2026-11-23T11:00:00Z")
        assert format_ts(next_change_at(r, c, histories["c1"], d, when)) == expected
