"""One writer on a SQLite state store: ``leadsync run`` (and ``leadsync sync``) hold a lock file.

SQLite state is for one daemon: a second one on the same file would sync the same connections
again. So a process that writes takes an exclusive ``flock`` on ``state.db.lock``, beside the
database, and writes its pid and host into it; a second one is refused with a message naming the
first. The kernel drops the lock when its process ends, however it ends (``kill -9`` too), so a
stale lock file never blocks a restart. Commands that only read (``status``, ``explain``, a dry
run) take no lock and work while a daemon runs. PostgreSQL state uses leases instead
(``leases.py``): many replicas, one per connection at a time.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

__all__ = ["StateInUse", "StateLock", "lock_path"]


class StateInUse(Exception):
    """Another process writes to this SQLite state: its words, e.g. ``state.db is in use by leadsync
    run (pid 1234 on host h) — stop it first``."""


def lock_path(engine: Engine) -> Path | None:
    """The lock file of a SQLite state file (None: in memory, or not SQLite)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(str(engine.url.database)).with_name(Path(str(engine.url.database)).name + ".lock")


class StateLock:
    """An exclusive lock on a SQLite state file, held from ``acquire`` to ``release``."""

    def __init__(self, path: Path, command: str = "leadsync run") -> None:
        self.path = path
        self.command = command
        self._file: IO[str] | None = None

    def acquire(self) -> StateLock:
        """Take the lock, or ``StateInUse`` saying who holds it."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another leadsync process"
            handle.close()
            db = self.path.name.removesuffix(".lock")
            raise StateInUse(f"{db} is in use by {holder} — stop it first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self.command} (pid {os.getpid()} on host {socket.gethostname()})\n")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None
