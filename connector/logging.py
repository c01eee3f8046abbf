"""structlog set-up: JSON lines (or console text) on standard error, never a secret.

Keys that name a secret are masked wherever they appear, and bearer tokens or ``pat-`` tokens
inside any text (an error body, a URL) are masked too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "scrub"]

_SECRET_KEYS = re.compile(r"token|secret|password|passwd|authorization|api_?key|credential", re.IGNORECASE)
_SECRET_TEXT = re.compile(r"(?i)(bearer\s+|pat-[a-z0-9]{2,4}-|access_token=|hapikey=)[^\s\"',&]+")


def _mask_text(value: str) -> str:
    return _SECRET_TEXT.sub(lambda m: m.group(1) + "***", value)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEYS.search(str(k)) else _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def scrub(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The processor that keeps secrets out of every log line."""
    for key in list(event):
        event[key] = "***" if _SECRET_KEYS.search(key) else _mask(event[key])
    return event


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Log events as JSON lines (``fmt='json'``) or readable text, to standard error."""
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
