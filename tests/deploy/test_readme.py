"""README's "Run it as a service" matches the files: the paths it names exist, and the secrets it
creates are the ones the Deployment reads."""

from __future__ import annotations

import re

from tests.deploy.support import ROOT

README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## Run it as a service") : README.index("## Where the contract is silent")]


def test_one_sub_section_per_way_and_what_could_not_run() -> None:
    headings = re.findall(r"^### (.+)$", SECTION, re.MULTILINE)
    assert headings == [
        "systemd",
        "Docker and compose",
        "Kubernetes",
        "Two or more replicas",
        "What could not be run here",
    ]


def test_every_deploy_path_it_names_exists() -> None:
    paths = set(re.findall(r"deploy/[\w./-]*\w", SECTION)) - {"deploy/docker/.env"}  # .env: yours
    assert paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, missing


def test_it_creates_the_secrets_the_deployment_reads() -> None:
    assert "kubectl -n leadsync create secret generic leadsync-crm --from-file=hubspot-token=" in SECTION
    assert "kubectl -n leadsync create secret generic leadsync-database" in SECTION
    for variable in ("PGHOST", "PGDATABASE", "PGUSER", "PGPASSWORD"):
        assert f"--from-literal={variable}=" in SECTION


def test_the_layout_names_deploy() -> None:
    assert re.search(r"^deploy/ +systemd/", README, re.MULTILINE)
