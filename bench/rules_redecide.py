#!/usr/bin/env python3
"""What a rules edit costs: the run after it re-decides every known contact from state.

    python bench/rules_redecide.py [--contacts 3000] [--pg]

Against the in-memory CRM of the sync tests (``tests/sync/fake_crm.py``, which answers at once,
so the numbers are leadsync's own: deciding and the state store), on a fresh state store: a
backfill run; a run with nothing new (the baseline: no contact decided); the MQL bar lowered from
100 to 30 in the rules file (every CEO becomes an MQL: a third of the contacts change); the run
after it, which re-decides every contact from state and writes the third that changed; and one
more run, with nothing left to do. Prints a Markdown table: each run's seconds (wall clock),
contacts decided from state, changed and written, on SQLite (a file in a temporary folder) and,
with ``--pg``, on PostgreSQL at 127.0.0.1:5432, database ``test`` (a schema of its own, dropped
at exit).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.sync.fake_crm

from leadsync.logging import configure_logging  # noqa: E402
from leadsync.model import Activity, Contact, Owner  # noqa: E402
from leadsync.sync.loop import SyncJob  # noqa: E402
from leadsync.sync.rulesource import RulesFile  # noqa: E402
from leadsync.sync.state import open_store  # noqa: E402
from tests.sync.fake_crm import FakeCrm  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RULES = ROOT / "tests" / "sync" / "rules.yaml"
TITLES = ("CEO", "Engineer", "CEO", "Student", "CEO", "Marketing Manager")


def portal(contacts: int) -> FakeCrm:
    fake = FakeCrm(owners=[Owner("u1"), Owner("u2")], page_size=200)
    for i in range(contacts):
        cid = f"c{i:06d}"
        fake.put(
            Contact(
                id=cid,
                created_at=NOW - timedelta(days=30 + i % 90),
                email=f"{cid}@co{i % 400}.com",
                title=TITLES[i % len(TITLES)],
                company=f"Company {i % 400}",
            )
        )
        if i % 20 == 0:
            fake.activities.append(Activity(f"a{i}", cid, "demo_request", NOW - timedelta(minutes=30)))
    return fake


def measure(url: str, contacts: int, folder: Path) -> list[tuple[str, float, int, int, int]]:
    rules = folder / "rules.yaml"
    rules.write_text(RULES.read_text(encoding="utf-8"), encoding="utf-8")
    source = RulesFile(rules)
    store = open_store(url)
    job = SyncJob("bench", portal(contacts), source.rules, store, clock=lambda: NOW, rules_file=source)
    rows = []

    def run(label: str) -> None:
        t = time.perf_counter()
        c = job.run().counts
        seconds = time.perf_counter() - t
        redecided = c.get("contacts_redecided", 0)
        rows.append((label, seconds, redecided, c.get("contacts_changed", 0), c.get("contacts_written", 0)))

    try:
        run("backfill")
        run("nothing new")
        text = rules.read_text(encoding="utf-8").replace("score_at_least: 100", "score_at_least: 30")
        rules.write_text(text, encoding="utf-8")
        run("after the edit (bar 100 -> 30)")
        run("nothing new again")
    finally:
        store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--pg", action="store_true", help="also on PostgreSQL (127.0.0.1:5432, test)")
    args = parser.parse_args()
    configure_logging("warning", "console")
    backends = [("SQLite", False)] + ([("PostgreSQL", True)] if args.pg else [])
    print(f"| backend | run ({args.contacts:,} contacts) | seconds | re-decided | changed | written |")
    print("|---|---|---:|---:|---:|---:|")
    for name, pg in backends:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/state.db"
            schema = None
            if pg:
                from leadsync.testing.stores import drop_pg_schema, fresh_pg_url

                url = schema = fresh_pg_url()
            try:
                for label, seconds, redecided, changed, written in measure(url, args.contacts, Path(tmp)):
                    print(f"| {name} | {label} | {seconds:.2f} | {redecided:,} | {changed:,} | {written:,} |")
            finally:
                if schema:
                    drop_pg_schema(schema)


if __name__ == "__main__":
    main()
