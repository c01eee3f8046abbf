"""Step 11 of CONTRACT.md §4: actions, their triggers, keys, owners and due times
(and /tmp/silent.md on `where`, `notify`, and contacts that get no actions)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from tests.support import activity, contact, decide, rules

STAGES = """
    scoring:
      fit:
        - {name: vip, if: {field: title, eq: VIP}, points: 100}
    stages:
      mql: {score_at_least: 100}
      sql:
        bant:
          budget: {field: budget_status, in: [approved]}
    sla:
      first_touch_within: 2h
    actions:
      - {trigger: stage_mql, task: {title: "First touch (SLA)", due_in: sla}}
      - {trigger: stage_sql, notify: sales}
"""


def by_key(decision: dict) -> dict[str, dict]:
    return {a["key"]: a for a in decision["actions"]}


class TestStageTriggers:
    """`stage_mql` / `stage_sql` fire when this decision sets that stage (final stage is it and
    the previous stage was not); the key is `TRIGGER:CONTACT:TIMESTAMP` with the UTC timestamp
    `YYYY-MM-DDTHH:MM:SSZ`; `due_in: sla` is the SLA's `due_at` (now + 2h)."""

    MQL_TASK: ClassVar[dict] = {
        "type": "task",
        "key": "stage_mql:c1:2026-11-23T10:00:00Z",
        "title": "First touch (SLA)",
        "owner_id": "u1",
        "due_at": "2026-11-23T12:00:00Z",
    }

    @pytest.mark.parametrize(
        ("fields", "keys"),
        [
            pytest.param({"title": "VIP"}, ["stage_mql:c1:2026-11-23T10:00:00Z"], id="lead-to-mql"),
            pytest.param(
                {"title": "VIP", "stage": "nurture", "stage_changed_at": "2026-11-01T00:00:00Z"},
                [],
                id="nurture-without-new-activity-stays",
            ),
            pytest.param(
                {"title": "VIP", "stage": "mql", "mql_at": "2026-11-20T10:00:00Z"}, [], id="already-mql"
            ),
            pytest.param({"title": "Intern"}, [], id="stays-lead"),
            pytest.param(
                {"properties": {"budget_status": "approved"}},
                ["stage_sql:c1:2026-11-23T10:00:00Z"],
                id="lead-to-sql",
            ),
            pytest.param(
                {"title": "VIP", "properties": {"budget_status": "approved"}},
                ["stage_sql:c1:2026-11-23T10:00:00Z"],
                id="sql-wins-no-stage-mql",
            ),
            pytest.param(
                {
                    "stage": "mql",
                    "mql_at": "2026-11-20T10:00:00Z",
                    "properties": {"budget_status": "approved"},
                },
                ["stage_sql:c1:2026-11-23T10:00:00Z"],
                id="mql-to-sql",
            ),
            pytest.param(
                {
                    "stage": "sql",
                    "sql_at": "2026-11-20T10:00:00Z",
                    "properties": {"budget_status": "approved"},
                },
                [],
                id="already-sql",
            ),
        ],
    )
    def test_fires_only_when_set(self, fields, keys):
        out = decide(rules(STAGES), [contact("c1", owner_id="u1", **fields)])["c1"]
        assert sorted(by_key(out)) == keys

    def test_mql_task(self):
        out = decide(rules(STAGES), [contact("c1", owner_id="u1", title="VIP")])["c1"]
        assert out["actions"] == [self.MQL_TASK]
        assert out["actions"][0]["due_at"] == out["sla"]["due_at"]

    def test_sql_notify(self):
        c = contact("c1", owner_id="u1", properties={"budget_status": "approved"})
        [action] = decide(rules(STAGES), [c])["c1"]["actions"]
        assert (action["type"], action["key"], action["owner_id"]) == (
            "notify",
            "stage_sql:c1:2026-11-23T10:00:00Z",
            "u1",
        )
        # CONTRACT §8: the v1 spelling `notify: sales` is the team `sales`; no owners file, nobody in it
        assert action["to"] == []

    @pytest.mark.parametrize(
        ("now", "key"),
        [
            pytest.param(
                "2026-11-23T11:00:00+01:00", "stage_mql:c1:2026-11-23T10:00:00Z", id="offset-to-utc"
            ),
            pytest.param("2026-11-23T05:30:00-04:30", "stage_mql:c1:2026-11-23T10:00:00Z", id="odd-offset"),
            pytest.param("2027-01-05T09:07:03Z", "stage_mql:c1:2027-01-05T09:07:03Z", id="seconds-kept"),
        ],
    )
    def test_timestamp_format(self, now, key):
        out = decide(rules(STAGES), [contact("c1", owner_id="u1", title="VIP")], now=now)["c1"]
        assert [a["key"] for a in out["actions"]] == [key]

    def test_no_owner_gives_null_owner_and_sla_due(self):
        out = decide(rules(STAGES), [contact("c1", title="VIP")])["c1"]
        assert out["actions"] == [{**self.MQL_TASK, "owner_id": None}]


ACTIVITY = """
    activity_types:
      trial_started: contact
    actions:
      - {trigger: demo_request, task: {title: "Call now", due_in: 15m}}
      - {trigger: content_download, where: {field: asset_type, eq: case_study},
         task: {title: "Follow up case study", due_in: 2h}}
      - {trigger: trial_started, notify: marketing}
"""


class TestActivityTriggers:
    """`trigger: ACTIVITY_TYPE` fires for each matching activity with `now - 24h < at <= now`;
    the key is `TRIGGER:CONTACT:ACTIVITY_ID`; a task is due `due_in` after its trigger."""

    @pytest.mark.parametrize(
        ("at", "fires"),
        [
            pytest.param("2026-11-22T10:00:00Z", False, id="exactly-24h-before-no"),
            pytest.param("2026-11-22T10:00:01Z", True, id="just-inside-24h"),
            pytest.param("2026-11-23T10:00:00Z", True, id="exactly-now"),
            pytest.param("2026-11-23T10:00:01Z", False, id="after-now-no"),
            pytest.param("2026-11-23T10:30:00+01:00", True, id="offset-9h30z"),
            pytest.param("2026-11-22T09:00:00Z", False, id="25h-before"),
        ],
    )
    def test_window(self, at, fires):
        out = decide(rules(ACTIVITY), [contact("c1")], [activity("a1", "demo_request", at)])["c1"]
        assert [a["key"] for a in out["actions"]] == (["demo_request:c1:a1"] if fires else [])

    @pytest.mark.parametrize(
        ("at", "due"),
        [
            pytest.param("2026-11-23T09:50:00Z", "2026-11-23T10:05:00Z", id="plus-15m"),
            pytest.param("2026-11-22T23:50:00Z", "2026-11-23T00:05:00Z", id="over-midnight"),
            pytest.param("2026-11-23T09:30:00+01:00", "2026-11-23T08:45:00Z", id="utc-output"),
        ],
    )
    def test_task_due(self, at, due):
        out = decide(rules(ACTIVITY), [contact("c1", owner_id="u4")], [activity("a1", "demo_request", at)])
        assert out["c1"]["actions"] == [
            {
                "type": "task",
                "key": "demo_request:c1:a1",
                "title": "Call now",
                "owner_id": "u4",
                "due_at": due,
            }
        ]

    def test_each_activity_its_own_key(self):
        acts = [
            activity("a1", "demo_request", "2026-11-23T08:00:00Z"),
            activity("a2", "demo_request", "2026-11-23T09:00:00Z"),
            activity("a1", "demo_request", "2026-11-23T08:00:00Z"),
        ]
        out = decide(rules(ACTIVITY), [contact("c1")], acts)["c1"]
        assert sorted(a["key"] for a in out["actions"]) == ["demo_request:c1:a1", "demo_request:c1:a2"]

    @pytest.mark.parametrize(
        ("props", "fires"),
        [
            pytest.param({"asset_type": "case_study"}, True, id="where-holds"),
            pytest.param({"asset_type": "ebook"}, False, id="where-fails"),
            pytest.param({"asset_type": "Case_Study"}, False, id="eq-is-exact"),
            pytest.param({}, False, id="missing-property"),
        ],
    )
    def test_where(self, props, fires):
        acts = [activity("d1", "content_download", "2026-11-23T09:00:00Z", **props)]
        out = decide(rules(ACTIVITY), [contact("c1", owner_id="u2")], acts)["c1"]
        expected = [
            {
                "type": "task",
                "key": "content_download:c1:d1",
                "title": "Follow up case study",
                "owner_id": "u2",
                "due_at": "2026-11-23T11:00:00Z",
            }
        ]
        assert out["actions"] == (expected if fires else [])

    def test_notify_on_custom_type(self):
        acts = [activity("t1", "trial_started", "2026-11-23T09:00:00Z")]
        [action] = decide(rules(ACTIVITY), [contact("c1", owner_id="u2")], acts)["c1"]["actions"]
        assert (action["type"], action["key"], action["owner_id"]) == ("notify", "trial_started:c1:t1", "u2")
        assert action["to"] == []  # the team `marketing` (CONTRACT §8), and no owners file names it
        assert "due_at" not in action or action["due_at"] is None


ROUTED = """
    scoring:
      engagement:
        - {name: demo, activity: demo_request, points: 100}
    stages:
      mql: {score_at_least: 100}
    sla:
      first_touch_within: 1h
    routing:
      pools:
        - {name: team, owners: [u7, u8]}
    actions:
      - {trigger: stage_mql, task: {title: "First touch", due_in: sla}}
      - {trigger: demo_request, task: {title: "Demo", due_in: 30m}}
"""


class TestTaskOwner:
    """A task is for the contact's owner after routing (step 8 comes before step 11)."""

    def test_owner_after_routing(self):
        acts = [
            activity("a1", "demo_request", "2026-11-23T09:00:00Z", contact_id="c1"),
            activity("a2", "demo_request", "2026-11-23T09:10:00Z", contact_id="c2"),
        ]
        out = decide(rules(ROUTED), [contact("c1"), contact("c2")], acts, owners=[{"id": "u7"}, {"id": "u8"}])
        assert by_key(out["c1"]) == {
            "stage_mql:c1:2026-11-23T10:00:00Z": {
                "type": "task",
                "key": "stage_mql:c1:2026-11-23T10:00:00Z",
                "title": "First touch",
                "owner_id": "u7",
                "due_at": "2026-11-23T11:00:00Z",
            },
            "demo_request:c1:a1": {
                "type": "task",
                "key": "demo_request:c1:a1",
                "title": "Demo",
                "owner_id": "u7",
                "due_at": "2026-11-23T09:30:00Z",
            },
        }
        assert {a["owner_id"] for a in out["c2"]["actions"]} == {"u8"}

    def test_replaced_inactive_owner(self):
        acts = [activity("a1", "demo_request", "2026-11-23T09:00:00Z")]
        out = decide(
            rules(ROUTED),
            [contact("c1", owner_id="gone")],
            acts,
            owners=[{"id": "gone", "active": False}, {"id": "u7"}, {"id": "u8"}],
        )
        assert {a["owner_id"] for a in out["c1"]["actions"]} == {"u7"}

    def test_sla_task_matches_sla(self):
        acts = [activity("a1", "demo_request", "2026-11-23T09:00:00Z")]
        out = decide(rules(ROUTED), [contact("c1")], acts, owners=[{"id": "u7"}])["c1"]
        task = by_key(out)["stage_mql:c1:2026-11-23T10:00:00Z"]
        assert task["due_at"] == out["sla"]["due_at"] == "2026-11-23T11:00:00Z"


class TestNoActions:
    """Disqualified, opportunity and customer contacts get no actions (silent.md), even when an
    activity trigger or stage rule would fire."""

    RULES = """
        disqualify:
          - {reason: student, if: {field: title, matches: "(?i)student"}}
        actions:
          - {trigger: demo_request, task: {title: "Call now", due_in: 15m}}
          - {trigger: email_reply, notify: sales}
    """

    @pytest.mark.parametrize(
        ("fields", "count"),
        [
            pytest.param({"stage": "disqualified", "disqualification_reason": "spam"}, 0, id="disqualified"),
            pytest.param({"title": "Student"}, 0, id="disqualified-by-rule-now"),
            pytest.param({"stage": "opportunity"}, 0, id="opportunity"),
            pytest.param({"stage": "customer"}, 0, id="customer"),
            pytest.param({"stage": "nurture"}, 2, id="nurture-gets-them"),
            pytest.param({}, 2, id="lead-gets-them"),
        ],
    )
    def test_no_actions(self, fields, count):
        acts = [
            activity("a1", "demo_request", "2026-11-23T09:00:00Z"),
            activity("a2", "email_reply", "2026-11-23T09:30:00Z"),
        ]
        out = decide(rules(self.RULES), [contact("c1", owner_id="u1", **fields)], acts)["c1"]
        assert len(out["actions"]) == count

    def test_exhausted_to_disqualified_gets_none(self):
        r = rules("""
            sla:
              first_touch_within: 2h
              attempts: 1
              on_exhausted: {stage: disqualified, reason: no_response}
            actions:
              - {trigger: call, task: {title: "Log call", due_in: 15m}}
        """)
        c = contact("c1", stage="mql", owner_id="u1", mql_at="2026-11-23T08:00:00Z")
        out = decide(r, [c], [activity("t1", "call", "2026-11-23T09:00:00Z", owner_id="u1")])["c1"]
        assert (out["stage"], out["actions"]) == ("disqualified", [])
