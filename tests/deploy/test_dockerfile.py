"""deploy/docker/Dockerfile, read as a build reads it: two stages, a non-root runtime under any
UID, a read-only root file system, and a health check that fails when /livez does.

`docker build` needs an engine this machine does not have; CI replays the build stage without
Docker instead (tests/deploy/dockerbuild.py), and hadolint lints the file here.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from tests.deploy.dockerbuild import DOCKERFILE, Stage, copies, stages
from tests.deploy.support import CONFIG_PATH, PORT, ROOT, run, tool

IGNORE_FILE = DOCKERFILE.with_name("Dockerfile.dockerignore")


@pytest.fixture(scope="module")
def build() -> Stage:
    return stages()[0]


@pytest.fixture(scope="module")
def runtime() -> Stage:
    return stages()[-1]


class TestStages:
    def test_a_build_stage_and_a_slim_runtime_on_the_same_python(self) -> None:
        found = stages()
        assert [s.name for s in found] == ["build", None]
        assert found[0].base == found[1].base == "python:3.11-slim-bookworm"

    def test_the_build_stage_makes_a_wheel_and_installs_it_in_a_venv_without_pip(self, build: Stage) -> None:
        [command] = build.values("RUN")
        assert "pip wheel --no-deps --wheel-dir /wheels ." in command
        assert "python -m venv --without-pip /opt/leadsync" in command
        assert "install --compile /wheels/leadsync-*.whl" in command

    def test_the_runtime_copies_the_venv_and_installs_nothing(self, runtime: Stage) -> None:
        assert runtime.values("COPY") == ["--from=build /opt/leadsync /opt/leadsync"]
        assert not any("pip" in command for command in runtime.values("RUN"))

    def test_the_build_stage_copies_every_source_the_wheel_needs(self, build: Stage) -> None:
        """Every folder pyproject maps to a package, and the files the build reads."""
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())
        copied = {source.rstrip("/") for sources, _ in copies(build) for source in sources}
        folders = {folder.split("/")[0] for folder in project["tool"]["setuptools"]["package-dir"].values()}
        assert folders | {"pyproject.toml", project["project"]["readme"]} <= copied

    def test_the_ignore_file_lets_in_exactly_what_is_copied(self, build: Stage) -> None:
        """The context sent to the builder: the copied sources only (never .venv, .git, state.db)."""
        lines = [x for x in IGNORE_FILE.read_text().splitlines() if x and not x.startswith("#")]
        assert lines[0] == "**"
        allowed = {x[1:].rstrip("/") for x in lines if x.startswith("!")}
        assert allowed == {s.rstrip("/") for sources, _ in copies(build) for s in sources}
        assert {"**/__pycache__", "**/*.py[co]"} <= set(lines)


class TestRuntime:
    def test_a_fixed_non_root_user_in_group_0(self, runtime: Stage) -> None:
        [user] = runtime.values("USER")
        uid, gid = user.split(":")
        assert uid.isdigit() and int(uid) >= 1000 and gid == "0"  # numeric: runAsNonRoot can check it
        [setup] = runtime.values("RUN")
        assert f"--uid {uid} --gid 0" in setup

    def test_the_only_writable_folder_is_group_0s_too(self, runtime: Stage) -> None:
        """Any UID in group 0 (OpenShift) can write the state folder; nothing else is written."""
        [setup] = runtime.values("RUN")
        assert "chown 10001:0 /var/lib/leadsync" in setup and "chmod 0770 /var/lib/leadsync" in setup
        assert runtime.values("VOLUME") == ['["/var/lib/leadsync"]']
        assert runtime.values("WORKDIR") == ["/var/lib/leadsync"]
        env = runtime.env()
        assert env["HOME"] == "/var/lib/leadsync"
        assert env["PYTHONDONTWRITEBYTECODE"] == "1"

    def test_leadsync_is_the_entrypoint_and_runs_the_daemon_with_metrics(self, runtime: Stage) -> None:
        assert runtime.exec_form("ENTRYPOINT") == ["leadsync"]
        assert runtime.exec_form("CMD") == ["run", "--http", f"0.0.0.0:{PORT}"]  # config: the variable
        assert runtime.env()["LEADSYNC_CONFIG"] == CONFIG_PATH
        assert runtime.values("EXPOSE") == [str(PORT)]
        assert runtime.env()["PATH"].startswith("/opt/leadsync/bin:")

    def test_the_health_check_asks_livez(self, runtime: Stage) -> None:
        command = runtime.exec_form("HEALTHCHECK")
        assert command[:2] == ["python", "-c"]
        assert f"http://127.0.0.1:{PORT}/livez" in command[2]
        [value] = runtime.values("HEALTHCHECK")
        assert "--interval=30s" in value and "--start-period=60s" in value


class _Livez(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/livez" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def livez() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Livez)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def health_check(runtime: Stage, port: int) -> int:
    """The HEALTHCHECK command's exit status against 127.0.0.1:``port`` instead of 9464."""
    command = runtime.exec_form("HEALTHCHECK")
    code = command[2].replace(f":{PORT}/", f":{port}/")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode


class TestHealthCheck:
    """The command itself, run: it must fail when /livez fails or nothing listens."""

    def test_healthy_when_livez_answers_200(self, runtime: Stage, livez: ThreadingHTTPServer) -> None:
        _Livez.status = 200
        assert health_check(runtime, livez.server_address[1]) == 0

    def test_unhealthy_when_livez_answers_503(self, runtime: Stage, livez: ThreadingHTTPServer) -> None:
        _Livez.status = 503
        try:
            assert health_check(runtime, livez.server_address[1]) != 0
        finally:
            _Livez.status = 200

    def test_unhealthy_when_nothing_listens(self, runtime: Stage, livez: ThreadingHTTPServer) -> None:
        port = livez.server_address[1]
        livez.shutdown()
        livez.server_close()
        assert health_check(runtime, port) != 0


def test_hadolint_finds_nothing() -> None:
    """hadolint: Dockerfile best practice, and shellcheck on every RUN."""
    done = run(tool("hadolint"), "--no-color", str(DOCKERFILE), cwd=Path(DOCKERFILE).parent)
    assert done.returncode == 0, done.stdout + done.stderr
