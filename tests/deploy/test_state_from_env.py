"""The deployments' configs as leadsync loads them: the state store from libpq's variables.

deploy/docker/leadsync.yaml and deploy/kubernetes/base/leadsync.yaml say `state: postgresql://`
and nothing more: compose's environment and the Kubernetes Secret give libpq the rest. Tested
against the local PostgreSQL, in a schema of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from leadsync.settings import load_settings
from tests.deploy.support import DEPLOY, PLAYBOOK

LEADSYNC = Path(sys.executable).with_name("leadsync")
PG = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGDATABASE": "test", "PGUSER": "postgres"}
CONFIGS = [DEPLOY / "docker" / "leadsync.yaml", DEPLOY / "kubernetes" / "base" / "leadsync.yaml"]


@pytest.fixture
def schema_env() -> Iterator[dict[str, str]]:
    """libpq's variables for the test database, in a schema of their own (PGOPTIONS)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield {**PG, "PGOPTIONS": f"-csearch_path={name}"}
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@pytest.mark.parametrize("config", CONFIGS, ids=["compose", "kubernetes"])
def test_state_postgresql_comes_from_libpqs_variables(
    config: Path, schema_env: dict[str, str], tmp_path: Path
) -> None:
    """`state: postgresql://` names no host, database, user or password: libpq takes them from
    PGHOST, PGDATABASE, PGUSER, PGPASSWORD (compose's environment, the Kubernetes Secret)."""
    assert load_settings(config).state == "postgresql://"
    here = tmp_path / "leadsync.yaml"
    here.write_text(config.read_text())
    (tmp_path / "rules.yaml").write_text(PLAYBOOK.read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run(
        [str(LEADSYNC), "status", "--config", str(here)],
        env={**env, **schema_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "== hubspot: 0 contacts known" in done.stdout
    check = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with check.connect() as conn:
        tables = conn.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema_env["PGOPTIONS"].split("=")[1]},
        ).scalar_one()
    check.dispose()
    assert tables > 0  # migrated there, in the schema PGOPTIONS chose
