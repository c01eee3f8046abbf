from tests.support import activity, contact, decide, rules


def test_demo_request_makes_an_mql():
    r = rules("""
        scoring:
          engagement:
            - {name: demo, activity: demo_request, points: 100}
        stages:
          mql: {score_at_least: 100}
    """)
    out = decide(r, [contact()], [activity("a1", "demo_request", "2026-11-23T09:00:00Z")])
    assert out["c1"]["stage"] == "mql"
    assert out["c1"]["mql_at"] == "2026-11-23T10:00:00Z"
