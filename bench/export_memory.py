#!/usr/bin/env python3
"""Peak RSS and CPU of ``leadsync export`` at two state-store sizes, and their ratio (issue 15).

    python bench/export_memory.py                                   # 10,000 and 100,000 contacts x 20
    python bench/export_memory.py --sizes 200,2000 --activities-per-contact 3 --json

For each size, a SQLite state store under ``--work`` (default a new directory in ``$TMPDIR``,
deleted at the end unless ``--keep``) is filled as a sync leaves it: each contact's record and its
activities in its row (page views, an email open, a call), and 20 owners. Then

    leadsync export --config leadsync.yaml --out DIR

runs as a child process; its peak resident set size is ``ru_maxrss`` from ``os.wait4`` (KiB on
Linux, shown in MiB), its CPU seconds user + system from the same call. The export streams the store
a batch of rows at a time, so the largest size's peak RSS over the smallest's should stay near 1
(target: at most 1.2). The harness runs the filling in a child too, and imports only the standard
library itself, so that its own RSS stays small (Linux charges a parent's high-water RSS at
fork/exec to the child). Prints a Markdown row per size and the ratio; ``--json`` adds a one-line
summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_RATIO = 1.2

# Run in a child: fills the store at argv[1] with argv[2] contacts x argv[3] activities each.
FILL = r"""
import sys
from datetime import UTC, datetime, timedelta
from leadsync.sync.state import StateStore, open_store

url, contacts, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = open_store(url)
base = datetime(2026, 6, 1, tzinfo=UTC)
owners = [{"id": f"u{i:02d}", "name": f"Owner {i}", "active": True} for i in range(20)]
kinds = ["page_view"] * 6 + ["email_open", "call"]
for start in range(0, contacts, 1000):
    rows = []
    for n in range(start, min(contacts, start + 1000)):
        cid = f"c{n:08d}"
        created = base + timedelta(minutes=n)
        record = {
            "id": cid, "created_at": created.isoformat(), "email": f"person{n}@company{n % 997}.example",
            "first_name": f"First{n}", "last_name": f"Last{n}", "title": "Head of Operations",
            "company": f"Company {n % 997}", "country": "ES", "lead_source": "organic_search",
            "stage": "lead", "score": 10, "properties": {"budget_status": "estimating"},
        }
        acts = []
        for k in range(per):
            kind = kinds[k % len(kinds)]
            act = {"id": f"{cid}-a{k}", "contact_id": cid, "type": kind,
                   "at": (created + timedelta(hours=k + 1)).isoformat()}
            if kind == "page_view":
                act["properties"] = {"url": f"https://www.example.com/page/{k}"}
            elif kind == "call":
                act["owner_id"] = owners[n % 20]["id"]
                act["properties"] = {"outcome": "connected"}
            acts.append(act)
        rows.append({
            "connection": "bench", "contact_id": cid, "record": record, "activities": acts,
            "read_at": base, "recheck_at": None, "stage": "lead", "sla_status": None,
            "domain": f"company{n % 997}.example", "created_at": created, "owner_id": None,
            "assigned_at": None,
        })
    with store.transaction() as s:
        StateStore.save_contacts(s, rows)
with store.transaction() as s:
    StateStore.save_owners(s, "bench", owners)
store.close()
"""


def fill(folder: Path, contacts: int, per_contact: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "state.db"
    subprocess.run(
        [sys.executable, "-c", FILL, f"sqlite:///{db}", str(contacts), str(per_contact)], check=True
    )
    config = folder / "leadsync.yaml"
    config.write_text(
        f"state: sqlite:///{db}\n"
        "log: {level: warning, format: json}\n"
        "connections:\n"
        "  - name: bench\n"
        "    adapter: hubspot\n"
        f"    rules: {ROOT / 'examples' / 'rules' / 'bant.yaml'}\n"
        "    token_env: LEADSYNC_BENCH_TOKEN\n"
    )
    return config


def measure(leadsync: str, config: Path, out: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one export."""
    env = {**os.environ, "LEADSYNC_BENCH_TOKEN": "pat-bench-unused"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [leadsync, "export", "--config", str(config), "--out", str(out)], env=env, stderr=subprocess.PIPE
    )
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"export_memory: leadsync export failed: {err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000", help="contact counts, comma-separated")
    p.add_argument("--activities-per-contact", type=int, default=20)
    p.add_argument("--work", type=Path, default=None, help="where the stores go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the stores and the exports")
    p.add_argument("--leadsync", default=str(Path(sys.executable).parent / "leadsync"))
    p.add_argument("--json", action="store_true", help="also print a one-line JSON summary")
    a = p.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    work = a.work or Path(tempfile.mkdtemp(prefix="export-memory-"))
    runs = []
    print("| contacts | activities | wall s | CPU s | peak RSS MiB | export MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    try:
        for size in sizes:
            folder = work / f"store-{size}"
            config = fill(folder, size, a.activities_per_contact)
            out = folder / "export"
            wall, cpu, rss = measure(a.leadsync, config, out)
            written = sum(f.stat().st_size for f in out.iterdir()) / 2**20
            lines = sum(1 for _ in (out / "contacts.jsonl").open("rb"))
            assert lines == size, f"{lines} contacts exported, not {size}"
            runs.append(
                {"contacts": size, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "rss_mib": round(rss, 1)}
            )
            acts = size * a.activities_per_contact
            print(f"| {size:,} | {acts:,} | {wall:.2f} | {cpu:.2f} | {rss:.1f} | {written:.1f} |")
            if not a.keep:
                shutil.rmtree(folder)
    finally:
        if not a.keep and a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    ratio = runs[-1]["rss_mib"] / runs[0]["rss_mib"]
    print(f"\npeak RSS {sizes[-1]:,} / {sizes[0]:,} contacts: {ratio:.2f} (target at most {TARGET_RATIO})")
    if a.json:
        print(json.dumps({"runs": runs, "rss_ratio": round(ratio, 3), "target": TARGET_RATIO}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
