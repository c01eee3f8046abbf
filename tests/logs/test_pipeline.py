"""One pipeline for every log line: structlog's events and the standard library's records alike
are JSON, carry the context bound for a run (also from other threads), and keep secrets out."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import structlog

from leadsync.logging import configure_logging, log_stream
from tests.logs.support import Captured


class TestThirdPartyLinesAreJson:
    """APScheduler, urllib3 and alembic log through the root handler, rendered by structlog."""

    def test_stdlib_records_become_json_lines_with_their_logger(self, json_log: Captured) -> None:
        logging.getLogger("apscheduler.scheduler").warning(
            'Run time of job "%s" was missed by %s', "hs", "0:01"
        )
        logging.getLogger("urllib3.connectionpool").debug("Starting new HTTP connection (1): 127.0.0.1:80")
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        structlog.get_logger("leadsync.sync").info("page_read", records=3)
        lines = json_log.lines()
        assert [(e.get("logger"), e["level"]) for e in lines] == [
            ("apscheduler.scheduler", "warning"),
            ("urllib3.connectionpool", "debug"),
            ("alembic.runtime.migration", "info"),
            (None, "info"),
        ]
        assert lines[0]["event"] == 'Run time of job "hs" was missed by 0:01'
        assert all("timestamp" in e for e in lines)

    def test_an_exception_from_a_library_is_one_json_line(self, json_log: Captured) -> None:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("apscheduler.executors.default").exception("Job raised")
        [line] = json_log.lines()
        assert line["event"] == "Job raised" and "RuntimeError: boom" in line["exception"]

    def test_secrets_in_a_library_line_are_masked(self, json_log: Captured) -> None:
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "GET /contacts?hapikey=%s HTTP/1.1" 200', "http://127.0.0.1:1", "zzz-secret"
        )
        assert "zzz-secret" not in json_log.text and "hapikey=***" in json_log.text

    def test_libraries_speak_at_warning_unless_the_level_is_debug(self) -> None:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        buffer = io.StringIO()
        try:
            configure_logging("info", "json", stream=buffer)
            logging.getLogger("apscheduler.executors.default").info('Running job "hs"')
            logging.getLogger("apscheduler.scheduler").warning("Scheduler is stuck")
            structlog.get_logger("leadsync.sync").info("run_started")
            structlog.get_logger("leadsync.sync").debug("not at info")
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        events = [json.loads(line)["event"] for line in buffer.getvalue().splitlines()]
        assert events == ["Scheduler is stuck", "run_started"]

    def test_configuring_again_replaces_the_handler(self, json_log: Captured) -> None:
        configure_logging("debug", "json", stream=json_log.buffer)
        logging.getLogger("urllib3").warning("once")
        assert len(json_log.lines()) == 1


class TestRunContext:
    """What a run binds with structlog.contextvars shows on every line, its threads' too."""

    def test_bound_context_shows_on_library_lines(self, json_log: Captured) -> None:
        with structlog.contextvars.bound_contextvars(connection="hs", run_id="r1"):
            logging.getLogger("urllib3.connectionpool").debug("Resetting dropped connection")
            structlog.get_logger("leadsync.adapters.hubspot.client").info("http_retry")
        logging.getLogger("urllib3.connectionpool").debug("after the run")
        lines = json_log.lines()
        assert [(e.get("connection"), e.get("run_id")) for e in lines] == [
            ("hs", "r1"),
            ("hs", "r1"),
            (None, None),
        ]

    def test_a_thread_started_in_a_copy_of_the_context_carries_it(self, json_log: Captured) -> None:
        def work() -> None:
            logging.getLogger("urllib3").debug("from a pool thread")

        with structlog.contextvars.bound_contextvars(connection="hs", run_id="r2"):
            with ThreadPoolExecutor(2) as pool:
                for _ in range(4):
                    pool.submit(contextvars.copy_context().run, work).result()
            bare = threading.Thread(target=work)  # what happens without the copy
            bare.start()
            bare.join()
        lines = json_log.lines()
        assert [e.get("run_id") for e in lines] == ["r2"] * 4 + [None]


class TestLogStream:
    def test_lines_follow_standard_error_unless_given_a_stream(self, json_log: Captured) -> None:
        other = io.StringIO()
        previous = log_stream(other)
        logging.getLogger("urllib3").warning("elsewhere")
        log_stream(previous)
        logging.getLogger("urllib3").warning("back")
        assert "elsewhere" in other.getvalue() and "back" in json_log.text
        assert "elsewhere" not in json_log.text
