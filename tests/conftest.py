"""What every test shares: each test leaves structlog as it found it.

A leadsync command run in process (click's ``CliRunner``) points structlog at the runner's
standard error, which is closed when the command ends; without this, a later test in the same
worker (a session fixture, an adapter's log line) fails with "I/O operation on closed file",
depending on which test files xdist happened to give that worker before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _structlog_as_found() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
