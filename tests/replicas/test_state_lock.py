"""On SQLite, one writer: a second daemon on the same file is refused, naming the first."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from leadsync.sync import database
from leadsync.sync.exclusive import StateInUse, StateLock, lock_path


def test_the_lock_file_sits_beside_the_database(tmp_path: Path) -> None:
    assert lock_path(database.engine(f"sqlite:///{tmp_path / 'state.db'}")) == tmp_path / "state.db.lock"
    assert lock_path(database.engine("sqlite://")) is None


def test_a_second_holder_is_refused_with_the_first_ones_pid_and_host(tmp_path: Path) -> None:
    first = StateLock(tmp_path / "state.db.lock").acquire()
    try:
        with pytest.raises(StateInUse) as caught:
            StateLock(tmp_path / "state.db.lock").acquire()
        host = socket.gethostname()
        assert str(caught.value) == (
            f"state.db is in use by leadsync run (pid {os.getpid()} on host {host}) — stop it first"
        )
    finally:
        first.release()
    StateLock(tmp_path / "state.db.lock").acquire().release()  # released: free again
