"""Nothing a rules file says can stall, crash or overflow leadsync (issue 13, defects 3 and 4).

Each class pins one defect: a pattern that backtracks without end, a number past what a score
field holds, conditions nested past Python's recursion limit, a YAML alias bomb, a huge file.
Every refusal is ``FILE:LINE: what to do`` with exit status 2 and no traceback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.rules.rulesfile import MAX_SCORE
from leadsync.rules.yamlsource import MAX_BYTES
from tests.support import NOW, activity, ago, contact, decide, rules

VENV_BIN = Path(sys.executable).parent


def validate(tmp_path: Path, text: str) -> tuple[int, str, Path]:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    return result.exit_code, result.stderr, path


def refused_at(tmp_path: Path, text: str) -> tuple[list[int], str]:
    """The lines `validate` names for ``text``, after checking it refused it cleanly."""
    code, stderr, path = validate(tmp_path, text)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [int(m) for m in re.findall(rf"^{re.escape(str(path))}:(\d+): ", stderr, re.M)]
    assert lines, stderr
    return lines, stderr


def fit_rule(cond: str, points: str = "1") -> str:
    return f"version: 1\nscoring:\n  fit:\n    - name: probe\n      points: {points}\n      if: {cond}\n"


def holds(pattern: str, value: Any) -> bool:
    r = rules(fit_rule("{field: x, matches: " + json.dumps(pattern) + "}"))
    return bool(decide(r, [contact(properties={"x": value})])["c1"]["fit_score"] == 1)


class TestRegexRunsInLinearTime:
    """Defect 3: `matches` patterns run on RE2, so a pattern such as (a+)+$ cannot stall a sync."""

    def test_catastrophic_pattern_on_a_web_form_title(self, tmp_path: Path) -> None:
        # A real process, so that the backtracking engine (holding the GIL) cannot hang the tests:
        # before RE2 this did not finish in hours.
        (tmp_path / "rules.yaml").write_text(fit_rule('{field: title, matches: "(a+)+$"}', "10"))
        (tmp_path / "contacts.jsonl").write_text(
            json.dumps(contact(title="a" * 41 + "!")) + "\n" + json.dumps(contact("c2", title="aaa")) + "\n"
        )
        (tmp_path / "activities.jsonl").write_text("")
        args = ["--rules", "rules.yaml", "--contacts", "contacts.jsonl", "--activities", "activities.jsonl"]
        done = subprocess.run(
            [str(VENV_BIN / "leadsync"), "evaluate", *args, "--now", NOW],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,  # a bound for a failure only; the run takes a fraction of a second
        )
        assert done.returncode == 0, done.stderr
        scores = {d["contact_id"]: d["fit_score"] for d in map(json.loads, done.stdout.splitlines())}
        assert scores == {"c1": 0, "c2": 10}

    def test_long_text_is_searched_quickly(self) -> None:
        r = rules(fit_rule('{field: x, matches: "(x+x+)+y"}'))
        started = time.perf_counter()
        assert decide(r, [contact(properties={"x": "x" * 100_000})])["c1"]["fit_score"] == 0
        assert time.perf_counter() - started < 5  # the backtracking engine: longer than the universe

    @pytest.mark.parametrize(
        ("pattern", "words"),
        [
            pytest.param(r"(a)\\1", ("backreference",), id="backreference"),
            pytest.param(r"(?P<x>a)(?P=x)", ("backreference",), id="named-backreference"),
            pytest.param(r"ceo(?=\\b)", ("lookahead",), id="lookahead"),
            pytest.param(r"(?<!vice )president", ("lookbehind", "all"), id="lookbehind"),
            pytest.param(r"(?!intern)", ("not:",), id="negative-lookahead"),
            pytest.param(r"(?>a+)b", ("atomic",), id="atomic-group"),
            pytest.param(r"a++", ("possessive",), id="possessive"),
            pytest.param(r"(?x) a b", ("(?i)",), id="verbose-flag"),
            pytest.param(r"a{2000}", ("1000",), id="repeat-count"),
            pytest.param(r"[\\W_]", ("(?:",), id="negated-class-in-brackets"),
        ],
    )
    def test_refused_at_its_line_with_what_to_do(
        self, tmp_path: Path, pattern: str, words: tuple[str]
    ) -> None:
        lines, stderr = refused_at(tmp_path, fit_rule('{field: title, matches: "' + pattern + '"}'))
        assert lines == [6]
        assert "RE2" in stderr
        for word in words:
            assert word in stderr, stderr
        assert "E0000" not in stderr and "re2.cc" not in stderr  # RE2's own log stays quiet

    def test_not_python_syntax_is_still_refused(self, tmp_path: Path) -> None:
        lines, stderr = refused_at(tmp_path, fit_rule(r'{field: title, matches: "\\p{L}"}'))
        assert lines == [6] and "bad regular expression" in stderr

    @pytest.mark.parametrize(
        ("pattern", "value", "expected"),
        [
            ("(?i)\\b(ceo|director)\\b", "Sales DIRECTOR", True),
            ("\\w+ador", "Administrador de Sistemas", True),
            ("^\\w+$", "Señoría", True),  # Python's \w is Unicode; RE2's alone is ASCII
            ("^\\d+$", "٣٤", True),  # Arabic-Indic digits are \d in Python
            ("^\\s$", "\u00a0", True),  # no-break space
            ("^\\S+$", "a\u2003b", False),  # em space
            ("ceo$", "ceo\n", True),  # Python's $ matches before a final newline
            ("ceo\\Z", "ceo\n", False),  # \Z is the very end
            ("(?m)^ceo$", "x\nceo\ny", True),
            ("^a{,3}$", "aa", True),  # Python's {,n}
            ("^[[]x", "[x", True),  # [ inside brackets is a literal
            ("[]a]", "]", True),
            ("[^]a]", "a", False),
            ("\\u00e9", "café", True),
            ("caf\\N{LATIN SMALL LETTER E WITH ACUTE}", "café", True),
            ("(?s)a.b", "a\nb", True),
            ("a.b", "a\nb", False),
            ("x(?#a comment)y", "xy", True),
            ("(?i)straße", "STRASSE", False),  # simple case folding in both engines
            ("^5$", 5, True),  # a number is matched as its text
        ],
    )
    def test_python_meaning_kept(self, pattern: str, value: Any, expected: bool) -> None:
        assert holds(pattern, value) is expected
        assert (re.search(pattern, value if isinstance(value, str) else str(value)) is not None) is expected


class TestNumbersAreBounded:
    """Defect 4: points are finite and within ±1,000,000; a score within ±999,999,999 (Zoho's
    9-digit integer field; Salesforce Number(18, 0) and HubSpot's number hold more)."""

    @pytest.mark.parametrize(
        ("points", "words"),
        [
            pytest.param("1e400", ("finite",), id="1e400-infinite"),
            pytest.param("1e308", ("<= 1000000",), id="1e308"),
            pytest.param(".inf", ("finite",), id="inf"),
            pytest.param("-.inf", ("finite",), id="minus-inf"),
            pytest.param(".nan", ("finite",), id="nan"),
            pytest.param("-1000001", (">= -1000000",), id="below"),
            pytest.param("1" + "0" * 5000, ("cannot read",), id="5000-digits"),
        ],
    )
    def test_points_refused(self, tmp_path: Path, points: str, words: tuple[str]) -> None:
        lines, stderr = refused_at(tmp_path, fit_rule("{field: title, present: true}", points))
        assert lines == [5]
        for word in words:
            assert word in stderr, stderr

    @pytest.mark.parametrize(
        ("text", "line"),
        [
            pytest.param("stages:\n  mql: {score_at_least: 1e10}\n", 2, id="mql-bar"),
            pytest.param("scoring:\n  floor: -.inf\n", 2, id="floor"),
            pytest.param("scoring:\n  decay: {after_inactive_days: 1e9, points: -1}\n", 2, id="idle-days"),
            pytest.param(
                "scoring:\n  engagement:\n    - {name: d, activity: demo_request, points: 1,\n"
                "       within_days: 99999999999}\n",
                4,
                id="within-days",
            ),
            pytest.param(
                "scoring:\n  fit:\n    - name: d\n      points: 1\n"
                "      if: {activity: demo_request, within_days: 99999999999}\n",
                5,
                id="activity-condition-window",
            ),
            pytest.param(
                "scoring:\n  fit:\n    - {name: d, points: 1, if: {field: employees, gte: .inf}}\n",
                3,
                id="infinite-comparison",
            ),
            pytest.param(
                "actions:\n  - {trigger: demo_request, task: {title: x, due_in: 99999999999d}}\n",
                2,
                id="due-in",
            ),
            pytest.param("sla:\n  first_touch_within: 1" + "0" * 30 + "m\n", 2, id="sla-duration"),
            pytest.param(
                "routing:\n  pools:\n"
                "    - {name: p, owners: [u1], strategy: weighted, weights: {u1: .inf}}\n",
                3,
                id="weight",
            ),
        ],
    )
    def test_other_numbers_refused(self, tmp_path: Path, text: str, line: int) -> None:
        lines, _ = refused_at(tmp_path, "version: 1\n" + text)
        assert lines == [line + 1]  # ``line`` of ``text``, after the version line

    def test_score_held_within_what_a_crm_field_holds(self) -> None:
        r = rules(
            "scoring:\n  engagement:\n"
            "    - {name: views, activity: page_view, points: 1000000, per: occurrence}\n"
        )
        views = [activity(f"a{i}", "page_view", ago(days=1)) for i in range(2000)]
        decision = decide(r, [contact()], views)["c1"]
        assert decision["score"] == MAX_SCORE
        assert decision["engagement_score"] == 2_000_000_000  # the breakdown says what counted


class TestStructureIsBounded:
    """Defect 4: nesting, aliases and size are bounded before anything recurses or expands."""

    def test_conditions_nested_250_deep(self, tmp_path: Path) -> None:
        cond = "{all: [" * 250 + "{field: a, eq: b}" + "]}" * 250
        lines, stderr = refused_at(tmp_path, fit_rule(cond))
        assert lines == [6] and "nest deeper than 64" in stderr

    def test_block_nesting_names_its_line(self, tmp_path: Path) -> None:
        text = "version: 1\nscoring:\n  fit:\n    - name: x\n      points: 1\n      if:\n"
        indent = "        "
        for _ in range(40):
            text += f"{indent}all:\n{indent}  -\n"
            indent += "    "
        text += f"{indent}field: a\n{indent}eq: b\n"
        lines, _ = refused_at(tmp_path, text)
        assert len(lines) == 1 and 30 < lines[0] < 80

    def test_nesting_within_the_bound_is_fine(self, tmp_path: Path) -> None:
        cond = "{all: [" * 25 + "{field: a, eq: b}" + "]}" * 25
        code, stderr, _ = validate(tmp_path, fit_rule(cond))
        assert code == 0, stderr

    def test_alias_bomb(self, tmp_path: Path) -> None:
        text = 'version: 1\nl0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        for i in range(1, 10):
            text += f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n"
        assert len(text) < 2500  # 9**10 values once expanded
        started = time.perf_counter()
        lines, stderr = refused_at(tmp_path, text)
        assert time.perf_counter() - started < 10  # it took 57 s and 1.3 GB
        assert lines == [6] and "aliases" in stderr  # where the expansion passes the bound

    def test_recursive_alias(self, tmp_path: Path) -> None:
        lines, _ = refused_at(tmp_path, "version: 1\nname: &a [*a]\n")
        assert lines == [2]

    def test_a_few_aliases_are_fine(self, tmp_path: Path) -> None:
        text = (
            "version: 1\nscoring:\n  fit:\n"
            "    - {name: a, points: 1, if: &ceo {field: title, matches: CEO}}\n"
            "    - {name: b, points: 2, if: {all: [*ceo, {field: employees, gte: 50}]}}\n"
        )
        code, stderr, _ = validate(tmp_path, text)
        assert code == 0, stderr

    def test_file_too_large(self, tmp_path: Path) -> None:
        text = "version: 1\n" + "# padding\n" * (MAX_BYTES // 10 + 1)
        lines, stderr = refused_at(tmp_path, text)
        assert lines == [1] and "KiB" in stderr

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("!!python/object:os.system x", id="python-tag"),
            pytest.param("!!float abc", id="bad-float"),
            pytest.param("!!int 0x", id="bad-int"),
        ],
    )
    def test_tags_the_loader_cannot_take(self, tmp_path: Path, value: str) -> None:
        lines, _ = refused_at(tmp_path, f"version: 1\nname: {value}\n")
        assert lines == [2]
