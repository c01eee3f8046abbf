"""Every test starts with the logging configuration the one before it found.

``configure_logging`` (the CLI calls it) sets structlog's processors and its output file
process-wide, and a test under ``capsys`` hands it a capture file that is closed after that test:
a later test in the same worker would log into a closed file, or at another level.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
