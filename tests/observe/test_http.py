"""Where `leadsync run --http` listens, and how it answers: the endpoints, errors, its config."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson
import pytest
import structlog
from click.testing import CliRunner
from pydantic import SecretStr
from structlog.testing import capture_logs

from leadsync.cli import main
from leadsync.errors import ConfigError
from leadsync.observe import ListenAddress, parse_listen
from leadsync.observe.monitor import Monitor
from leadsync.observe.server import HttpListener, Query, Response
from leadsync.settings import load_settings
from leadsync.sync.state import StateStore, open_store
from tests.observe.support import get, samples, value
from tests.support import table
from tests.sync import fake_crm
from tests.sync.test_loop import crm

RULES = Path(__file__).resolve().parents[1] / "sync" / "rules.yaml"


@pytest.mark.parametrize(
    ("text", "host", "port", "loopback"),
    table(
        [
            ("loopback", "127.0.0.1:9464", "127.0.0.1", 9464, True),
            ("a port alone is on loopback", "9464", "127.0.0.1", 9464, True),
            ("every interface, written out", "0.0.0.0:9464", "0.0.0.0", 9464, False),
            ("IPv6 loopback", "[::1]:9464", "::1", 9464, True),
            ("localhost", "localhost:9000", "localhost", 9000, True),
            ("a name", "metrics.internal:9464", "metrics.internal", 9464, False),
            ("any free port", "127.0.0.1:0", "127.0.0.1", 0, True),
        ]
    ),
)
def test_listen_addresses(text: str, host: str, port: int, loopback: bool) -> None:
    address = parse_listen(text)
    assert (address.host, address.port, address.loopback) == (host, port, loopback)


@pytest.mark.parametrize(
    ("text", "message"),
    table(
        [
            ("no port", "127.0.0.1", "write HOST:PORT, e.g. 127.0.0.1:9464"),
            ("no host", ":9464", "write HOST:PORT"),
            ("a URL", "http://127.0.0.1:9464", "write HOST:PORT"),
            ("port too big", "127.0.0.1:70000", "port 70000 is out of range"),
            ("bad IPv6", "[1::2::3]:9464", "`1::2::3` is not an IPv6 address"),
        ]
    ),
)
def test_bad_listen_addresses_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_listen(text)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


@pytest.fixture
def monitor(store: StateStore) -> Iterator[Monitor]:
    m = Monitor(store, {"hs": object()}, listen=ListenAddress("127.0.0.1", 0))
    m.start()
    yield m
    m.stop()


def url(m: Monitor, path: str) -> str:
    return f"http://{m.bound}{path}"


class TestEndpoints:
    def test_metrics_in_prometheus_text_or_openmetrics(self, monitor: Monitor) -> None:
        status, headers, body = get(url(monitor, "/metrics"))
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert value(samples(body.decode()), "leadsync_state_up") == 1
        accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
        status, headers, body = get(url(monitor, "/metrics"), headers=accept)
        assert headers["Content-Type"].startswith("application/openmetrics-text")
        assert body.endswith(b"# EOF\n")

    def test_livez_and_readyz_answer_json(self, monitor: Monitor) -> None:
        status, headers, body = get(url(monitor, "/livez"))
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert orjson.loads(body)["alive"] is True
        status, _, body = get(url(monitor, "/readyz"))
        assert status == 200 and orjson.loads(body) == {"ready": True, "problems": [], "state": "ok"}

    def test_readyz_says_what_is_wrong(self, monitor: Monitor) -> None:
        monitor.connection_stopped("hs", "authentication failed; fix the credentials and restart")
        monitor.stop_requested()
        status, _, body = get(url(monitor, "/readyz"))
        assert status == 503
        assert orjson.loads(body)["problems"] == [
            "the daemon is stopping (finishing its current batches)",
            "connection hs: stopped: authentication failed; fix the credentials and restart",
        ]
        assert get(url(monitor, "/livez"))[0] == 200  # stopping is no reason to be restarted

    def test_a_lease_status_provider_plugs_in(self, monitor: Monitor) -> None:
        monitor.lease_status = lambda: {"hs": "waiting"}
        status, _, body = get(url(monitor, "/readyz"))
        assert status == 200 and orjson.loads(body)["leases"] == {"hs": "waiting"}
        monitor.lease_status = lambda: {"hs": "expired"}
        status, _, body = get(url(monitor, "/readyz"))
        assert status == 503 and orjson.loads(body)["problems"] == ["connection hs: lease expired"]

    def test_head_other_paths_and_methods(self, monitor: Monitor) -> None:
        status, headers, body = get(url(monitor, "/livez"), method="HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
        status, _, body = get(url(monitor, "/"))
        assert status == 404 and body == b"not found; try /livez, /metrics, /readyz\n"
        assert get(url(monitor, "/metrics?x=1"))[0] == 200  # a query string changes nothing
        assert get(url(monitor, "/metrics"), method="POST")[0] == 501
        assert "Python" not in get(url(monitor, "/livez"))[1]["Server"]

    def test_a_route_that_raises_answers_500_and_is_logged(self) -> None:
        def broken(_: Mapping[str, str], __: Query) -> Response:
            raise RuntimeError("bug")

        listener = HttpListener(ListenAddress("127.0.0.1", 0), {"/metrics": broken})
        bound = listener.start()
        try:
            with capture_logs() as logs:
                status, _, body = get(f"http://{bound}/metrics")
            assert status == 500 and body == b"internal error; see the log\n"
            assert [e["event"] for e in logs if e["log_level"] == "error"] == ["http_route_failed"]
        finally:
            listener.stop()


class TestListening:
    @pytest.fixture(autouse=True)
    def _every_level_logged(self) -> None:
        # A command run earlier in this process (any CLI test) may have configured logging at
        # `warning`, which filters `http_listening` out before capture_logs sees it.
        structlog.reset_defaults()

    def test_the_address_bound_is_logged(self, store: StateStore) -> None:
        m = Monitor(store, {}, listen=ListenAddress("127.0.0.1", 0))
        with capture_logs() as logs:
            m.start()
        m.stop()
        [event] = [e for e in logs if e["event"] == "http_listening"]
        assert event["address"] == str(m.bound) and m.bound is not None and m.bound.port > 0
        assert event["loopback"] is True and event["token_required_for"] == []

    def test_beyond_loopback_only_with_a_token(self, store: StateStore) -> None:
        m = Monitor(store, {}, listen=ListenAddress("0.0.0.0", 0), listen_from=("leadsync.yaml", 4))
        with pytest.raises(ConfigError) as caught:
            m.start()
        assert str(caught.value).startswith(
            "leadsync.yaml:4: listening on 0.0.0.0:0 serves the report and the metrics beyond this "
            "machine: set http.token_env (or http.token_file)"
        )
        m = Monitor(store, {}, listen=ListenAddress("0.0.0.0", 0), token=SecretStr("s3cret-token"))
        with capture_logs() as logs:
            m.start()
        m.stop()
        [event] = [e for e in logs if e["event"] == "http_listening"]
        assert event["loopback"] is False and event["token_required_for"] == ["/metrics"]
        assert "s3cret-token" not in repr(logs)

    def test_a_port_in_use_is_a_config_error_at_its_line(self, store: StateStore) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            m = Monitor(store, {}, listen=ListenAddress("127.0.0.1", port), listen_from=("leadsync.yaml", 4))
            with pytest.raises(ConfigError) as caught:
                m.start()
        assert str(caught.value) == (
            f"leadsync.yaml:4: cannot listen on 127.0.0.1:{port}: Address already in use; "
            "pick another address or port"
        )

    def test_stop_closes_the_port(self, store: StateStore) -> None:
        m = Monitor(store, {}, listen=ListenAddress("127.0.0.1", 0))
        m.start()
        assert m.bound is not None
        port = m.bound.port
        m.stop()
        with socket.socket() as again:
            again.bind(("127.0.0.1", port))  # free again


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-SECRET-123")
    fake_crm.REGISTRY["http"] = crm()
    (tmp_path / "rules.yaml").write_text(RULES.read_text())
    path = tmp_path / "leadsync.yaml"
    path.write_text(
        "state: sqlite:///state.db\n"
        "log: {level: warning, format: json}\n"
        "http:\n"
        "  listen: 127.0.0.1:9464\n"
        "connections:\n"
        "  - name: fake\n"
        "    adapter: tests.sync.fake_crm:from_options\n"
        "    rules: rules.yaml\n"
        "    token_env: LEADSYNC_TEST_TOKEN\n"
        "    options: {crm: http}\n"
    )
    yield path
    fake_crm.REGISTRY.pop("http", None)


class TestConfig:
    """`http: {listen: ...}` in the config file; `--http` on the command line overrides it."""

    def test_the_http_key(self, config: Path) -> None:
        settings = load_settings(config)
        assert settings.http is not None and settings.http.address == ListenAddress("127.0.0.1", 9464)
        assert settings.http.line == 4
        config.write_text(config.read_text().replace("http:\n  listen: 127.0.0.1:9464\n", "http: {}\n"))
        http = load_settings(config).http
        assert http is not None and http.address == ListenAddress("127.0.0.1", 9464)
        config.write_text(config.read_text().replace("http: {}\n", ""))
        assert load_settings(config).http is None  # off unless asked for

    def test_a_port_alone(self, config: Path) -> None:
        config.write_text(config.read_text().replace("listen: 127.0.0.1:9464", "listen: 9500"))
        http = load_settings(config).http
        assert http is not None and http.address == ListenAddress("127.0.0.1", 9500)

    def test_a_bad_address_at_its_line(self, config: Path) -> None:
        config.write_text(config.read_text().replace("listen: 127.0.0.1:9464", "listen: everywhere"))
        result = CliRunner().invoke(main, ["run", "--config", str(config)])
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.startswith(
            f"{config}:4: `everywhere` is not an address to listen on; write HOST:PORT"
        )

    def test_an_unknown_key_under_http(self, config: Path) -> None:
        config.write_text(config.read_text().replace("  listen:", "  port: 1\n  listen:"))
        result = CliRunner().invoke(main, ["run", "--config", str(config)])
        assert result.exit_code == 2 and f"{config}:4: unknown key `port` in `http`" in result.stderr

    def test_a_bad_http_option(self, config: Path) -> None:
        result = CliRunner().invoke(main, ["run", "--config", str(config), "--http", "9464:127.0.0.1"])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert result.stderr.startswith("--http:0: `9464:127.0.0.1` is not an address to listen on")

    @pytest.mark.parametrize("where", ["config", "option"])
    def test_a_port_in_use_exits_2_saying_where(self, config: Path, where: str) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            args = ["run", "--config", str(config)]
            if where == "config":
                config.write_text(config.read_text().replace("9464", str(port)))
            else:
                args += ["--http", f"127.0.0.1:{port}"]
            result = CliRunner().invoke(main, args)
        origin = f"{config}:4" if where == "config" else "--http:0"
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert result.stderr == (
            f"{origin}: cannot listen on 127.0.0.1:{port}: Address already in use; "
            "pick another address or port\n"
        )
        assert fake_crm.REGISTRY["http"].write_calls == 0  # nothing ran
