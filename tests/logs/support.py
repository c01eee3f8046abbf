"""Capturing the log as the commands configure it: JSON lines into a buffer, restored after."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from leadsync.logging import configure_logging


class Captured:
    """The log's text, and its lines parsed (every one must be JSON)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.text.splitlines():
            out.append(json.loads(line))  # a line that is not JSON fails the test here
        return out

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.lines() if e["event"] == name]


@pytest.fixture
def json_log() -> Iterator[Captured]:
    """``configure_logging('debug', 'json')`` into a buffer; the previous logging set-up after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = logging.getLogger("leadsync")
    ours_level = ours.level
    saved = structlog.get_config()
    # hubspot-api-client turns urllib3's logger down to warnings whenever a client is made (in an
    # earlier test of this process, say): these tests speak for urllib3 at every level.
    libraries = {name: logging.getLogger(name).level for name in ("urllib3", "urllib3.connectionpool")}
    for name in libraries:
        logging.getLogger(name).setLevel(logging.NOTSET)
    captured = Captured()
    configure_logging("debug", "json", stream=captured.buffer)
    try:
        yield captured
    finally:
        for name, was in libraries.items():
            logging.getLogger(name).setLevel(was)
        root.handlers[:] = handlers
        root.setLevel(level)
        ours.setLevel(ours_level)
        structlog.configure(**saved)
        structlog.contextvars.clear_contextvars()
