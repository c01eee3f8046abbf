"""deploy/docker/compose.yaml: valid against the Compose Specification's JSON schema, and leadsync
in it non-root, read-only, health-checked, on PostgreSQL 15 whose password is never written down.

The schema is the one check-jsonschema ships (vendor/compose-spec.json), read offline; no
`docker compose` runs here (no engine, no compose plugin).
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from leadsync.settings import load_settings
from tests.deploy.support import CONFIG_PATH, DEPLOY, PLAYBOOK, PORT, load_yaml

FOLDER = DEPLOY / "docker"
COMPOSE = FOLDER / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(load_yaml(COMPOSE))


@pytest.fixture(scope="module")
def leadsync(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"]["leadsync"])


def schema() -> dict[str, Any]:
    vendored = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return dict(json.loads(vendored.read_text(encoding="utf-8")))


class TestSchema:
    def test_the_file_is_valid_compose(self, compose: dict[str, Any]) -> None:
        jsonschema.Draft202012Validator(schema()).validate(compose)

    def test_the_schema_catches_a_mistake(self, compose: dict[str, Any]) -> None:
        """The check means something: a misspelled service key is refused."""
        broken = yaml.safe_load(COMPOSE.read_text())
        broken["services"]["leadsync"]["read-only"] = broken["services"]["leadsync"].pop("read_only")
        with pytest.raises(jsonschema.ValidationError, match="read-only"):
            jsonschema.Draft202012Validator(schema()).validate(broken)

    def test_every_file_it_names_is_here(self, compose: dict[str, Any]) -> None:
        for entry in compose["configs"].values():
            assert (FOLDER / entry["file"]).is_file(), entry
        build = compose["services"]["leadsync"]["build"]
        assert (FOLDER / build["context"] / build["dockerfile"]).resolve() == FOLDER / "Dockerfile"


class TestLeadsync:
    def test_it_runs_non_root_read_only_without_capabilities(self, leadsync: dict[str, Any]) -> None:
        assert leadsync["user"] == "10001:0"
        assert leadsync["read_only"] is True
        assert leadsync["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in leadsync["security_opt"]
        assert leadsync["tmpfs"] == ["/tmp"]

    def test_it_runs_the_daemon_with_metrics_and_checks_livez(self, leadsync: dict[str, Any]) -> None:
        assert leadsync["command"] == ["run", "--http", f"0.0.0.0:{PORT}"]  # the image's LEADSYNC_CONFIG
        assert leadsync["ports"] == [f"127.0.0.1:{PORT}:{PORT}"]
        test = leadsync["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"] and f"127.0.0.1:{PORT}/livez" in test[3]

    def test_it_waits_for_a_healthy_postgres_15(
        self, compose: dict[str, Any], leadsync: dict[str, Any]
    ) -> None:
        assert leadsync["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        postgres = compose["services"]["postgres"]
        assert postgres["image"].startswith("postgres:15")
        assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
        assert postgres["volumes"] == ["pgdata:/var/lib/postgresql/data"]
        assert set(compose["volumes"]) >= {"pgdata", "leadsync-home"}

    def test_passwords_and_tokens_are_never_written_down(self, compose: dict[str, Any]) -> None:
        """The password comes from .env (compose refuses to start without it); the token too."""
        for service in ("leadsync", "postgres"):
            env = compose["services"][service]["environment"]
            [password] = [v for k, v in env.items() if "PASSWORD" in k]
            assert re.fullmatch(r"\$\{LEADSYNC_DB_PASSWORD:\?[^}]+\}", password)
        assert compose["secrets"] == {
            "hubspot_token": {"environment": "HUBSPOT_TOKEN"},
            "http_token": {"environment": "LEADSYNC_HTTP_TOKEN"},
        }
        assert (FOLDER / ".gitignore").read_text().splitlines()[-1] == ".env"

    def test_the_token_reaches_the_config_as_a_file_only_leadsync_reads(
        self, leadsync: dict[str, Any]
    ) -> None:
        secret, http = leadsync["secrets"]
        for s in (secret, http):
            assert (s["uid"], s["gid"], s["mode"]) == ("10001", "0", 0o400)
        settings = load_settings(FOLDER / "leadsync.yaml")
        [conn] = settings.connections
        assert conn.token_file == Path(secret["target"])
        # `run --http 0.0.0.0:9464` needs the listener's token: the other secret, a file too
        assert settings.http is not None and settings.http.token_file == Path(http["target"])

    def test_the_config_and_rules_are_mounted_where_the_command_reads_them(
        self, compose: dict[str, Any], leadsync: dict[str, Any]
    ) -> None:
        mounted = {c["target"]: compose["configs"][c["source"]]["file"] for c in leadsync["configs"]}
        assert mounted == {CONFIG_PATH: "./leadsync.yaml", "/etc/leadsync/rules.yaml": "./rules.yaml"}
        assert (FOLDER / "rules.yaml").read_text() == PLAYBOOK.read_text()

    def test_prometheus_scrapes_leadsync(self, compose: dict[str, Any]) -> None:
        prometheus = compose["services"]["prometheus"]
        assert prometheus["profiles"] == ["monitoring"]
        scrape = load_yaml(FOLDER / "prometheus.yml")["scrape_configs"]
        assert scrape == [
            {
                "job_name": "leadsync",
                "metrics_path": "/metrics",
                "authorization": {"credentials_file": "/run/secrets/http_token"},
                "static_configs": [{"targets": [f"leadsync:{PORT}"]}],
            }
        ]
        [secret] = prometheus["secrets"]
        assert secret["source"] == "http_token" and secret["target"] == "/run/secrets/http_token"
        assert (secret["uid"], secret["mode"]) == (prometheus["user"].split(":")[0], 0o400)
