"""leadsync.testing: the test suites every CRM adapter passes, built-in and third-party alike.

- ``AdapterContract`` (``adapter_suite``): the adapter on its own against its CRM's local fake:
  reads and cursors, retries, auth failures, per-record write results, idempotent tasks, owners,
  setup, check. Its harness: ``AdapterHarness``.
- ``SyncContract`` (``sync_suite``): leadsync's sync loop with the adapter, on SQLite and
  PostgreSQL: one sync writes everything and a second nothing; a crash at every CRM call of a run,
  then resume, reaches the CRM state of an uninterrupted sync with no task made twice; a rep's
  change wins and is a conflict; a refused record is a dead letter while the rest is written; the
  quota stops a run and the next one resumes; conversions and deletions. Its harness:
  ``SyncHarness`` (``sync_harness``), with capabilities a CRM may lack.
- The pieces they are made of: ``Crash`` and call taps (``crash``), ``SleepRecorder`` (retries
  that never sleep), state stores on both backends (``stores``), and the pytest plugin
  (``plugin``, entry point ``pytest11: leadsync``: fixtures and a marker, nothing autouse).

An adapter's tests subclass the two suites and implement the two harnesses; the README's
"Writing an adapter" walks through it. leadsync.testing imports leadsync's core, never an adapter
or a sandbox. It needs pytest, one of leadsync's test extras (``pip install 'leadsync[test]'``).

Names are loaded when first used, so that the plugin, which pytest loads for every run of every
project in an environment where leadsync is installed, costs nothing until a test uses it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

try:
    import pytest as _pytest  # noqa: F401  (the suites are pytest test classes)
except ImportError:  # pragma: no cover - exercised in a subprocess without pytest
    raise ImportError(
        "leadsync.testing needs pytest, which is one of leadsync's test extras: "
        "pip install 'leadsync[test]' (or pip install pytest)"
    ) from None

if TYPE_CHECKING:
    from leadsync.testing.adapter_suite import AdapterContract, AdapterHarness
    from leadsync.testing.crash import CallLog, CallTap, Crash, http_calls
    from leadsync.testing.sleeps import SleepRecorder
    from leadsync.testing.sync_harness import (
        AUTOMATION,
        CAPABILITIES,
        CONVERT,
        DELETE,
        LOCKS,
        QUOTA,
        WRITE_CALLS,
        QuotaStop,
        SyncHarness,
        example_playbook,
    )
    from leadsync.testing.sync_suite import SyncContract

__all__ = [
    "AUTOMATION",
    "CAPABILITIES",
    "CONVERT",
    "DELETE",
    "LOCKS",
    "QUOTA",
    "WRITE_CALLS",
    "AdapterContract",
    "AdapterHarness",
    "CallLog",
    "CallTap",
    "Crash",
    "QuotaStop",
    "SleepRecorder",
    "SyncContract",
    "SyncHarness",
    "example_playbook",
    "http_calls",
]

_WHERE = {
    "AdapterContract": "adapter_suite",
    "AdapterHarness": "adapter_suite",
    "CallLog": "crash",
    "CallTap": "crash",
    "Crash": "crash",
    "http_calls": "crash",
    "SleepRecorder": "sleeps",
    "SyncContract": "sync_suite",
    **{
        name: "sync_harness"
        for name in (
            *("AUTOMATION", "CAPABILITIES", "CONVERT", "DELETE", "LOCKS", "QUOTA", "WRITE_CALLS"),
            *("QuotaStop", "SyncHarness", "example_playbook"),
        )
    },
}


def __getattr__(name: str) -> Any:
    """Load ``name`` from its module on first use (see the module docstring for why)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'leadsync.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"leadsync.testing.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
