"""The daemon's commands against the in-memory CRM: config errors, dry run, sync, status, run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.errors import ConfigError, Problem
from leadsync.logging import configure_logging, scrub
from leadsync.settings import load_settings
from tests.sync import fake_crm
from tests.sync.test_loop import crm

RULES = Path(__file__).resolve().parents[1] / "sync" / "rules.yaml"


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    fake_crm.REGISTRY["cli"] = crm()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.read_text())
    path = tmp_path / "leadsync.yaml"
    path.write_text(
        "state: sqlite:///state.db\n"
        "log: {level: warning, format: json}\n"
        "connections:\n"
        "  - name: fake\n"
        "    adapter: tests.sync.fake_crm:from_options\n"
        "    rules: rules.yaml\n"
        "    every: 1m\n"
        "    token_env: LEADSYNC_TEST_TOKEN\n"
        "    options: {crm: cli}\n"
    )
    yield path
    fake_crm.REGISTRY.pop("cli", None)


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-SECRET-123")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


class TestConfigErrors:
    """A bad config file is refused with FILE:LINE before anything runs."""

    def test_unknown_key_and_bad_interval(self, config: Path) -> None:
        config.write_text(
            config.read_text().replace("every: 1m", "every: often").replace("rules:", "ruless:")
        )
        code, out, err = invoke("sync", "--config", str(config))
        assert code == 2 and out == ""
        assert f"{config}:" in err and "ruless" in err

    def test_decide_batch_out_of_range(self, config: Path) -> None:
        config.write_text(config.read_text().replace("every: 1m\n", "every: 1m\n    decide_batch: 0\n"))
        code, out, err = invoke("sync", "--config", str(config))
        assert code == 2 and out == ""
        assert f"{config}:8:" in err and "decide_batch" in err and "greater than or equal to 1" in err

    def test_missing_token_variable(self, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("LEADSYNC_TEST_TOKEN")
        code, _, err = invoke("sync", "--config", str(config))
        assert code == 2 and "LEADSYNC_TEST_TOKEN is not set" in err
        assert f'{config}:8: connection "fake": the environment variable' in err

    def test_unreadable_token_file(self, config: Path) -> None:
        text = config.read_text().replace("token_env: LEADSYNC_TEST_TOKEN", "token_file: nope.txt")
        config.write_text(text)
        code, _, err = invoke("sync", "--config", str(config))
        assert code == 2 and f'{config}:8: connection "fake": cannot read the token file' in err
        assert "nope.txt" in err and "Traceback" not in err


def test_relative_file_options_are_taken_from_the_config_files_folder(config: Path, tmp_path: Path) -> None:
    """As `rules` and `token_file` are: a service's working directory is not the config's."""
    config.write_text(
        config.read_text().replace(
            "options: {crm: cli}",
            "options: {crm: cli, mapping: maps/crm.yaml, ca_file: /etc/ssl/ca.pem, token_cache: ~/t}",
        )
    )
    options = load_settings(config).connections[0].options
    assert options["mapping"] == str(tmp_path / "maps" / "crm.yaml")
    assert options["ca_file"] == "/etc/ssl/ca.pem"
    assert options["token_cache"] == str(Path("~/t").expanduser())
    assert options["crm"] == "cli"


def test_an_absolute_token_file_is_read_where_it_is(config: Path, tmp_path: Path) -> None:
    """A service's secret file: systemd's /run/credentials/<unit>/, a container's /run/secrets/."""
    secret = tmp_path / "credentials" / "crm-token"
    secret.parent.mkdir()
    secret.write_text("tok-123\n")
    config.write_text(config.read_text().replace("token_env: LEADSYNC_TEST_TOKEN", f"token_file: {secret}"))
    conn = load_settings(config).connections[0]
    assert conn.token_file == secret
    token = conn.token()
    assert token is not None and token.get_secret_value() == "tok-123"


class TestDryRun:
    """A dry run prints the plan per contact and field, and writes nothing anywhere."""

    def test_plan_printed_nothing_written(self, config: Path) -> None:
        fake = fake_crm.REGISTRY["cli"]
        code, out, _ = invoke("sync", "--config", str(config), "--dry-run", "--now", "2026-11-23T10:00:00Z")
        assert code == 0
        assert "c0 (c0@co0.com): lead -> mql" in out
        assert "  owner_id: - -> u1" in out
        assert '+ task "Call now: demo requested"' in out
        assert fake.write_calls == 0
        code, out, _ = invoke("status", "--config", str(config))
        assert "none yet" in out


class TestSyncAndStatus:
    """sync writes back; status reads runs, backlog and SLA counts from the state."""

    def test_sync_then_status(self, config: Path) -> None:
        fake = fake_crm.REGISTRY["cli"]
        code, out, _ = invoke("sync", "--once", "--config", str(config), "--now", "2026-11-23T10:00:00Z")
        assert code == 0, out
        assert "fake: ok; 7 read" in out
        assert fake.contacts["c0"].stage == "mql"
        code, out, _ = invoke("status", "--config", str(config))
        assert code == 0
        assert "7 contacts known" in out and "mql 4" in out and "pending 4" in out
        assert "backlog: 0 writes, 0 actions" in out

    def test_decide_batch_from_the_config(self, config: Path) -> None:
        config.write_text(config.read_text().replace("every: 1m\n", "every: 1m\n    decide_batch: 2\n"))
        fake = fake_crm.REGISTRY["cli"]
        code, out, _ = invoke("sync", "--config", str(config), "--now", "2026-11-23T10:00:00Z")
        assert code == 0 and "fake: ok; 7 read" in out
        assert fake.calls["read_activities"] == 3  # pages of 3: each page closes a batch of 2 or more

    def test_run_for_two_cycles(self, config: Path) -> None:
        # The scheduler runs on the real clock: a 1 s interval makes the second cycle come soon.
        config.write_text(config.read_text().replace("every: 1m", "every: 1s"))
        fake = fake_crm.REGISTRY["cli"]
        code, _, _ = invoke("run", "--config", str(config), "--cycles", "2")
        assert code == 0
        assert fake.calls["read_owners"] == 2  # two runs (on the real clock, the demos lie ahead)
        code, out, _ = invoke("status", "--config", str(config))
        assert "7 contacts known" in out and out.count(" ok ") == 2


class TestSecretsNeverLogged:
    """Keys that name secrets and tokens inside text are masked in every log line."""

    def test_scrub(self) -> None:
        event = {
            "event": "x",
            "token": "pat-na1-abc",
            "headers": {"Authorization": "Bearer abc"},
            "detail": "401 for Bearer pat-na1-abc at https://h/?hapikey=zzz",
        }
        out = scrub(None, "info", dict(event))
        text = json.dumps(out)
        assert "abc" not in text and "zzz" not in text

    def test_a_sync_logs_no_token(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging("debug", "json")
        structlog.get_logger("t").info("connecting", token="pat-na1-SECRET-123", url="https://x")
        invoke("sync", "--config", str(config))
        captured = capsys.readouterr()
        assert "SECRET-123" not in captured.err + captured.out


def _connection(tmp_path: Path, adapter: str, options: str) -> Path:
    """A one-connection config whose connection starts on line 4 and its options on line 9."""
    (tmp_path / "rules.yaml").write_text(RULES.read_text())
    path = tmp_path / "leadsync.yaml"
    path.write_text(
        "state: sqlite:///state.db\n"
        "log: {level: warning, format: json}\n"
        "connections:\n"
        "  - name: crm\n"
        f"    adapter: {adapter}\n"
        "    rules: rules.yaml\n"
        "    every: 1m\n"
        "    token_env: LEADSYNC_TEST_TOKEN\n"
        f"{options}"
    )
    return path


def _problems(path: Path) -> list[str]:
    """What building the adapter of the config's only connection reports, one line a problem."""
    with pytest.raises(ConfigError) as caught:
        load_settings(path).connections[0].make_adapter()
    return [str(p) for p in caught.value.problems]


def leaky_factory(options: dict[str, Any]) -> None:
    """An adapter that wrongly echoes its token (a plain one and a SecretStr) in its error."""
    token = options["token"].get_secret_value()
    raise ConfigError([Problem("leaky options", 0, f"bad `api_key` {options['api_key']}; token {token}")])


class TestAdapterOptionErrors:
    """An adapter's option problems point at the option's own line of the config file (the
    ``options:`` line for one that is missing), naming the connection."""

    def test_hubspot_unknown_option(self, tmp_path: Path) -> None:
        path = _connection(tmp_path, "hubspot", "    options: {account_timezone: UTC, acount_tz: UTC}\n")
        [problem] = _problems(path)
        assert problem.startswith(f'{path}:9: connection "crm": unknown option `acount_tz`')

    def test_salesforce_unknown_option(self, tmp_path: Path) -> None:
        options = "    options: {auth: client_credentials, client_id: 3MVG9x, colour: red}\n"
        [problem] = _problems(_connection(tmp_path, "salesforce", options))
        assert problem.startswith(
            f'{tmp_path / "leadsync.yaml"}:9: connection "crm": unknown option `colour`'
        )

    def test_zoho_unknown_option(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ZOHO_CLIENT_SECRET", "zoho-secret")
        options = "    options:\n      client_id: 1000.X\n      data_centre: eu\n"
        [problem] = _problems(_connection(tmp_path, "zoho", options))
        assert problem.startswith(
            f'{tmp_path / "leadsync.yaml"}:11: connection "crm": unknown option `data_centre`'
        )

    @pytest.mark.parametrize(
        ("adapter", "options", "expected"),
        [
            (
                "hubspot",
                "      batch_size: 500\n      account_timezone: Mars/Base\n      acount_tz: UTC\n",
                {
                    10: "`batch_size` must be a whole number from 1 to 100",
                    11: "unknown time zone `Mars/Base`",
                    12: "unknown option `acount_tz`; did you mean `account_timezone`?",
                },
            ),
            (
                "salesforce",
                "      auth: saml\n      client_id: 3MVG9x\n      query_batch: 10\n",
                {10: "`auth` must be one of jwt, client_credentials, password", 12: "`query_batch` must be"},
            ),
            (
                "zoho",
                "      client_id: 1000.X\n      triggers: [workflow, lunch]\n      data_center: mars\n",
                {11: "`triggers` must list some of", 12: "unknown data centre 'mars'"},
            ),
        ],
    )
    def test_each_problem_at_its_options_own_line(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        adapter: str,
        options: str,
        expected: dict[int, str],
    ) -> None:
        monkeypatch.setenv("ZOHO_CLIENT_SECRET", "zoho-secret")
        path = _connection(tmp_path, adapter, "    options:\n" + options)
        with pytest.raises(ConfigError) as caught:
            load_settings(path).connections[0].make_adapter()
        found = {p.line: p.message for p in caught.value.problems}
        assert {p.file for p in caught.value.problems} == {str(path)}
        for line, text in expected.items():
            assert found[line].startswith(f'connection "crm": {text}'), (line, found)

    def test_a_missing_secret_points_at_where_it_should_come_from(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("ZOHO_CLIENT_SECRET", raising=False)
        monkeypatch.setenv("LEADSYNC_TEST_TOKEN", " ")
        path = _connection(tmp_path, "zoho", "    options:\n      client_id: 1000.X\n")
        with pytest.raises(ConfigError) as caught:
            load_settings(path).connections[0].make_adapter()
        found = {p.line: p.message for p in caught.value.problems}
        assert "no refresh token" in found[8]  # the token_env: line
        assert "the Client Secret is not in $ZOHO_CLIENT_SECRET" in found[9]  # the options: line

    def test_no_options_points_at_the_connection(self, tmp_path: Path) -> None:
        problems = _problems(_connection(tmp_path, "zoho", ""))
        assert problems and all(
            p.startswith(f'{tmp_path / "leadsync.yaml"}:4: connection "crm": ') for p in problems
        )

    def test_unknown_adapter_points_at_its_line(self, tmp_path: Path) -> None:
        [problem] = _problems(_connection(tmp_path, "hubspott", ""))
        assert problem.startswith(
            f'{tmp_path / "leadsync.yaml"}:5: connection "crm": no adapter called `hubspott`'
        )

    def test_secrets_are_masked(self, tmp_path: Path) -> None:
        options = "    options: {api_key: sk-live-4242}\n"
        adapter = "tests.cli.test_daemon_commands:leaky_factory"
        [problem] = _problems(_connection(tmp_path, adapter, options))
        assert problem == f'{tmp_path / "leadsync.yaml"}:9: connection "crm": bad `api_key` ***; token ***'

    @pytest.mark.parametrize("command", [["check"], ["sync", "--once"]])
    def test_the_cli_prints_it_and_exits_2(self, tmp_path: Path, command: list[str]) -> None:
        path = _connection(tmp_path, "hubspot", "    options: {acount_tz: UTC}\n")
        code, out, err = invoke(*command, "--config", str(path))
        assert code == 2 and out == ""
        assert err.startswith(f'{path}:9: connection "crm": unknown option `acount_tz`')
        assert "Traceback" not in err and "SECRET-123" not in err
