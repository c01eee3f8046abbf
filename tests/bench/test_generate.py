"""`bench/generate.py`: seeded, so the same arguments give the same files."""

from __future__ import annotations

from pathlib import Path

from tests.bench.runbench import run_bench


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    for out in ("a", "b"):
        run_bench(
            "generate.py", "--contacts", "30", "--activities-per-contact", "4", "--out", str(tmp_path / out)
        )
    for name in ("contacts.jsonl", "activities.jsonl", "owners.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert len((tmp_path / "a" / "contacts.jsonl").read_text().splitlines()) == 30
