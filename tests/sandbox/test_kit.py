"""The sandboxes' kit on its own: routes, the request pipeline, the ``/__sandbox`` back door, reset
and the demo wiring, driven through a toy CRM sandbox that knows nothing of the three real ones
(127.0.0.1 only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadsync.sandboxes.kit.clock import SandboxClock
from leadsync.sandboxes.kit.demo import Demo, demo_entry_point
from leadsync.sandboxes.kit.faults import FaultInjector, Faults
from leadsync.sandboxes.kit.pipeline import ApiApp, Found
from leadsync.sandboxes.kit.routing import Call, Paths, Reply, Routes, no_content, parse_json
from leadsync.sandboxes.kit.sandbox import Sandbox
from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.kit.stats import Stats
from leadsync.sandboxes.kit.windows import RollingTotal

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class ToyError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status, self.code = status, code


@dataclass
class ToyLimits:
    per_day: int = 3


PATHS = Paths(parts={"id": r"\d+"}, shown={"version": "N"}, filled=("kind",))


def _get(call: Call[Any]) -> Reply:
    if call.params["id"] == "0":
        raise ToyError(404, "NO_SUCH_THING")
    if call.params["id"] == "13":
        raise RuntimeError("unlucky")
    return 200, {"id": call.params["id"], "kind": call.params["kind"], "q": call.arg("q")}


ROUTES: Routes[Call[Any]] = Routes(
    [
        PATHS.route("GET", "/v{version}/{kind}/{id}", _get),
        PATHS.route("DELETE", "/v{version}/{kind}/{id}", lambda call: no_content()),
    ]
)


@dataclass(kw_only=True)
class ToyApp(ApiApp[Call[Any]]):
    limits: ToyLimits
    used: int = 0
    server_name = "Toy/1"
    error = ToyError

    def serve(
        self, request: Request, path: str, found: Found[Call[Any]], endpoint: str, headers: dict[str, str]
    ) -> Reply:
        self.inject(self.faults.plan(endpoint))
        if found is None:
            raise ToyError(405 if self.routes.methods(path) else 404, "NO_ROUTE")
        if self.used >= self.limits.per_day:
            raise ToyError(429, "SLOW_DOWN")
        self.used += 1
        headers["X-Used"] = str(self.used)
        return found[0].handler(Call(self, request, found[1]))

    def refusal(self, exc: ToyError) -> Response:
        return Response.json(exc.status, {"error": exc.code}, {"X-Refused": "1"})

    def internal_error(self, message: str) -> ToyError:
        return ToyError(500, message)

    def storm_error(self) -> ToyError:
        return ToyError(429, "STORM")

    def server_error(self, status: int) -> ToyError:
        return ToyError(status, "DOWN")


class ToySandbox(Sandbox[ToyApp, ToyLimits]):
    CONTROLS = frozenset({"advance"})

    def __init__(self, *, seed: int = 1, limits: ToyLimits | None = None, faults: Faults | None = None):
        self.clock = SandboxClock(NOW)
        self.host, self.port = "127.0.0.1", 0
        self.started_with({"seed": seed}, limits or ToyLimits(), faults)
        self.app = ToyApp(
            limits=replace(self._defaults[0]),
            faults=FaultInjector(self._defaults[1]),
            stats=Stats(),
            backdoor=self,
            routes=ROUTES,
        )
        self.seed(**self._seed_args)

    def seed(self, seed: int = 1) -> None:
        self.data = f"seeded with {seed}"

    def set_limits(self, **changes: Any) -> ToyLimits:
        self.app.limits = replace(self.app.limits, **changes)
        return self.app.limits

    def restore_limits(self, limits: ToyLimits) -> None:
        self.app.limits, self.app.used = replace(limits), 0

    def advance(self, seconds: float) -> datetime:
        return self.clock.advance(seconds)


def http(sb: ToySandbox, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sb.url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


@pytest.fixture
def toy() -> Any:
    with ToySandbox(seed=3) as sb:
        yield sb


class TestRoutes:
    def test_templates_match_parts_and_name_endpoints(self) -> None:
        found = ROUTES.match("GET", "/v2.0/widgets/42/")
        assert found is not None
        r, params = found
        assert params == {"version": "2.0", "kind": "widgets", "id": "42"}
        assert r.endpoint(params) == "GET /vN/widgets/{id}"  # the kind filled, the id kept templated
        assert ROUTES.match("GET", "/v2.0/widgets/forty-two") is None  # {id} is digits here
        assert ROUTES.methods("/v2.0/widgets/42") == ["DELETE", "GET"]

    def test_without_trailing_slash_and_with_regex_characters(self) -> None:
        strict = Paths(trailing_slash=False)
        r = strict.route("GET", "/a.b/{x}", _get)
        assert r.pattern.match("/a.b/1") and not r.pattern.match("/a.b/1/") and not r.pattern.match("/axb/1")

    def test_json_bodies(self) -> None:
        def bad(exc: ValueError) -> ToyError:
            return ToyError(400, "BAD_JSON")

        assert parse_json(b"", bad) is None and parse_json(b"  ", bad) is None
        assert parse_json(b'{"a": 1}', bad) == {"a": 1}
        with pytest.raises(ToyError):
            parse_json(b"{", bad)
        with pytest.raises(ToyError):  # white space is not JSON unless blank_is_none
            parse_json(b"  ", bad, blank_is_none=False)


class TestPipeline:
    def test_answers_refusals_and_bugs_counted_with_the_pipelines_headers(self, toy: ToySandbox) -> None:
        status, headers, body = http(toy, "GET", "/v1.0/widgets/7?q=x")
        assert status == 200 and body == {"id": "7", "kind": "widgets", "q": "x"}
        assert headers["X-Used"] == "1" and headers["Server"].startswith("Toy/1")
        status, headers, body = http(toy, "GET", "/v1.0/widgets/0")
        assert (status, body) == (404, {"error": "NO_SUCH_THING"})
        assert headers["X-Refused"] == "1" and headers["X-Used"] == "2"  # refusals carry them too
        status, _, body = http(toy, "GET", "/v1.0/widgets/13")
        assert status == 500 and "sandbox error: RuntimeError('unlucky')" in body["error"]
        assert http(toy, "GET", "/v1.0/widgets/1")[0] == 429
        assert http(toy, "PUT", "/v1.0/widgets/1")[2] == {"error": "NO_ROUTE"}
        stats = toy.stats()
        assert stats["by_endpoint"] == {"GET /vN/widgets/{id}": 4, "PUT /v1.0/widgets/1": 1}
        assert stats["by_status"] == {"200": 1, "404": 1, "500": 1, "429": 1, "405": 1}
        assert stats["requests"] == 5

    def test_injected_faults(self, toy: ToySandbox) -> None:
        toy.set_faults(storm=1, fail_next=1, error_statuses=[503])
        assert http(toy, "GET", "/v1.0/widgets/1")[2] == {"error": "STORM"}
        assert http(toy, "GET", "/v1.0/widgets/1")[0] == 503
        toy.set_faults(drop_next=1)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            http(toy, "GET", "/v1.0/widgets/1")
        assert toy.stats()["faults"] == {"storm": 1, "5xx": 1, "dropped": 1}


class TestBackDoor:
    def test_stats_faults_limits_and_methods_over_http(self, toy: ToySandbox) -> None:
        http(toy, "GET", "/v1.0/widgets/1")
        assert http(toy, "GET", "/__sandbox/stats")[2]["requests"] == 1
        assert http(toy, "POST", "/__sandbox/stats/reset", {})[2]["requests"] == 0
        assert http(toy, "POST", "/__sandbox/faults", {"latency_ms": 5})[2]["latency_ms"] == 5
        assert http(toy, "GET", "/__sandbox/faults")[2]["latency_ms"] == 5
        assert http(toy, "POST", "/__sandbox/limits", {"per_day": 9})[2] == {"per_day": 9}
        moved = http(toy, "POST", "/__sandbox/advance", {"seconds": 60})[2]["result"]
        assert datetime.fromisoformat(moved) >= NOW + timedelta(seconds=60)
        assert toy.stats()["requests"] == 0  # the back door is not counted

    def test_bad_arguments_and_unknown_endpoints(self, toy: ToySandbox) -> None:
        status, _, body = http(toy, "POST", "/__sandbox/faults", {"nope": 1})
        assert status == 400 and body["error"].startswith("ValueError: unknown fault settings")
        status, _, body = http(toy, "POST", "/__sandbox/faults", {"match": "("})
        assert status == 400 and body["error"].startswith("error:")  # a bad regex
        status, _, body = http(toy, "GET", "/__sandbox/credentials")  # the toy has none
        assert status == 404 and body["methods"] == ["advance"]

    def test_reset_brings_back_the_seed_limits_and_no_faults(self, toy: ToySandbox) -> None:
        toy.set_limits(per_day=1)
        toy.set_faults(latency_ms=5)
        http(toy, "GET", "/v1.0/widgets/1")
        status, _, body = http(toy, "POST", "/__sandbox/reset", {"seed": 4})
        assert (status, body) == (200, {"status": "reset"})
        assert toy.data == "seeded with 4" and toy.app.limits == ToyLimits() and toy.app.used == 0
        assert toy.app.faults.faults == Faults() and toy.stats()["requests"] == 0


def test_demo_entry_point_runs_the_sandbox_while_open() -> None:
    def wiring(sb: ToySandbox, contacts: int) -> Demo:
        return {"adapter": "toy", "options": {"url": sb.url}, "describe": f"{contacts} toys", "owners": []}

    demo = demo_entry_point(lambda contacts, seed: ToySandbox(seed=seed), wiring)
    with demo(contacts=5, seed=2) as portal:
        assert list(portal) == ["adapter", "options", "describe", "owners", "sandbox"]
        sb = portal["sandbox"]
        assert sb.data == "seeded with 2" and http(sb, "GET", "/v1.0/widgets/1")[0] == 200
    with pytest.raises(urllib.error.URLError):
        http(sb, "GET", "/v1.0/widgets/1")


def test_rolling_total_forgets_what_is_a_day_old() -> None:
    window = RollingTotal()
    window.add(NOW, 2)
    window.add(NOW, 1)
    window.add(NOW + timedelta(hours=12))
    assert window.used(NOW + timedelta(hours=23)) == 4
    assert window.used(NOW + timedelta(hours=24)) == 1
    window.reset(NOW, used=5)
    assert window.used(NOW) == 5
