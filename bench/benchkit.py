"""What every CRM's benchmarks measure and print alike; not a benchmark itself.

The sandboxes, jobs, command lines and child processes are ``syncbench.py``'s; this module is the
reporting on top of them, shared by the HubSpot (``sync_*.py``), Salesforce (``sf_*.py``) and Zoho
(``zoho_*.py``) scripts:

- Markdown tables on standard output: ``markdown_head``, ``markdown_row``.
- Calls against the minimum the CRM's API allows (``*_calls.py``): ``ceil``, ``side``, ``ratio``,
  ``per_1k``, ``reads_writes`` (a run's cells and whether it met ``TARGET_RATIO``) and
  ``print_breakdown`` (the calls by line, run by run).
- Where a backfill's time went (``*_backfill.py``): ``timed`` (a call's seconds into a bucket),
  ``time_store`` (the state store's outermost calls, ``STORE_METHODS`` and transactions),
  ``timed_run`` (the run's wall and CPU seconds, and the sandbox's CPU), ``print_split`` (buckets
  as shares of the run) and ``print_waits`` (waiting for the sandbox, by endpoint or line).
- Peak RSS (``*_memory.py``): ``peak_kib``; in the measured child ``run_backfill`` (one backfill,
  its JSON report); in the harness ``report_child`` (the child's run, RSS, and the target,
  ``MEMORY_TARGET_MB``), after ``syncbench.run_child``.

Imports only the standard library (the memory harnesses must stay small).
"""

from __future__ import annotations

import contextlib
import json
import math
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncbench import cpu_seconds  # stdlib only

# The calls benchmarks' target: reads and writes within 1.5x of the minimum.
TARGET_RATIO = 1.5
# The memory benchmarks' target: a backfill's peak RSS under 500 MB (477 MiB).
MEMORY_TARGET_MB = 500
# The state store's reads and writes a backfill times (``time_store``).
STORE_METHODS = (
    "cursor",
    "contacts",
    "records",
    "due_contact_ids",
    "routing_index_rows",
    "written",
    "pending_writes",
    "known_action_keys",
    "pending_actions",
    "owners",
    "routing_state",
    "start_run",
    "finish_run",
)
# The reads and writes columns of a calls benchmark's run table.
READS_WRITES = ["reads", "minimum", "per 1,000", "actual/min", "writes", "minimum", "per 1,000", "actual/min"]


def markdown_head(columns: Sequence[str], left: Iterable[int] = (0,)) -> None:
    """A Markdown table's header and alignment rows; the columns at ``left`` align left, the rest right."""
    lefts = {i if i >= 0 else len(columns) + i for i in left}
    markdown_row(columns)
    print("|" + "".join("---|" if i in lefts else "---:|" for i in range(len(columns))))


def markdown_row(cells: Iterable[str]) -> None:
    print("| " + " | ".join(cells) + " |")


def ceil(n: int, size: int) -> int:
    """Calls of ``size`` items each that ``n`` items take (0 for none)."""
    return math.ceil(n / size) if n > 0 else 0


def side(run: Mapping[str, Any], which: str, key: str, minimum: Mapping[str, tuple[str, str]]) -> int:
    """A run's calls (``key`` "actual" or "minimum") on one side ("read" or "write") of ``minimum``."""
    return sum(v for k, v in run[key].items() if minimum[k][0] == which)


def ratio(actual: int, minimum: int) -> str:
    if minimum == 0:
        return "–" if actual == 0 else "∞"
    return f"{actual / minimum:.2f}x"


def per_1k(calls: int, n: int, least: int = 1) -> str:
    """Calls per 1,000 records with news; "–" under ``least`` of them."""
    return f"{calls * 1000 / n:,.1f}" if n >= least else "–"


def reads_writes(
    run: Mapping[str, Any], minimum: Mapping[str, tuple[str, str]], least: int = 1
) -> tuple[list[str], bool]:
    """A run's ``READS_WRITES`` cells (``run["n"]`` records with news), and whether it met the
    target: reads and writes within ``TARGET_RATIO`` of the minimum, or no writes when none had news
    (or, when the run says how many records it changed, ``run["changed"]``, when it changed none:
    the target counts calls per 1,000 changed records, and a no-op's is 0 writes)."""
    r, rm = side(run, "read", "actual", minimum), side(run, "read", "minimum", minimum)
    w, wm = side(run, "write", "actual", minimum), side(run, "write", "minimum", minimum)
    n = run["n"]
    cells = [f"{r:,}", f"{rm:,}", per_1k(r, n, least), ratio(r, rm)]
    cells += [f"{w:,}", f"{wm:,}", per_1k(w, n, least), ratio(w, wm)]
    within = r <= TARGET_RATIO * rm and w <= TARGET_RATIO * max(wm, 1)
    return cells, (within if run.get("changed", n) else w == 0)


def print_breakdown(
    runs: Sequence[Mapping[str, Any]],
    minimum: Mapping[str, tuple[str, str]],
    labels: Mapping[str, str],
    *,
    rules: bool = True,
) -> None:
    """The calls by line: actual and minimum for each run, and (``rules``) how the minimum is counted."""
    names = [x for run in runs for x in (run["name"], "min")]
    markdown_head(["call", *names, *(["minimum"] if rules else [])], left=(0, -1) if rules else (0,))
    for key, (which, rule) in minimum.items():
        cells = [f"{run[k][key]:,}" for run in runs for k in ("actual", "minimum")]
        markdown_row([f"{which}: {labels[key]}", *cells, *([rule] if rules else [])])


def timed(fn: Callable[..., Any], add: Callable[[float], None]) -> Callable[..., Any]:
    """``fn``, its wall seconds given to ``add`` after each call."""

    def run(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            add(time.perf_counter() - t)

    return run


def time_store(store: Any, add: Callable[[float], None]) -> None:
    """Time the state store's reads and transactions: ``add(seconds)`` for the outermost call of a
    nest (a read inside a transaction counts once, in the transaction's time)."""
    depth = 0

    def nest(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            t = time.perf_counter()
            depth += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth -= 1
                if depth == 0:
                    add(time.perf_counter() - t)

        return run

    for name in STORE_METHODS:
        if hasattr(store, name):
            setattr(store, name, nest(getattr(store, name)))
    transaction = store.transaction

    @contextlib.contextmanager
    def timed_transaction() -> Iterator[Any]:
        nonlocal depth
        t = time.perf_counter()
        depth += 1
        try:
            with transaction() as s:
                yield s
        finally:
            depth -= 1
            if depth == 0:
                add(time.perf_counter() - t)

    store.transaction = timed_transaction


@dataclass
class TimedRun:
    """One timed ``SyncJob`` run: its result, wall seconds, this process's CPU seconds and the
    sandbox process's."""

    result: Any
    seconds: float
    cpu: float
    sandbox_cpu: float


def timed_run(job: Any, progress: Any, sandbox_pid: int) -> TimedRun:
    """Run ``job`` once (``progress``'s clock restarted), timed; the sandbox's CPU over the run."""
    sandbox_cpu0 = cpu_seconds(sandbox_pid)
    cpu0 = time.process_time()
    progress.start()
    started = time.perf_counter()
    result = job.run()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    return TimedRun(result, seconds, cpu, cpu_seconds(sandbox_pid) - sandbox_cpu0)


def print_split(wall: Counter[str], seconds: float, width: int, order: Sequence[str] | None = None) -> None:
    """On standard error, each bucket of the run's thread (in ``order``, else largest first) in
    seconds and as a share of the run's ``seconds``, then the rest: the loop's own work."""
    rows = [(bucket, wall[bucket]) for bucket in order] if order is not None else wall.most_common()
    rows.append(("the rest of the loop (decide, plan, convert)", seconds - sum(wall.values())))
    for bucket, secs in rows:
        print(f"#   {bucket:{width}s} {secs:7.1f} s  {secs / seconds:6.1%}", file=sys.stderr)


def print_waits(wait: Counter[str], calls: Counter[str], width: int, by: str) -> None:
    """On standard error, the seconds spent waiting for the sandbox ``by`` endpoint or line, most first
    (``by`` names the key and the count: "by line (requests, seconds, mean ms)")."""
    print(f"# waiting for the sandbox, {by}:", file=sys.stderr)
    for endpoint, secs in wait.most_common():
        n = calls[endpoint]
        print(f"#   {endpoint:{width}s} {n:5,} {secs:7.1f} s {1000 * secs / n:7.1f} ms", file=sys.stderr)


def peak_kib() -> int:
    """This process's high-water RSS so far, in KiB (Linux's ``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_backfill(job: Any, progress: Any, floor_kib: int) -> int:
    """The memory child's measured run: one backfill; a JSON line on standard output (its seconds,
    counts and ``floor_kib``, its RSS after start-up and setup)."""
    progress.start()
    started = time.monotonic()
    result = job.run()
    seconds = time.monotonic() - started
    job.store.close()
    out = {"seconds": seconds, "counts": result.counts, "floor_kib": floor_kib}
    print(json.dumps(out), flush=True)
    return 0


def report_child(run: Any, sandbox_mib: float, more: str = "") -> bool:
    """On standard error: the child's counts, its process (wall time, RSS floor), the harness's and
    the sandbox's RSS (``more`` after), and whether its peak met ``MEMORY_TARGET_MB``."""
    print(f"# run: {run.report['counts']}", file=sys.stderr)
    print(
        f"# sync process: {run.wall:.1f} s from spawn to exit; RSS after start-up and setup "
        f"{run.report['floor_kib'] / 1024:.0f} MiB; harness {run.harness_kib / 1024:.0f} MiB; "
        f"sandbox peak {sandbox_mib:.0f} MiB (not counted){more}",
        file=sys.stderr,
    )
    ok = run.peak_mib * 1024 * 1024 < MEMORY_TARGET_MB * 1000 * 1000
    print(f"# target (under {MEMORY_TARGET_MB} MB): {'met' if ok else 'NOT met'}", file=sys.stderr)
    return ok
