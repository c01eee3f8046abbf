"""The condition language (CONTRACT.md §3 "Conditions", /tmp/silent.md "Rules file").

Every condition is probed through a one-rule fit score: ``probe`` gives 1 point when the
condition holds, so ``fit_score == 1`` means "holds" and ``0`` means "does not hold".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import activity, ago, contact, decide, rules, table


def holds(cond: str, c: dict[str, Any], acts: list[dict[str, Any]] | None = None, extra: str = "") -> bool:
    """Whether the YAML flow condition ``cond`` holds for contact ``c`` at NOW."""
    r = rules("scoring:\n  fit:\n    - name: probe\n      points: 1\n      if: " + cond + "\n" + extra)
    return bool(decide(r, [c], acts)[c["id"]]["fit_score"] == 1)


# -- operators on present values ----------------------------------------------------------------

PRESENT = [
    # (id, operator fragment, value of property x, expected)
    ("eq-same", "eq: a", "a", True),
    ("eq-other", "eq: a", "b", False),
    ("eq-case-matters", "eq: a", "A", False),
    ("eq-number", "eq: 5", 5, True),
    ("ne-other", "ne: a", "b", True),
    ("ne-same", "ne: a", "a", False),
    ("in-member", "in: [a, b]", "b", True),
    ("in-not-member", "in: [a, b]", "c", False),
    ("in-case-matters", "in: [a, b]", "A", False),
    ("not_in-not-member", "not_in: [a, b]", "c", True),
    ("not_in-member", "not_in: [a, b]", "a", False),
    ("contains-substring", 'contains: "/pricing"', "https://x.io/pricing/team", True),
    ("contains-absent-substring", 'contains: "/pricing"', "https://x.io/blog", False),
    ("contains-case-matters", "contains: b", "ABC", False),
    ("matches-is-searched", 'matches: "CEO"', "Acting CEO of X", True),
    ("matches-ignorecase-flag", 'matches: "(?i)ceo|director"', "Sales Director", True),
    ("matches-anchored-miss", 'matches: "^CEO$"', "Acting CEO", False),
    ("matches-no-match", 'matches: "CEO"', "ceo", False),
    ("gte-equal", "gte: 500", 500, True),
    ("gte-below", "gte: 500", 499, False),
    ("gte-float", "gte: 500", 500.5, True),
    ("gt-equal", "gt: 500", 500, False),
    ("gt-above", "gt: 500", 501, True),
    ("lte-equal", "lte: 500", 500, True),
    ("lte-above", "lte: 500", 501, False),
    ("lt-below", "lt: 500", 499, True),
    ("lt-equal", "lt: 500", 500, False),
    ("gte-numeric-text-is-not-a-number", "gte: 100", "500", False),
    ("lt-numeric-text-is-not-a-number", "lt: 100", "5", False),
    ("gte-bool-is-not-a-number", "gte: 0", True, False),
    ("present-true-text", "present: true", "a", True),
    ("present-false-text", "present: false", "a", False),
    ("present-true-zero", "present: true", 0, True),
    ("present-false-zero", "present: false", 0, False),
]


class TestOperatorsOnPresentValues:
    """Each operator compares a present value exactly as §3 and silent.md describe."""

    @pytest.mark.parametrize(("op", "value", "expected"), table(PRESENT))
    def test_operator(self, op: str, value: Any, expected: bool) -> None:
        assert holds("{field: x, " + op + "}", contact(properties={"x": value})) is expected


# -- missing values -----------------------------------------------------------------------------

OPS = [
    ("eq", "eq: a", False),
    ("ne", "ne: a", True),
    ("in", "in: [a, b]", False),
    ("not_in", "not_in: [a, b]", True),
    ("contains", "contains: a", False),
    ("matches", 'matches: "a"', False),
    ("gte", "gte: 1", False),
    ("gt", "gt: 1", False),
    ("lte", "lte: 1", False),
    ("lt", "lt: 1", False),
    ("present_true", "present: true", False),
    ("present_false", "present: false", True),
]

MISSING_PROPERTY = [
    ("absent", {}),
    ("null", {"x": None}),
    ("empty-string", {"x": ""}),
    ("empty-list", {"x": []}),
]

MISSING_TITLE = [
    ("absent", {}),
    ("null", {"title": None}),
    ("empty-string", {"title": ""}),
]


class TestMissingValues:
    """A missing value (absent, null, empty string or list) satisfies only present:false, ne, not_in."""

    @pytest.mark.parametrize("props", table(MISSING_PROPERTY))
    @pytest.mark.parametrize(("op", "expected"), table(OPS))
    def test_missing_property(self, op: str, expected: bool, props: dict[str, Any]) -> None:
        assert holds("{field: x, " + op + "}", contact(properties=props)) is expected

    @pytest.mark.parametrize("fields", table(MISSING_TITLE))
    @pytest.mark.parametrize(("op", "expected"), table(OPS))
    def test_missing_canonical_field(self, op: str, expected: bool, fields: dict[str, Any]) -> None:
        assert holds("{field: title, " + op + "}", contact(**fields)) is expected

    @pytest.mark.parametrize(("op", "expected"), table(OPS))
    def test_missing_employees(self, op: str, expected: bool) -> None:
        assert holds("{field: employees, " + op + "}", contact(employees=None)) is expected


# -- list-valued (multi-select) properties ------------------------------------------------------

LISTS = [
    ("eq-member", "eq: b", True),
    ("eq-not-member", "eq: c", False),
    ("contains-member", "contains: b", True),
    ("contains-not-member", "contains: c", False),
    ("contains-is-membership-not-substring", "contains: ab", False),
    ("in-overlap", "in: [b, z]", True),
    ("in-no-overlap", "in: [q, z]", False),
    ("not_in-no-overlap", "not_in: [q, z]", True),
    ("not_in-overlap", "not_in: [z, a]", False),
    ("ne-member", "ne: b", False),  # ne is the negation of eq (membership)
    ("ne-not-member", "ne: c", True),
    ("present-true", "present: true", True),
    ("present-false", "present: false", False),
]


class TestListValues:
    """On a list value eq/contains test membership and in/not_in test overlap (silent.md)."""

    @pytest.mark.parametrize(("op", "expected"), table(LISTS))
    def test_list_value(self, op: str, expected: bool) -> None:
        c = contact(properties={"x": ["a", "b", "abcd"]})
        assert holds("{field: x, " + op + "}", c) is expected


# -- several operators on one field -------------------------------------------------------------

# fmt: off
SEVERAL = [
    ("range-below", "{field: employees, gte: 50, lt: 500}", {"employees": 49}, False),
    ("range-low-edge", "{field: employees, gte: 50, lt: 500}", {"employees": 50}, True),
    ("range-inside", "{field: employees, gte: 50, lt: 500}", {"employees": 499}, True),
    ("range-high-edge", "{field: employees, gte: 50, lt: 500}", {"employees": 500}, False),
    ("range-missing", "{field: employees, gte: 50, lt: 500}", {"employees": None}, False),
    ("present-and-ne-holds", "{field: x, present: true, ne: b}", {"properties": {"x": "a"}}, True),
    ("present-and-ne-ne-fails", "{field: x, present: true, ne: b}", {"properties": {"x": "b"}}, False),
    ("present-and-ne-missing", "{field: x, present: true, ne: b}", {}, False),
    ("ne-and-not_in-missing", "{field: x, ne: a, not_in: [b]}", {}, True),
    ("ne-and-not_in-other", "{field: x, ne: a, not_in: [b]}", {"properties": {"x": "c"}}, True),
    ("ne-and-not_in-second-fails", "{field: x, ne: a, not_in: [b]}", {"properties": {"x": "b"}}, False),
    ("ne-and-eq-missing", "{field: x, ne: a, eq: b}", {}, False),
    ("contains-and-matches", '{field: x, contains: "/pricing", matches: "^https"}',
     {"properties": {"x": "http://x.io/pricing"}}, False),
]
# fmt: on


class TestSeveralOperators:
    """Several operators on one field must all hold; on a missing value each must accept missing."""

    @pytest.mark.parametrize(("cond", "fields", "expected"), table(SEVERAL))
    def test_all_must_hold(self, cond: str, fields: dict[str, Any], expected: bool) -> None:
        assert holds(cond, contact(**fields)) is expected


# -- all / any / not -----------------------------------------------------------------------------

T = "{field: x, eq: a}"  # holds for the contact below
F = "{field: x, eq: z}"  # does not
COMBINED = [
    ("all-true-true", f"{{all: [{T}, {T}]}}", True),
    ("all-true-false", f"{{all: [{T}, {F}]}}", False),
    ("all-single", f"{{all: [{T}]}}", True),
    ("any-false-true", f"{{any: [{F}, {T}]}}", True),
    ("any-false-false", f"{{any: [{F}, {F}]}}", False),
    ("not-true", f"{{not: {T}}}", False),
    ("not-false", f"{{not: {F}}}", True),
    ("not-eq-on-missing", "{not: {field: w, eq: a}}", True),
    ("not-ne-on-missing", "{not: {field: w, ne: a}}", False),
    ("nested", f"{{all: [{{any: [{F}, {T}]}}, {{not: {F}}}]}}", True),
    ("nested-fails", f"{{any: [{{all: [{T}, {F}]}}, {{not: {T}}}]}}", False),
]


class TestCombinators:
    """all needs every part, any needs one part, not inverts."""

    @pytest.mark.parametrize(("cond", "expected"), table(COMBINED))
    def test_combinator(self, cond: str, expected: bool) -> None:
        assert holds(cond, contact(properties={"x": "a"})) is expected


# -- activity conditions -------------------------------------------------------------------------

PRICING = '{activity: page_view, where: {field: url, contains: "/pricing"}, min_count: 2, within_days: 7}'


def pv(i: int, at: str, url: str = "/pricing", cid: str = "c1") -> dict[str, Any]:
    return activity(f"a{i}", "page_view", at, contact_id=cid, url=url)


# fmt: off
CALL = "{activity: call, where: {field: owner_id, eq: u1}}"
DOWNLOAD = activity("a1", "content_download", ago(1), asset_type="guide")
ACTIVITY_CASES = [
    ("one-demo", "{activity: demo_request}", [activity("a1", "demo_request", ago(days=400))], True),
    ("no-demo", "{activity: demo_request}", [activity("a1", "page_view", ago(days=1))], False),
    ("demo-at-now-counts", "{activity: demo_request}", [activity("a1", "demo_request", ago())], True),
    ("demo-after-now-ignored", "{activity: demo_request}", [activity("a1", "demo_request", ago(seconds=-1))],
     False),
    ("other-contacts-demo", "{activity: demo_request}", [activity("a1", "demo_request", ago(1), "c2")],
     False),
    ("min-count-reached", PRICING, [pv(1, ago(1)), pv(2, ago(2))], True),
    ("min-count-short", PRICING, [pv(1, ago(1)), pv(2, ago(2), url="/blog")], False),
    ("window-boundary-exactly-D-days-counts", PRICING, [pv(1, ago(1)), pv(2, ago(days=7))], True),
    ("window-one-second-outside", PRICING, [pv(1, ago(1)), pv(2, ago(days=7, seconds=1))], False),
    ("future-does-not-count", PRICING, [pv(1, ago(1)), pv(2, ago(seconds=-60))], False),
    ("repeated-id-counted-once", PRICING, [pv(1, ago(1)), pv(1, ago(1))], False),
    ("three-of-which-two-in-window", PRICING, [pv(1, ago(1)), pv(2, ago(30)), pv(3, ago(6))], True),
    ("where-owner_id", CALL, [activity("a1", "call", ago(1), owner_id="u1")], True),
    ("where-owner_id-other", CALL, [activity("a1", "call", ago(1), owner_id="u2")], False),
    ("where-ne-on-missing-property", "{activity: call, where: {field: outcome, ne: no_answer}}",
     [activity("a1", "call", ago(1))], True),
    ("where-eq-on-missing-property", "{activity: call, where: {field: outcome, eq: connected}}",
     [activity("a1", "call", ago(1))], False),
    ("where-any", "{activity: content_download, where: {any: [{field: asset_type, eq: ebook}, "
     "{field: asset_type, eq: guide}]}}", [DOWNLOAD], True),
    ("where-not", "{activity: content_download, where: {not: {field: asset_type, eq: guide}}}", [DOWNLOAD],
     False),
    ("where-gte-number", "{activity: call, where: {field: duration_s, gte: 60}}",
     [activity("a1", "call", ago(1), duration_s=60)], True),
    ("custom-type", "{activity: trial_started, min_count: 2}",
     [activity("a1", "trial_started", ago(1)), activity("a2", "trial_started", ago(40))], True),
]
# fmt: on


class TestActivityConditions:
    """{activity, where, min_count, within_days} counts the contact's activities with
    now − D days <= at <= now."""

    @pytest.mark.parametrize(("cond", "acts", "expected"), table(ACTIVITY_CASES))
    def test_activity_condition(self, cond: str, acts: list[dict[str, Any]], expected: bool) -> None:
        extra = "activity_types:\n  trial_started: contact\n"
        assert holds(cond, contact(), acts, extra) is expected

    def test_activity_condition_inside_all(self) -> None:
        cond = f"{{all: [{PRICING}, {{field: title, present: true}}]}}"
        acts = [pv(1, ago(1)), pv(2, ago(2))]
        assert holds(cond, contact(title="CEO"), acts) is True
        assert holds(cond, contact(title=None), acts) is False


# -- which value a field names -----------------------------------------------------------------

# fmt: off
BOTH = {"title": "CEO", "properties": {"title": "Intern"}}
ACME = {"email": "ana@acme.com"}
FIELDS = [
    ("canonical-title", "{field: title, eq: CEO}", {"title": "CEO"}, True),
    ("canonical-wins-over-property", "{field: title, eq: CEO}", BOTH, True),
    ("property-same-name-not-read", "{field: title, eq: Intern}", BOTH, False),
    ("property-key", "{field: budget_status, eq: approved}", {"properties": {"budget_status": "approved"}},
     True),
    ("canonical-employees", "{field: employees, gte: 500}", {"employees": 800}, True),
    ("canonical-country", "{field: country, in: [ES, PT]}", {"country": "ES"}, True),
    ("stage-absent-reads-lead", "{field: stage, eq: lead}", {}, True),
    ("stage-null-reads-lead", "{field: stage, eq: lead}", {"stage": None}, True),
    ("stage-null-is-present", "{field: stage, present: true}", {"stage": None}, True),
    ("stage-null-not-missing", "{field: stage, present: false}", {"stage": None}, False),
    ("stage-mql-is-not-lead", "{field: stage, eq: lead}", {"stage": "mql"}, False),
    ("stage-in-list", "{field: stage, in: [lead, nurture]}", {"stage": None}, True),
    ("domain-from-email", "{field: domain, eq: acme.com}", ACME, True),
    ("domain-from-email-null-domain", "{field: domain, eq: acme.com}", {**ACME, "domain": None}, True),
    ("domain-given-wins", "{field: domain, eq: other.io}", {**ACME, "domain": "other.io"}, True),
    ("domain-given-not-email", "{field: domain, eq: acme.com}", {**ACME, "domain": "other.io"}, False),
    ("domain-none-without-email", "{field: domain, present: false}", {}, True),
]
# fmt: on


class TestFieldNames:
    """`field` names a canonical contact field, else a key of `properties`; stage null is lead;
    domain is derived from email when absent."""

    @pytest.mark.parametrize(("cond", "fields", "expected"), table(FIELDS))
    def test_field(self, cond: str, fields: dict[str, Any], expected: bool) -> None:
        assert holds(cond, contact(**fields)) is expected
