"""The live dashboard: ``/report`` and ``/report.json`` computed from the state store on request
(the worked example's records stored as a sync leaves them), on SQLite and PostgreSQL; its query
parameters and their errors; the token that guards it beyond loopback."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from pydantic import SecretStr
from structlog.testing import capture_logs

from leadsync.cli import main
from leadsync.errors import ConfigError
from leadsync.observe import ListenAddress
from leadsync.observe.access import Guard
from leadsync.observe.dashboard import Dashboard
from leadsync.observe.monitor import Monitor
from leadsync.report.html import render_html
from leadsync.rules.loader import load_rules
from leadsync.settings import load_settings
from leadsync.sync.daemon import Daemon
from leadsync.sync.state import StateStore, open_store
from tests.observe.support import get
from tests.report.browser import Chromium, chromium
from tests.report.stored import EXAMPLE, NOW
from tests.report.stored import fill_store as _fill
from tests.report.test_browser import numbers_shown
from tests.support import table
from tests.sync import fake_crm
from tests.sync.test_loop import crm

__all__ = ["chromium"]

EXPECTED = json.loads((EXAMPLE / "expected.json").read_text())
WEEK = json.loads((EXAMPLE / "expected-week.json").read_text())
RULES = load_rules(EXAMPLE / "rules.yaml")
TOKEN = "dash-T0ken-4f1c9b"


def _monitor(store: StateStore, token: str | None = None) -> Monitor:
    dashboard = Dashboard(store, ["other", "crm"], lambda _name: RULES)
    monitor = Monitor(
        store,
        {},
        listen=ListenAddress("127.0.0.1", 0),
        dashboard=dashboard,
        token=SecretStr(token) if token else None,
    )
    monitor.start()
    return monitor


@pytest.fixture
def store(leadsync_store_url: str) -> Iterator[StateStore]:
    _fill(leadsync_store_url, "crm")
    s = open_store(leadsync_store_url)
    yield s
    s.close()


@pytest.fixture
def served(store: StateStore) -> Iterator[str]:
    monitor = _monitor(store)
    yield f"http://{monitor.bound}"
    monitor.stop()


def test_the_report_json_and_page_from_the_state_store(served: str) -> None:
    status, headers, body = get(f"{served}/report.json?connection=crm&now={NOW}")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == EXPECTED
    week = f"{served}/report.json?connection=crm&now={NOW}&by=week&from=2026-11-30"
    assert json.loads(get(week)[2]) == WEEK
    status, headers, body = get(f"{served}/report?connection=crm&now={NOW}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"
    assert body == render_html(EXPECTED, RULES)
    assert get(f"{served}/report?connection=crm&now={NOW}", method="HEAD")[2] == b""


def test_now_defaults_to_the_request_and_other_is_empty(served: str) -> None:
    status, _, body = get(f"{served}/report.json?connection=other&from=&to=&now=")  # empty: the default
    assert status == 200
    report = json.loads(body)
    assert report["window"]["contacts"] == 0 and report["window"]["by"] == "month"


@pytest.mark.parametrize(
    ("query", "message"),
    table(
        [
            ("no connection of several", "", "several connections: add connection=NAME, one of other, crm"),
            (
                "an unknown connection",
                "connection=nope",
                "bad parameter `connection`: no connection `nope`; one of other, crm",
            ),
            (
                "a bad date",
                "connection=crm&from=2026-13-01",
                "bad parameter `from`: `2026-13-01` is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01",
            ),
            (
                "a bad grouping",
                "connection=crm&by=day",
                "bad parameter `by`: `day`; write by=month or by=week",
            ),
            ("a bad now", "connection=crm&now=yesterday", "bad parameter `now`: "),
            (
                "from after to",
                f"connection=crm&now={NOW}&from=2026-12-05&to=2026-12-01",
                "bad parameter `from`: ",
            ),
            (
                "an unknown parameter",
                "connection=crm&format=csv",
                "unknown parameter `format`; the report takes from, to, by, now, connection",
            ),
            (
                "a parameter twice",
                "connection=crm&by=week&by=month",
                "parameter `by` given 2 times; give it once",
            ),
            (
                "a control character is echoed escaped (in plain text)",
                "connection=%3Cscript%3Ex%0Ay",
                "bad parameter `connection`: no connection `<script>x\\ny`",
            ),
        ]
    ),
)
def test_bad_parameters_answer_400_saying_what_to_write(served: str, query: str, message: str) -> None:
    for path in ("/report", "/report.json"):
        status, headers, body = get(f"{served}{path}?{query}")
        assert status == 400 and headers["Content-Type"] == "text/plain; charset=utf-8"
        assert body.decode().startswith(message), body


def _statuses(base: str, path: str, authorization: str | None) -> tuple[int, list[str]]:
    request = urllib.request.Request(
        f"{base}{path}", headers={"Authorization": authorization} if authorization else {}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=15) as answer:
            return answer.status, answer.headers.get_all("WWW-Authenticate") or []
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_all("WWW-Authenticate") or []


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "allowed"),
    table(
        [
            ("none", None, False),
            ("the bearer token", f"Bearer {TOKEN}", True),
            ("the scheme in any case", f"bearer {TOKEN}", True),
            ("a wrong bearer token", "Bearer dash-T0ken-4f1c9", False),
            ("a longer one", f"Bearer {TOKEN}x", False),
            ("an empty bearer", "Bearer ", False),
            ("basic auth, the token as password", _basic("review", TOKEN), True),
            ("basic auth, any user", _basic("", TOKEN), True),
            ("basic auth, a wrong password", _basic("review", "nope"), False),
            ("basic auth, the token as user", _basic(TOKEN, ""), False),
            ("basic auth, not base64", "Basic !!!", False),
            ("another scheme", f"Token {TOKEN}", False),
        ]
    ),
)
def test_the_token_guards_the_report_and_the_metrics(
    tmp_path: Path, authorization: str | None, allowed: bool
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    monitor = _monitor(store, TOKEN)
    base = f"http://{monitor.bound}"
    try:
        structlog.reset_defaults()
        with capture_logs() as logs:
            for path in ("/report.json?connection=crm", "/report?connection=other", "/metrics"):
                status, challenges = _statuses(base, path, authorization)
                if allowed:
                    assert status == 200, path
                else:
                    assert status == 401, path
                    assert challenges == [
                        'Bearer realm="leadsync"',
                        'Basic realm="leadsync", charset="UTF-8"',
                    ]
            for path in ("/livez", "/readyz"):  # the probes stay open
                assert _statuses(base, path, authorization)[0] in (200, 503)
        assert TOKEN not in repr(logs)
    finally:
        monitor.stop()
        store.close()


def test_the_guard_keeps_no_token_in_its_repr() -> None:
    guard = Guard(SecretStr(TOKEN))
    assert TOKEN not in repr(guard) and TOKEN not in repr(vars(guard))
    assert not guard.allows("/report", {}) and guard.allows("/livez", {})


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-SECRET-123")
    fake_crm.REGISTRY["dash"] = crm()
    path = tmp_path / "leadsync.yaml"
    path.write_text(
        f"state: sqlite:///{tmp_path / 'state.db'}\n"
        "log: {level: warning, format: json}\n"
        "http:\n"
        "  listen: 127.0.0.1:0\n"
        "connections:\n"
        "  - name: crm\n"
        "    adapter: tests.sync.fake_crm:from_options\n"
        f"    rules: {EXAMPLE / 'rules.yaml'}\n"
        "    token_env: LEADSYNC_TEST_TOKEN\n"
        "    options: {crm: dash}\n"
    )
    yield path
    fake_crm.REGISTRY.pop("dash", None)


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--cycles", "0", *args])
    return result.exit_code, result.stderr


def test_the_daemon_serves_its_store_with_its_rules(config: Path) -> None:
    settings = load_settings(config)
    _fill(settings.state, "crm")
    store = open_store(settings.state)
    daemon = Daemon(settings, store, listen=ListenAddress("127.0.0.1", 0))
    daemon.monitor.start()
    try:
        status, _, body = get(f"http://{daemon.monitor.bound}/report.json?now={NOW}")
        assert status == 200 and json.loads(body) == EXPECTED  # one connection: no need to name it
    finally:
        daemon.monitor.stop()
        store.close()


class TestConfig:
    def test_beyond_loopback_without_a_token_is_refused_at_its_line(self, config: Path) -> None:
        config.write_text(config.read_text().replace("127.0.0.1:0", "0.0.0.0:9464"))
        with pytest.raises(ConfigError) as caught:
            load_settings(config)
        assert str(caught.value).startswith(
            f"{config}:4: listening on 0.0.0.0:9464 serves the report and the metrics beyond this machine: "
            "set http.token_env (or http.token_file) in the config"
        )
        code, err = _run(config)
        assert code == 2 and err.startswith(f"{config}:4: listening on 0.0.0.0:9464")

    def test_http_on_the_command_line_beyond_loopback_needs_the_configs_token(self, config: Path) -> None:
        code, err = _run(config, "--http", "0.0.0.0:0")
        assert code == 2 and err.startswith("--http:0: listening on 0.0.0.0:0 serves the report")

    def test_both_token_keys_are_refused(self, config: Path) -> None:
        config.write_text(
            config.read_text().replace("  listen: 127.0.0.1:0\n", "  token_env: A\n  token_file: b\n")
        )
        with pytest.raises(ConfigError) as caught:
            load_settings(config)
        assert str(caught.value) == f"{config}:3: give `token_env` or `token_file`, not both"

    def test_the_token_from_the_environment_or_a_file(
        self, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        text = config.read_text()
        config.write_text(text.replace("127.0.0.1:0\n", "0.0.0.0:0\n  token_env: LEADSYNC_HTTP_TOKEN\n"))
        http = load_settings(config).http
        assert http is not None
        with pytest.raises(ConfigError) as caught:
            http.token()
        assert str(caught.value) == (
            f"{config}:5: the environment variable LEADSYNC_HTTP_TOKEN is not set; "
            "export the listener's token in it"
        )
        code, err = _run(config)
        assert code == 2 and err.startswith(f"{config}:5: the environment variable LEADSYNC_HTTP_TOKEN")
        monkeypatch.setenv("LEADSYNC_HTTP_TOKEN", f" {TOKEN}\n")
        token = http.token()
        assert token is not None and token.get_secret_value() == TOKEN
        config.write_text(text.replace("127.0.0.1:0\n", "0.0.0.0:0\n  token_file: http-token\n"))
        http = load_settings(config).http
        assert http is not None and http.token_file == tmp_path / "http-token"  # from the config's folder
        with pytest.raises(ConfigError) as caught:
            http.token()
        assert str(caught.value).startswith(
            f"{config}:5: cannot read the token file {tmp_path / 'http-token'}"
        )
        (tmp_path / "http-token").write_text("\n")
        with pytest.raises(ConfigError, match="is empty"):
            http.token()
        (tmp_path / "http-token").write_text(f"{TOKEN}\n")
        token = http.token()
        assert token is not None and token.get_secret_value() == TOKEN


def test_the_served_page_in_a_browser_fetches_nothing_else(chromium: Chromium, served: str) -> None:
    url = f"{served}/report?connection=crm&now={NOW}"
    page = chromium.open(url)
    assert page.errors == []
    assert page.requests == [url]
    tables = page.run(
        "return Object.fromEntries(Array.from(document.querySelectorAll('table')).map(t => [t.id, "
        "Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.childNodes[0].textContent))]))"
    )
    assert tables == numbers_shown(EXPECTED)
    assert page.run("return document.querySelectorAll('canvas[data-chart]').length") == 8
