"""A fuzzer of the rules loader: whatever the file, `validate` ends in success or FILE:LINE.

Two sources of files: the shipped rules and mapping files mutated as text (characters deleted,
YAML tokens and hostile values inserted, lines repeated, swapped or re-indented), and rules
built from the schema with hostile values in every place (numbers past any bound, regexes that
backtrack, deep nesting, aliases). Each is loaded, checked and summarized as `leadsync validate`
does, and, when valid, one contact is decided. Anything else than success or an ``InputError``
whose every problem names this file and a line is a failure, and so is an example that takes
longer than the profile's deadline.

The budget is a settings profile: ``rules-ci`` (the default: 250 examples a test, derandomized
so CI runs the same files every time) or ``rules-deep`` (``LEADSYNC_FUZZ=deep``: 20,000 random
examples, for a person hunting bugs).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.errors import InputError
from leadsync.rules.loader import rules_from_source
from leadsync.rules.yamlsource import load_yaml_text
from leadsync.summary import summarize
from tests.support import ago, contact, decide

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted(
    [*ROOT.glob("examples/rules/*.yaml"), *ROOT.glob("mappings/*.yaml"), ROOT / "tests/sync/rules.yaml"]
)
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in SEEDS]
NAME = "fuzzed.yaml"

_COMMON = {
    "deadline": timedelta(seconds=1),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("rules-ci", max_examples=250, derandomize=True, database=None, **_COMMON)
settings.register_profile("rules-deep", max_examples=20_000, **_COMMON)
FUZZ = settings.get_profile("rules-deep" if os.environ.get("LEADSYNC_FUZZ") == "deep" else "rules-ci")

# -- hostile pieces --------------------------------------------------------------------------

NUMBERS = [
    "1e400", "-1e400", "1e308", "-1e308", ".inf", "-.inf", ".nan", "1" + "0" * 5000, "0x7fffffff",
    "99999999999999999999", "-0", "0", "1_000", "3.5", "1e-400", "0o17", "+12", "1.0e+6",
]  # fmt: skip
PATTERNS = [
    "(a+)+$", "(a|a)*b", "(a)\\1", "(?=x)", "(?<!x)y", "(?P<n>a)(?P=n)", "[", "(?i)\\b(ceo|director)\\b",
    "\\p{L}", "a{2000}", "(?x) a", "[\\W]", "\\", "\\N{NO SUCH NAME}", "(?#", "$", "^$", "(?m)^a$",
    "\\u00e9", "[[:alpha:]]", "a{,3}", "(?s).*", "((((((((((a))))))))))", "\\Z", "\\z", "(?a)\\w",
]  # fmt: skip
TOKENS = [
    "\n", " ", "  ", "\t", ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "&a ", "*a", "&b ", "*b", "<<: *a",
    "!!binary ", "!!python/object:os.system ", "!!float ", "!!int ", "!!str ", "!!map ", "!!seq ", "? ",
    "|", ">", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "\\", "\x00", "\ufeff", "\u2028", "\x85",
    "yes", "no", "null", "~", "true", "2026-12-25", "12:30", "all: [", "any: [", "not: ", "if: ",
    "{field: title, matches: ", "{activity: demo_request, within_days: ", "points: ", "per: occurrence",
    "version: 1\n", "version: 2\n", "timezone: Mars/Olympus\n", "due_in: ", "99999999999d", "sla", "0m",
    *NUMBERS, *(f'"{p}"' for p in PATTERNS),
]  # fmt: skip


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """A shipped rules or mapping file with a few text mutations."""
    text = draw(st.sampled_from(SEED_TEXTS))
    for _ in range(draw(st.integers(1, 6))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["delete", "insert", "insert", "repeat", "swap", "indent", "number"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            piece = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)))
            text = text[:at] + piece + text[at:]
        elif kind == "repeat":
            i = draw(st.integers(0, len(lines) - 1))
            lines[i:i] = [lines[i]] * draw(st.integers(1, 30))
            text = "\n".join(lines)
        elif kind == "swap":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif kind == "indent":
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = " " * draw(st.integers(0, 9)) + lines[i].lstrip()
            text = "\n".join(lines)
        else:
            i = draw(st.integers(0, len(lines) - 1))
            if ":" in lines[i]:
                lines[i] = lines[i].split(":", 1)[0] + ": " + draw(st.sampled_from(NUMBERS))
            text = "\n".join(lines)
    return text


# -- structured rules ------------------------------------------------------------------------

numbers: st.SearchStrategy[Any] = st.one_of(
    st.integers(-10, 200),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**400, 10**18, -(10**9), 1e308]),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)
fields = st.sampled_from(["title", "employees", "country", "stage", "x", "owner_id", "", "properties"])
patterns = st.one_of(st.sampled_from(PATTERNS), st.text(max_size=20))
operators = st.one_of(
    st.fixed_dictionaries({"field": fields, "matches": patterns}),
    st.fixed_dictionaries({"field": fields, "gte": numbers}),
    st.fixed_dictionaries({"field": fields, "in": st.lists(st.text(max_size=3), max_size=3)}),
    st.fixed_dictionaries({"field": fields, "eq": st.one_of(numbers, st.text(max_size=5))}),
    st.fixed_dictionaries({"field": fields, "present": st.one_of(st.booleans(), numbers)}),
    st.fixed_dictionaries(
        {"activity": st.sampled_from(["demo_request", "page_view", "nope"])},
        optional={"min_count": numbers, "within_days": numbers},
    ),
)
conditions = st.recursive(
    operators,
    lambda inner: st.one_of(
        st.fixed_dictionaries({"all": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
    ),
    max_leaves=12,
)


def deep(cond: Any, levels: int) -> Any:
    for _ in range(levels):
        cond = {"all": [cond]}
    return cond


@st.composite
def structured_text(draw: st.DrawFn) -> str:
    """Rules built from the schema with hostile values, dumped as YAML (aliases kept)."""
    cond = draw(conditions)
    if draw(st.booleans()):
        cond = deep(cond, draw(st.sampled_from([1, 5, 31, 40, 250])))
    rule: dict[str, Any] = {"version": 1, "timezone": draw(st.sampled_from(["UTC", "Europe/Madrid", "X/Y"]))}
    rule["scoring"] = {
        "floor": draw(numbers),
        "fit": [{"name": "f", "if": cond, "points": draw(numbers)}],
        "engagement": [
            {
                "name": "e",
                "activity": "page_view",
                "points": draw(numbers),
                "within_days": draw(numbers),
                "min_count": draw(numbers),
                **({"per": "occurrence", "max_points": draw(numbers)} if draw(st.booleans()) else {}),
            }
        ],
        "decay": {"after_inactive_days": draw(numbers), "points": draw(numbers), "every_days": draw(numbers)},
    }
    rule["stages"] = {"mql": {"score_at_least": draw(numbers)}}
    rule["sla"] = {
        "first_touch_within": draw(st.sampled_from(["2h", "99999999999d", "0m", "1" + "0" * 40 + "m", "x"])),
        "attempts": draw(numbers),
    }
    rule["routing"] = {
        "pools": [
            {"name": "p", "owners": ["u1", "u2"], "strategy": "weighted", "weights": {"u1": draw(numbers)}}
        ]
    }
    rule["actions"] = [
        {"trigger": "demo_request", "task": {"title": "t", "due_in": draw(st.text(max_size=8))}}
    ]
    # The same condition object in two places: PyYAML writes an anchor and an alias.
    rule["disqualify"] = [{"reason": "student", "if": cond}]
    return yaml.dump(rule, sort_keys=False, width=1_000_000)


# -- the property ----------------------------------------------------------------------------


def validate_text(text: str) -> None:
    """What `leadsync validate` does; then one decision, when the rules are valid."""
    try:
        source = load_yaml_text(text, NAME)
        rules = rules_from_source(source)
        summarize(rules, source)
    except InputError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.file == NAME, problem
            assert problem.line >= 1, problem
            assert problem.message.strip(), problem
            assert "Traceback" not in problem.message
        return
    person = contact(title="a" * 41 + "!", employees=600, country="ES", properties={"x": "aaaa"})
    acts = [{"id": "a1", "contact_id": "c1", "type": "page_view", "at": ago(days=1)}]
    decide(rules, [person], acts)


@FUZZ
@given(mutated_text())
def test_mutated_shipped_files(text: str) -> None:
    validate_text(text)


@FUZZ
@given(structured_text())
def test_structured_hostile_rules(text: str) -> None:
    validate_text(text)


def test_every_seed_is_exercised() -> None:
    assert len(SEED_TEXTS) >= 8  # four playbooks, three mappings, the sync tests' rules
    for text in SEED_TEXTS[:4]:
        validate_text(text)
