"""structlog set-up: JSON lines (or console text) on standard error, never a secret.

Keys that name a secret are masked wherever they appear, and bearer tokens or ``pat-`` tokens
inside any text (an error body, a URL) are masked too.

Every line goes through one pipeline: structlog's own events and the standard library's records
(APScheduler, urllib3, alembic, ...) alike are rendered by structlog's ``ProcessorFormatter`` on
the root logger's handler, so a JSON log holds JSON lines only, each with the context bound by
``structlog.contextvars`` (a run's ``connection`` and ``run_id``). Third-party libraries speak at
``warning`` and above unless the level is ``debug``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import IO, Any

import structlog

__all__ = ["configure_logging", "log_stream", "scrub"]

_SECRET_KEYS = re.compile(r"token|secret|password|passwd|authorization|api_?key|credential", re.IGNORECASE)
# Notification secrets too (issue 16): a Slack token (xoxb-...), the secret tail of a Slack
# incoming-webhook URL (/services/T.../B.../SECRET) and a Teams Workflows URL's `sig=`, which
# urllib3 logs at debug level with the request line.
_SECRET_TEXT = re.compile(
    r"(?i)(bearer\s+|pat-[a-z0-9]{2,4}-|access_token=|hapikey=|xox[abpres]-|[?&]sig="
    r"|/services/T[A-Z0-9]+/B[A-Z0-9]+/)[^\s\"',&]+"
)
_OURS = "leadsync"  # the logger name of leadsync's own events (``leadsync.sync``, ``leadsync.daemon``)


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


def _foreign_logger(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A standard-library record names its logger (``apscheduler.scheduler``, ``urllib3...``)."""
    record = event.get("_record")
    if record is not None and not event.get("_from_structlog"):
        event.setdefault("logger", record.name)
    return event


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler ``configure_logging`` installs (and replaces when called again).

    Without a stream of its own it writes to ``sys.stderr`` as it is at each line, so a progress
    bar that redirects standard error shows the lines above itself.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream or sys.stderr)
        self.fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        if self.fixed is None:  # ``handle`` holds the handler's lock here
            self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str = "info", fmt: str = "json", stream: IO[str] | None = None) -> None:
    """Log events as JSON lines (``fmt='json'``) or readable text, to standard error (or ``stream``)."""
    threshold = getattr(logging, level.upper())
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # A library's record may name a connection itself (the daemon marks APScheduler's job lines).
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=["connection"]), _foreign_logger],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
    )
    handler = _Handler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Third-party libraries log a line per request or tick at info: kept for ``debug``.
    root.setLevel(threshold if threshold <= logging.DEBUG else max(threshold, logging.WARNING))
    logging.getLogger(_OURS).setLevel(threshold)


def log_stream(stream: IO[str] | None) -> IO[str] | None:
    """Send the log's lines to ``stream`` from now on (None: to ``sys.stderr`` as it is at each
    line); where they went before, to give back. Nothing happens before ``configure_logging``.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _Handler):
            with handler.lock or contextlib.nullcontext():
                previous, handler.fixed = handler.fixed, stream
                if stream is not None:
                    handler.stream = stream
            return previous
    return None
