"""A ``Daemon`` on one connection to the in-memory CRM (``fake_crm``), in process, one cycle: what
the daemon's health and log tests run. Its results are kept on ``daemon.results``; the signal
handlers ``serve`` installs are put back after."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadsync.settings import load_settings
from leadsync.sync.daemon import Daemon
from leadsync.sync.loop import RunResult
from leadsync.sync.state import open_store
from tests.sync import fake_crm
from tests.sync.test_loop import crm

RULES = Path(__file__).resolve().parent / "rules.yaml"
TOKEN_ENV = "LEADSYNC_TEST_TOKEN"


@contextmanager
def fake_daemon(folder: Path, crm_name: str) -> Iterator[Daemon]:
    """The connection ``fake`` (every 1h, token from ``LEADSYNC_TEST_TOKEN``, which the caller
    sets) on a fresh ``test_loop.crm()`` registered as ``crm_name``; state in ``folder``."""
    fake_crm.REGISTRY[crm_name] = crm()
    (folder / "rules.yaml").write_text(RULES.read_text())
    config = folder / "leadsync.yaml"
    config.write_text(
        f"state: sqlite:///{folder / 'state.db'}\n"
        "connections:\n"
        "  - name: fake\n"
        "    adapter: tests.sync.fake_crm:from_options\n"
        "    rules: rules.yaml\n"
        "    every: 1h\n"
        f"    token_env: {TOKEN_ENV}\n"
        f"    options: {{crm: {crm_name}}}\n"
    )
    settings = load_settings(config)
    store = open_store(settings.state)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}  # serve() sets its own
    results: list[RunResult] = []
    try:
        d = Daemon(settings, store, cycles=1, on_result=lambda _, r: results.append(r))
        d.results = results  # type: ignore[attr-defined]
        yield d
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        store.close()
        fake_crm.REGISTRY.pop(crm_name, None)
