"""A new admin's mistakes, each refused as ``FILE:LINE: what to do`` with exit 2 and no traceback.

The state URL (every command that opens the state), connection names given twice, misspelt
keys, where the config file is found, and a dry run that must write nothing anywhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from leadsync.cli import main
from leadsync.sync.database import head_revisions
from leadsync.sync.state import open_store
from tests.sync import fake_crm
from tests.sync.test_loop import crm

RULES = Path(__file__).resolve().parents[1] / "sync" / "rules.yaml"
PG = os.environ.get("LEADSYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = "2026-11-23T10:00:00Z"

CONFIG = """\
log: {level: warning, format: json}
state: "STATE"
connections:
  - name: fake
    adapter: tests.sync.fake_crm:from_options
    rules: rules.yaml
    every: 1m
    token_env: LEADSYNC_TEST_TOKEN
    options: {crm: cli}
"""
STATE_LINE = 2


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """The commands configure logging for the process; later tests (capture_logs) need it back."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    fake_crm.REGISTRY["cli"] = crm()
    (tmp_path / "rules.yaml").write_text(RULES.read_text())
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-SECRET-123")
    monkeypatch.delenv("LEADSYNC_CONFIG", raising=False)
    yield tmp_path
    fake_crm.REGISTRY.pop("cli", None)


def write_config(folder: Path, state: str = "sqlite:///state.db", name: str = "leadsync.yaml") -> Path:
    path = folder / name
    path.write_text(CONFIG.replace("STATE", state))
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


STATE_COMMANDS = [
    ("status",),
    ("sync", "--now", NOW),
    ("sync", "--dry-run", "--now", NOW),
    ("run", "--cycles", "1"),
    ("explain", "c0"),
]


class TestStateUrl:
    """Each mistake in `state:` is reported at its line, for every command that opens the state."""

    @pytest.mark.parametrize("command", STATE_COMMANDS, ids=lambda c: " ".join(c[:2]))
    def test_a_closed_port(self, folder: Path, command: tuple[str, ...]) -> None:
        config = write_config(folder, f"postgresql://leadsync:hunter2-pw@127.0.0.1:{closed_port()}/test")
        code, out, err = invoke(command[0], "--config", str(config), *command[1:])
        assert code == 2, err
        assert err.startswith(f"{config}:{STATE_LINE}: cannot reach PostgreSQL at 127.0.0.1:")
        assert "is it running" in err and "Connection refused" in err
        assert "hunter2" not in err + out and "Traceback" not in err
        assert len(err.splitlines()) == 1

    def test_an_unknown_scheme(self, folder: Path) -> None:
        config = write_config(folder, "mysql://root:hunter2-pw@db/leadsync")
        code, _, err = invoke("status", "--config", str(config))
        assert code == 2
        assert f"{config}:{STATE_LINE}: unknown state store `mysql://`; write sqlite:///state.db" in err
        assert "hunter2" not in err

    def test_not_a_url(self, folder: Path) -> None:
        config = write_config(folder, "state.db")
        code, _, err = invoke("status", "--config", str(config))
        assert code == 2 and f"{config}:{STATE_LINE}: `state` is not a URL" in err

    def test_a_database_that_does_not_exist(self, folder: Path) -> None:
        url = PG.replace("/test", "/no_such_leadsync_db").replace("postgres@", "postgres:hunter2-pw@")
        config = write_config(folder, url)
        code, _, err = invoke("sync", "--config", str(config))
        assert code == 2
        assert f"{config}:{STATE_LINE}: the database `no_such_leadsync_db` does not exist on" in err
        assert "createdb no_such_leadsync_db" in err and "hunter2" not in err

    def test_bad_credentials(self, folder: Path) -> None:
        config = write_config(folder, PG.replace("postgres@", "no_such_role:hunter2-pw@"))
        code, _, err = invoke("status", "--config", str(config))
        assert code == 2
        assert f"{config}:{STATE_LINE}: PostgreSQL at 127.0.0.1:5432 refused the user `no_such_role`" in err
        assert "hunter2" not in err

    def test_a_host_that_does_not_resolve(self, folder: Path) -> None:
        config = write_config(folder, "postgresql://u@no-such-host.invalid:5432/test")
        code, _, err = invoke("status", "--config", str(config))
        assert code == 2
        assert f"{config}:{STATE_LINE}: cannot reach PostgreSQL at no-such-host.invalid:5432" in err

    def test_postgres_scheme_is_postgresql(self, folder: Path) -> None:
        from leadsync.testing.stores import drop_pg_schema, fresh_pg_url

        url = fresh_pg_url()
        try:
            config = write_config(folder, url.replace("postgresql://", "postgres://", 1))
            code, out, err = invoke("sync", "--config", str(config), "--now", NOW)
            assert code == 0, err
            assert "fake: ok; 7 read" in out
        finally:
            drop_pg_schema(url)

    def test_a_missing_folder(self, folder: Path) -> None:
        config = write_config(folder, "sqlite:///var/state.db")
        code, _, err = invoke("sync", "--config", str(config))
        assert code == 2
        assert f"{config}:{STATE_LINE}: the folder {folder / 'var'} does not exist" in err
        assert not (folder / "var").exists()

    def test_not_a_sqlite_file(self, folder: Path) -> None:
        (folder / "state.db").write_text("state: not a database, but written by hand\n" * 20)
        config = write_config(folder)
        code, _, err = invoke("status", "--config", str(config))
        assert code == 2 and f"{config}:{STATE_LINE}: {folder / 'state.db'} is not a SQLite database" in err

    def test_the_default_state_is_reported_at_line_1(self, folder: Path) -> None:
        config = folder / "leadsync.yaml"
        config.write_text(CONFIG.replace('state: "STATE"\n', ""))
        (folder / "state.db").mkdir()
        code, _, err = invoke("status", "--config", str(config))
        assert code == 2 and f"{config}:1: {folder / 'state.db'} is a folder" in err

    @pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to run as another user")
    @pytest.mark.parametrize("what", ["file", "folder"])
    def test_read_only(self, folder: Path, what: str) -> None:
        """As a user who may not write there (root may write anything, so the command runs as
        nobody): a read-only state file, or a read-only folder to create it in."""
        open_to_all = Path(tempfile.mkdtemp(prefix="leadsync-ro-", dir="/tmp"))
        open_to_all.chmod(0o755)
        shutil.copy(folder / "rules.yaml", open_to_all)
        folder = open_to_all / "conf"
        folder.mkdir()
        shutil.move(open_to_all / "rules.yaml", folder / "rules.yaml")
        try:
            self._read_only(folder, what)
        finally:
            folder.chmod(0o755)
            shutil.rmtree(open_to_all)

    def _read_only(self, folder: Path, what: str) -> None:
        config = write_config(folder)
        if what == "file":
            open_store(f"sqlite:///{folder / 'state.db'}").close()
            (folder / "state.db").chmod(0o444)
        folder.chmod(0o555 if what == "folder" else 0o777)
        (folder / "rules.yaml").chmod(0o444)
        config.chmod(0o444)
        code, err = _as_nobody(["status", "--config", str(config)])
        assert code == 2, err
        if what == "file":
            assert f"{config}:{STATE_LINE}: the state file {folder / 'state.db'} is read-only" in err
        else:
            assert f"{config}:{STATE_LINE}: cannot create {folder / 'state.db'}: the folder" in err
        assert "Traceback" not in err


def _as_nobody(args: list[str]) -> tuple[int, str]:
    if os.geteuid() != 0:
        pytest.skip("needs root to run as nobody")
    env = {**os.environ, "HOME": "/tmp"}
    script = "import sys; from leadsync.cli import main; sys.exit(main())"
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", script, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=False)
    if "ModuleNotFoundError" in done.stderr or "can't open file" in done.stderr:
        pytest.skip(f"nobody cannot run this virtual environment: {done.stderr[-300:]}")
    return done.returncode, done.stderr


class TestConfigKeys:
    """Connection names given twice, and misspelt keys with a did-you-mean."""

    def test_a_name_used_twice(self, folder: Path) -> None:
        config = write_config(folder)
        text = config.read_text()
        config.write_text(text + text[text.index("  - name: fake") :])
        code, out, err = invoke("run", "--config", str(config), "--cycles", "1")
        assert code == 2 and out == ""
        assert err == f'{config}:10: connection name "fake" is used twice (first at line 4)\n'

    @pytest.mark.parametrize(
        ("wrong", "right", "line", "says"),
        [
            ("every: 1m", "evry: 1m", 7, "`evry` in `connections.0`; did you mean `every`?"),
            ("log: {level", "log: {levle", 1, "`levle` in `log`; did you mean `level`?"),
            ('state: "', 'stat: "', 2, "`stat` at the top level; did you mean `state`?"),
            (
                "connections:",
                "http: {lisen: 1}\nconnections:",
                3,
                "`lisen` in `http`; did you mean `listen`?",
            ),
        ],
    )
    def test_did_you_mean(self, folder: Path, wrong: str, right: str, line: int, says: str) -> None:
        config = write_config(folder)
        config.write_text(config.read_text().replace(wrong, right))
        code, _, err = invoke("status", "--config", str(config))
        assert code == 2
        assert f"{config}:{line}: unknown key {says}" in err


class TestWhereTheConfigIs:
    """--config, else $LEADSYNC_CONFIG, else ./leadsync.yaml; a clear error when none is there."""

    @pytest.mark.parametrize("command", [("status",), ("check",), ("sync", "--dry-run"), ("setup",)])
    def test_none_found(
        self, folder: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
    ) -> None:
        monkeypatch.chdir(folder)
        code, out, err = invoke(*command)
        assert code == 2 and out == ""
        assert err == (
            "--config:0: no config file: give --config FILE, set LEADSYNC_CONFIG=FILE, "
            "or run from the folder holding leadsync.yaml\n"
        )

    def test_the_current_folder(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write_config(folder)
        monkeypatch.chdir(folder)
        code, out, err = invoke("status")
        assert code == 0, err
        assert "== fake" in out

    def test_the_variable_wins_over_the_folder(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (folder / "leadsync.yaml").write_text("not: a config\n")
        other = write_config(folder, name="elsewhere.yaml")
        monkeypatch.chdir(folder)
        monkeypatch.setenv("LEADSYNC_CONFIG", str(other))
        code, out, err = invoke("status")
        assert code == 0, err
        assert "== fake" in out

    def test_the_option_wins_over_the_variable(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        config = write_config(folder)
        monkeypatch.setenv("LEADSYNC_CONFIG", str(folder / "typo.yaml"))
        code, _, err = invoke("status", "--config", str(config))
        assert code == 0, err

    def test_a_variable_naming_nothing(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write_config(folder)
        monkeypatch.chdir(folder)  # ./leadsync.yaml exists, but the variable said another file
        monkeypatch.setenv("LEADSYNC_CONFIG", str(folder / "typo.yaml"))
        code, _, err = invoke("status")
        assert code == 2
        assert err.startswith(f"LEADSYNC_CONFIG:0: the config file {folder / 'typo.yaml'} does not exist")


class TestDryRunWritesNothing:
    """`sync --dry-run` neither creates nor migrates the state; it plans against what is there."""

    def test_no_state_file_is_created(self, folder: Path) -> None:
        config = write_config(folder)
        code, out, err = invoke("sync", "--config", str(config), "--dry-run", "--now", NOW)
        assert code == 0, err
        assert "c0 (c0@co0.com): lead -> mql" in out
        assert sorted(p.name for p in folder.iterdir()) == ["leadsync.yaml", "rules.yaml"]
        assert fake_crm.REGISTRY["cli"].write_calls == 0

    def test_an_existing_file_is_left_as_it_was(self, folder: Path) -> None:
        config = write_config(folder)
        code, _, err = invoke("sync", "--config", str(config), "--now", NOW)
        assert code == 0, err
        files = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
        assert "state.db" in files and "state.db-wal" not in files
        code, out, err = invoke("sync", "--config", str(config), "--dry-run", "--now", NOW)
        assert code == 0, err
        assert out == "Nothing to change.\n"  # planned against the state: a fresh store plans c0
        assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == files

    def test_an_unmigrated_file_is_named(self, folder: Path) -> None:
        config = write_config(folder)
        store = open_store(f"sqlite:///{folder / 'state.db'}")
        with store.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0000'")
        store.close()
        before = (folder / "state.db").read_bytes()
        code, out, err = invoke("sync", "--config", str(config), "--dry-run", "--now", NOW)
        assert code == 2 and out == ""
        assert f"{config}:{STATE_LINE}: the state store {folder / 'state.db'} is not migrated" in err
        assert f"(revision 0000, needs {', '.join(sorted(head_revisions()))})" in err
        assert (folder / "state.db").read_bytes() == before

    def test_no_table_is_created_on_postgresql(self, folder: Path) -> None:
        from leadsync.testing.stores import drop_pg_schema, fresh_pg_url

        url = fresh_pg_url()
        try:
            config = write_config(folder, url)
            code, out, err = invoke("sync", "--config", str(config), "--dry-run", "--now", NOW)
            assert code == 0, err
            assert "c0 (c0@co0.com): lead -> mql" in out
            engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
            with engine.connect() as connection:
                assert inspect(connection).get_table_names() == []
            engine.dispose()
        finally:
            drop_pg_schema(url)

    def test_a_migrated_postgresql_store_is_read(self, folder: Path) -> None:
        from leadsync.testing.stores import drop_pg_schema, fresh_pg_url

        url = fresh_pg_url()
        try:
            config = write_config(folder, url)
            assert invoke("sync", "--config", str(config), "--now", NOW)[0] == 0
            code, out, err = invoke("sync", "--config", str(config), "--dry-run", "--now", NOW)
            assert code == 0, err
            assert out == "Nothing to change.\n"  # planned against the state
            store = open_store(url)
            assert len(store.status("fake")["runs"]) == 1  # the dry run left no run behind
            store.close()
        finally:
            drop_pg_schema(url)
