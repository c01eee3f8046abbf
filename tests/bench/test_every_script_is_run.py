"""Every runnable script in `bench/` has a smoke test: `tests/bench/test_<script stem>.py`, which runs
it (issue 14: "every script in bench/ runs at HEAD"). The helper modules the scripts import are
run through them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELPERS = {"benchkit", "syncbench", "sfbench", "zohobench", "vocabulary"}


def scripts() -> list[Path]:
    return sorted(p for p in (ROOT / "bench").glob("*.py") if p.stem not in HELPERS)


def test_the_bench_folder_has_scripts() -> None:
    assert {"run", "versus", "startup", "generate"} <= {p.stem for p in scripts()}


def test_every_bench_script_has_a_test_that_runs_it() -> None:
    missing = []
    for script in scripts():
        test = ROOT / "tests" / "bench" / f"test_{script.stem}.py"
        # The convention is the file's name; naming the script inside it is the least sign it runs it.
        if not test.exists() or script.stem not in test.read_text(encoding="utf-8"):
            missing.append(f"bench/{script.name}: add {test.relative_to(ROOT)} that runs it on a tiny input")
    assert not missing, "\n".join(missing)
