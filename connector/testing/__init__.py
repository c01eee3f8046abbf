"""leadsync.testing: the test suites every CRM adapter passes, built-in and third-party alike.

- ``AdapterContract`` (``adapter_suite``): the adapter on its own against its CRM's local fake:
  reads and cursors, retries, auth failures, per-record write results, idempotent tasks, owners,
  setup, check. Its harness: ``AdapterHarness``.
- The pieces it is made of: ``SleepRecorder`` (retries that never sleep), state stores on both
  backends (``stores``), and the pytest plugin (``plugin``, entry point ``pytest11: leadsync``:
  fixtures and a marker, nothing autouse).

leadsync.testing imports leadsync's core, never an adapter or a sandbox. It needs pytest, one of
leadsync's test extras (``pip install 'leadsync[test]'``).

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
    from leadsync.testing.sleeps import SleepRecorder

__all__ = ["AdapterContract", "AdapterHarness", "SleepRecorder"]

_WHERE = {"AdapterContract": "adapter_suite", "AdapterHarness": "adapter_suite", "SleepRecorder": "sleeps"}


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
