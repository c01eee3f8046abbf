"""Opening the state store a config file names, every mistake as ``CONFIG:LINE: what to do``.

The ``state:`` URL is checked before anything connects (its scheme; for SQLite, the folder and the
file's permissions), and what the database says when it cannot be opened (no such database, a
closed port, a host that does not resolve, a refused user, a file that is not SQLite) is turned
into a ``ConfigError`` at the ``state:`` line, the password masked, instead of a driver traceback.

``read_only=True`` is the dry run's store: nothing is created, migrated or written. An existing
SQLite file is opened read-only (immutable when no writer has it open, so that not even its
``-wal``/``-shm`` files appear), PostgreSQL in read-only transactions; a store that does not exist
yet is planned against as a fresh one, in memory; one at an older schema is refused, saying so.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from leadsync.errors import ConfigError, Problem
from leadsync.sync import database
from leadsync.sync.state import StateStore

__all__ = ["StateAt", "open_state"]

StateAt = tuple[str, int]  # the config file and the line of its `state:` key

_SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}
_EXAMPLES = "sqlite:///state.db (a file beside the config) or postgresql://user@host:5432/db"
# Seconds to wait for PostgreSQL to accept a connection: a host that drops packets fails in this
# long rather than in the operating system's two minutes.
CONNECT_TIMEOUT_S = 10


def open_state(url: str, at: StateAt, *, read_only: bool = False) -> StateStore:
    """The state store at ``url`` (created and migrated, unless ``read_only``), or ConfigError."""
    parsed = _parse(url, at)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _open_sqlite(parsed, at, read_only)
        return _open_postgresql(parsed, at, read_only)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise ConfigError([_problem(at, parsed, exc)]) from None


def _parse(url: str, at: StateAt) -> URL:
    """The URL with a supported scheme (``postgres://``, Heroku's spelling, is PostgreSQL)."""
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise ConfigError([Problem(*at, f"`state` is not a URL; write {_EXAMPLES}")]) from None
    backend, _, driver = parsed.drivername.partition("+")
    scheme = _SCHEMES.get(backend)
    if scheme is None or driver not in ("", "psycopg", "pysqlite"):
        text = f"unknown state store `{parsed.drivername}://`; write {_EXAMPLES}"
        raise ConfigError([Problem(*at, text)])
    return parsed.set(drivername="sqlite" if scheme == "sqlite" else "postgresql+psycopg")


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


# -- SQLite -----------------------------------------------------------------------------------------


def _open_sqlite(url: URL, at: StateAt, read_only: bool) -> StateStore:
    name = url.database or ""
    if name in ("", ":memory:"):
        return _fresh_in_memory() if read_only else _migrated(database.engine(_shown(url)))
    path = Path(name)
    if read_only:
        if not path.exists():
            return _fresh_in_memory()
        return _checked(_read_only_sqlite(path), at, str(path))
    _check_sqlite_file(path, at)
    return _migrated(database.engine(url.render_as_string(hide_password=False)))


def _check_sqlite_file(path: Path, at: StateAt) -> None:
    """A state file leadsync can create or write, beside which SQLite can keep its -wal file."""
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError([Problem(*at, f"the folder {folder} does not exist; create it or fix `state`")])
    if path.is_dir():
        raise ConfigError([Problem(*at, f"{path} is a folder; name a file, e.g. {path / 'state.db'}")])
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        text = f"the state file {path} is read-only for this user; let it write the file (chmod u+rw)"
        raise ConfigError([Problem(*at, text)])
    if not os.access(folder, os.W_OK | os.X_OK):
        what = "create" if not path.exists() else "keep SQLite's -wal and -shm files beside"
        text = f"cannot {what} {path}: the folder {folder} is read-only for this user; let it write there"
        raise ConfigError([Problem(*at, text)])


def _read_only_sqlite(path: Path) -> Engine:
    """``path`` opened read-only. With no ``-wal`` file nobody has it open, and it is read as
    immutable: a read-only WAL connection would otherwise leave -wal and -shm files behind."""
    live = Path(f"{path}-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, poolclass=StaticPool, hide_parameters=True)


def _fresh_in_memory() -> StateStore:
    """A new, empty store in memory: what a dry run plans against before any run made one."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}, hide_parameters=True
    )
    return _migrated(engine)


# -- PostgreSQL -------------------------------------------------------------------------------------


def _open_postgresql(url: URL, at: StateAt, read_only: bool) -> StateStore:
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True)
    if not read_only:
        return _migrated(engine)

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        # Enforced by PostgreSQL itself: a write would fail, not happen.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        dbapi_connection.commit()

    return _checked(engine, at, _shown(url))


# -- both -------------------------------------------------------------------------------------------


def _migrated(engine: Engine) -> StateStore:
    database.migrate(engine)
    return StateStore(engine)


def _checked(engine: Engine, at: StateAt, shown: str) -> StateStore:
    """A read-only store at this leadsync's schema; a fresh one in memory if it has no tables."""
    with engine.connect() as connection:
        current = database.current_revisions(connection)
        tables = inspect(connection).get_table_names()
    if not current and not tables:
        engine.dispose()
        return _fresh_in_memory()
    head = database.head_revisions()
    if current != head:
        engine.dispose()
        was = ", ".join(sorted(current)) or "none"
        text = (
            f"the state store {shown} is not migrated to this version of leadsync (revision {was}, "
            f"needs {', '.join(sorted(head))}); a dry run writes nothing, so run `leadsync sync` "
            "or `leadsync run` once to migrate it"
        )
        raise ConfigError([Problem(*at, text)])
    return StateStore(engine)


_UNREACHABLE = (
    "connection refused",
    "could not translate host",
    "name or service not known",
    "timeout expired",
    "no route to host",
    "network is unreachable",
    "could not connect",
    "temporary failure",
)
# What a driver's message means, and what to do: (words in it, the advice).
_ADVICE: list[tuple[tuple[str, ...], Callable[[URL], str]]] = [
    (
        ("password authentication failed", "no password supplied", 'role "', "pg_hba.conf"),
        lambda u: (
            f"PostgreSQL at {_host(u)} refused the user `{_user(u)}`; "
            "check the user and the password (PGUSER, PGPASSWORD or ~/.pgpass)"
        ),
    ),
    (
        ('database "',),
        lambda u: (
            f"the database `{u.database}` does not exist on {_host(u)}; create it "
            f"(createdb {u.database}) or fix the name in `state`"
        ),
    ),
    (
        _UNREACHABLE,
        lambda u: f"cannot reach PostgreSQL at {_host(u)}; is it running, and are the host and port right?",
    ),
    (
        ("unable to open database file",),
        lambda u: f"cannot open the state file {u.database}; check that its folder exists and is writable",
    ),
    (
        ("readonly database", "read-only"),
        lambda u: (
            f"the state file {u.database} is read-only for this user; let it write the file and its folder"
        ),
    ),
    (
        ("file is not a database", "file is encrypted"),
        lambda u: f"{u.database} is not a SQLite database; point `state` at a new file or the old state.db",
    ),
]


def _problem(at: StateAt, url: URL, exc: sqlalchemy.exc.SQLAlchemyError) -> Problem:
    """The advice for what the driver said, with its own first words; never the password."""
    said = str(getattr(exc, "orig", None) or exc).strip()
    text = said.lower()
    advice = next((make(url) for words, make in _ADVICE if any(w in text for w in words)), None)
    detail = _masked(_last_line(said), url)
    message = f"{advice} ({detail})" if advice else f"cannot open the state store {_shown(url)}: {detail}"
    return Problem(*at, message)


def _user(url: URL) -> str:
    return url.username or os.environ.get("PGUSER") or "(the system user)"


def _host(url: URL) -> str:
    host = url.host or os.environ.get("PGHOST") or "localhost"
    port = url.port or os.environ.get("PGPORT") or 5432
    return f"{host}:{port}"


def _last_line(said: str) -> str:
    """The driver's reason: psycopg's message ends with the server's words after a colon."""
    first = said.splitlines()[0] if said else ""
    return first.rsplit("failed: ", 1)[-1].strip()[:300]


def _masked(text: str, url: URL) -> str:
    return text.replace(url.password, "***") if isinstance(url.password, str) and url.password else text
