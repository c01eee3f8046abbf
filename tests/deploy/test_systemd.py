"""deploy/systemd: the unit verifies cleanly, scores as hardened, and its config fits it.

`systemd-analyze verify` and `systemd-analyze security --offline` read the unit file alone; no
service is started (this machine's PID 1 is not systemd).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from leadsync.settings import load_settings
from tests.deploy.support import CONFIG_PATH, DEPLOY, PORT, run, tool

UNIT = DEPLOY / "systemd" / "leadsync.service"
CONFIG = DEPLOY / "systemd" / "leadsync.yaml"
INSTALLED = "/opt/leadsync/bin/leadsync"  # the README installs leadsync in a venv there
EXPOSURE_AT_MOST = 2.0  # systemd-analyze security: "OK" ends at 3.9, this unit scores 1.1


def directives(text: str) -> dict[str, list[str]]:
    """``Section.Key`` → its values in order (a unit may repeat a key, e.g. SystemCallFilter)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


def verify(tmp_path: Path, text: str) -> str:
    """What `systemd-analyze verify` says of the unit, with leadsync where this machine has it
    (verify checks that ExecStart's program exists); empty when it has nothing to say."""
    here = tmp_path / "leadsync.service"
    here.write_text(text.replace(INSTALLED, str(Path(sys.executable).with_name("leadsync"))))
    done = run(tool("systemd-analyze"), "verify", str(here))
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 0 or said, "verify failed without a word"
    return said


class TestVerify:
    def test_the_unit_verifies_without_a_word(self, tmp_path: Path) -> None:
        assert verify(tmp_path, UNIT.read_text()) == ""

    def test_a_mistake_in_the_unit_is_reported(self, tmp_path: Path) -> None:
        """Verify is quiet for the right reason: a misspelled key or a bad value is reported."""
        text = UNIT.read_text().replace("ProtectHome=yes", "ProtectHomes=yes")
        assert "Unknown key 'ProtectHomes'" in verify(tmp_path, text)
        text = UNIT.read_text().replace("RestartSec=10s", "RestartSec=ten seconds")
        assert "Failed to parse sec value, ignoring: ten seconds" in verify(tmp_path, text)

    def test_a_missing_program_is_reported(self, tmp_path: Path) -> None:
        here = tmp_path / "leadsync.service"
        here.write_text(UNIT.read_text().replace(INSTALLED, str(tmp_path / "nowhere" / "leadsync")))
        done = run(tool("systemd-analyze"), "verify", str(here))
        assert done.returncode != 0
        assert "is not executable" in done.stderr


class TestHardening:
    def test_the_exposure_score_is_low(self) -> None:
        tenths = round(EXPOSURE_AT_MOST * 10)  # --threshold counts tenths of the score
        done = run(tool("systemd-analyze"), "security", "--offline=yes", f"--threshold={tenths}", str(UNIT))
        score = re.search(r"Overall exposure level for leadsync\.service: ([\d.]+)", done.stdout)
        assert score, done.stdout + done.stderr
        assert float(score.group(1)) <= EXPOSURE_AT_MOST
        assert done.returncode == 0, done.stdout[-2000:]

    def test_the_service_runs_confined(self) -> None:
        d = directives(UNIT.read_text())
        expected = {
            "DynamicUser": "yes",
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "ProtectHome": "yes",
            "PrivateTmp": "yes",
            "PrivateDevices": "yes",
            "CapabilityBoundingSet": "",
            "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
            "StateDirectory": "leadsync",
        }
        for key, value in expected.items():
            assert d[f"Service.{key}"] == [value], key
        assert d["Service.SystemCallFilter"][0] == "@system-service"

    def test_it_restarts_on_failure_with_a_backoff_and_a_limit(self) -> None:
        d = directives(UNIT.read_text())
        assert d["Service.Restart"] == ["on-failure"]
        assert d["Service.RestartSec"] == ["10s"]
        assert d["Unit.StartLimitBurst"] and d["Unit.StartLimitIntervalSec"]
        # SIGTERM finishes the batch in hand: systemd waits for it before SIGKILL.
        assert d["Service.TimeoutStopSec"] == ["120"]

    def test_it_runs_the_daemon_with_metrics_on_loopback(self) -> None:
        [start] = directives(UNIT.read_text())["Service.ExecStart"]
        assert start == f"{INSTALLED} run --config {CONFIG_PATH} --http 127.0.0.1:{PORT}"


class TestConfig:
    def test_the_config_reads_the_units_credential_and_state_directory(self) -> None:
        d = directives(UNIT.read_text())
        settings = load_settings(CONFIG)
        [conn] = settings.connections
        [credential] = d["Service.LoadCredential"]
        name = credential.split(":", 1)[0]
        # systemd puts a credential at $CREDENTIALS_DIRECTORY, /run/credentials/<unit>/<name>.
        assert conn.token_file == Path("/run/credentials/leadsync.service") / name
        assert settings.state == "sqlite:////var/lib/leadsync/state.db"
        assert d["Service.StateDirectory"] == ["leadsync"]
        # Relative to the config's folder, which ExecStart names: /etc/leadsync/rules.yaml.
        assert conn.rules == CONFIG.parent / "rules.yaml"
        assert d["Service.ConfigurationDirectory"] == ["leadsync"]

    def test_secrets_can_come_from_a_root_only_environment_file(self) -> None:
        assert directives(UNIT.read_text())["Service.EnvironmentFile"] == ["-/etc/leadsync/leadsync.env"]
