"""deploy/kubernetes: the kustomizations build (kubectl kustomize, offline), every resource is
valid against Kubernetes' own schemas (kubernetes-validate, strict), and the pieces fit: probes
on the metrics port, secrets by reference, the ServiceMonitor selecting the Service.

No cluster is contacted. The ServiceMonitor is a custom resource: its fields are checked against
the part of the Prometheus Operator's monitoring.coreos.com/v1 API it uses (SERVICE_MONITOR).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from leadsync.settings import load_settings
from tests.deploy.support import CONFIG_PATH, DEPLOY, PLAYBOOK, PORT, kustomize, only

BASE = DEPLOY / "kubernetes" / "base"
OPERATOR = DEPLOY / "kubernetes" / "prometheus-operator"
# Kubernetes releases still in use; kubernetes-validate ships the schemas of each.
VERSIONS = ["1.27.0", "1.30.0", "1.33.0", kubernetes_validate.latest_version()]
# Prometheus' duration format, as the operator's CRD requires it of interval and scrapeTimeout.
DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": LABELS},
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchLabels": LABELS},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": DURATION,
                            "scrapeTimeout": DURATION,
                            "authorization": {
                                "type": "object",
                                "required": ["credentials"],
                                "additionalProperties": False,
                                "properties": {
                                    "type": {"type": "string"},
                                    "credentials": {
                                        "type": "object",
                                        "required": ["name", "key"],
                                        "additionalProperties": False,
                                        "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize(BASE)


@pytest.fixture(scope="module")
def operator() -> list[dict[str, Any]]:
    return kustomize(OPERATOR)


@pytest.fixture(scope="module")
def pod(base: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(only(base, "Deployment")["spec"]["template"])


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    [main] = pod["spec"]["containers"]
    return dict(main)


class TestSchemas:
    @pytest.mark.parametrize("version", VERSIONS)
    def test_every_resource_is_valid_kubernetes(self, operator: list[dict[str, Any]], version: str) -> None:
        for resource in operator:
            if resource["kind"] == "ServiceMonitor":
                continue
            kubernetes_validate.validate(resource, version, strict=True)

    def test_a_misspelled_field_is_refused(self, base: list[dict[str, Any]]) -> None:
        """Strict: an unknown field fails, so a typo in a probe cannot pass unseen."""
        deployment = yaml.safe_load(yaml.safe_dump(only(base, "Deployment")))
        deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
        with pytest.raises(kubernetes_validate.ValidationError, match="livenessprobe"):
            kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)

    def test_the_service_monitor_has_the_operators_fields(self, operator: list[dict[str, Any]]) -> None:
        monitor = only(operator, "ServiceMonitor")
        jsonschema.Draft202012Validator(SERVICE_MONITOR).validate(monitor)
        bad = {**monitor, "spec": {**monitor["spec"], "endpoints": [{"port": "metrics", "interval": "30 s"}]}}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(SERVICE_MONITOR).validate(bad)

    def test_the_base_holds_no_secret_and_no_custom_resource(self, base: list[dict[str, Any]]) -> None:
        kinds = sorted(r["kind"] for r in base)
        assert kinds == [
            "ConfigMap",
            "Deployment",
            "Namespace",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]


class TestDeployment:
    def test_two_replicas_that_roll_one_at_a_time(self, base: list[dict[str, Any]]) -> None:
        spec = only(base, "Deployment")["spec"]
        assert spec["replicas"] == 2
        assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}

    def test_the_daemon_serves_metrics_on_9464(self, container: dict[str, Any]) -> None:
        assert container["args"] == ["run", "--http", f"0.0.0.0:{PORT}"]  # the image's LEADSYNC_CONFIG
        assert container["ports"] == [{"name": "metrics", "containerPort": PORT, "protocol": "TCP"}]

    def test_liveness_on_livez_and_readiness_on_readyz(self, container: dict[str, Any]) -> None:
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
        assert container["startupProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}

    def test_the_pod_is_restricted(self, pod: dict[str, Any], container: dict[str, Any]) -> None:
        context = pod["spec"]["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] >= 1000
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert pod["spec"]["automountServiceAccountToken"] is False

    def test_writable_places_are_empty_dirs(self, pod: dict[str, Any], container: dict[str, Any]) -> None:
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        writable = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
        assert sorted(writable) == ["/tmp", "/var/lib/leadsync"]
        for mount in container["volumeMounts"]:
            if not mount.get("readOnly"):
                assert "emptyDir" in volumes[mount["name"]]

    def test_it_asks_for_resources_and_bounds_memory(self, container: dict[str, Any]) -> None:
        assert set(container["resources"]["requests"]) == {"cpu", "memory"}
        assert container["resources"]["limits"]["memory"] == "512Mi"

    def test_prometheus_annotations_name_the_metrics_port(self, pod: dict[str, Any]) -> None:
        notes = pod["metadata"]["annotations"]
        assert notes == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(PORT),
            "prometheus.io/path": "/metrics",
        }

    def test_secrets_are_referenced_never_written(
        self, pod: dict[str, Any], container: dict[str, Any]
    ) -> None:
        assert container["envFrom"] == [{"secretRef": {"name": "leadsync-database"}}]
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["crm-tokens"]["secret"] == {"secretName": "leadsync-crm", "defaultMode": 0o440}
        # fsGroup makes the 0440 token files readable by the pod's user.
        assert pod["spec"]["securityContext"]["fsGroup"] == pod["spec"]["securityContext"]["runAsGroup"]


class TestConfig:
    def test_the_configmap_holds_the_config_and_the_rules(
        self, base: list[dict[str, Any]], pod: dict[str, Any]
    ) -> None:
        config = only(base, "ConfigMap")
        assert set(config["data"]) == {"leadsync.yaml", "rules.yaml"}
        assert config["data"]["rules.yaml"] == PLAYBOOK.read_text()
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["config"]["configMap"]["name"] == config["metadata"]["name"]

    def test_the_config_reads_the_mounted_token(
        self, base: list[dict[str, Any]], container: dict[str, Any], tmp_path: Path
    ) -> None:
        data = only(base, "ConfigMap")["data"]
        for name, content in data.items():
            (tmp_path / name).write_text(content)
        settings = load_settings(tmp_path / "leadsync.yaml")
        [conn] = settings.connections
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["config"] == str(Path(CONFIG_PATH).parent)
        assert conn.token_file is not None and conn.token_file.parent == Path(mounts["crm-tokens"])
        assert conn.token_file.name == "hubspot-token"  # the key README's `kubectl create secret` gives
        # `--http 0.0.0.0:9464` needs the listener's token: the same Secret's key http-token
        http = settings.http
        assert http is not None and http.token_file == Path(mounts["crm-tokens"]) / "http-token"

    def test_an_edit_of_the_rules_renames_the_configmap_so_pods_roll(
        self, base: list[dict[str, Any]], tmp_path: Path
    ) -> None:
        copy = tmp_path / "base"
        shutil.copytree(BASE, copy)
        (copy / "rules.yaml").write_text(
            PLAYBOOK.read_text().replace("score_at_least: 70", "score_at_least: 60")
        )
        edited = kustomize(copy)
        before, after = (
            only(base, "ConfigMap")["metadata"]["name"],
            only(edited, "ConfigMap")["metadata"]["name"],
        )
        assert (
            before != after and before.startswith("leadsync-config-") and after.startswith("leadsync-config-")
        )
        volumes = only(edited, "Deployment")["spec"]["template"]["spec"]["volumes"]
        assert {"name": "config", "configMap": {"name": after}} in volumes


class TestMetricsPath:
    def test_the_service_selects_the_pods_metrics_port(
        self, base: list[dict[str, Any]], pod: dict[str, Any]
    ) -> None:
        service = only(base, "Service")["spec"]
        assert service["selector"].items() <= pod["metadata"]["labels"].items()
        assert service["ports"] == [
            {"name": "metrics", "port": PORT, "targetPort": "metrics", "protocol": "TCP"}
        ]

    def test_the_service_monitor_selects_the_service(self, operator: list[dict[str, Any]]) -> None:
        monitor, service = only(operator, "ServiceMonitor"), only(operator, "Service")
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"] == "leadsync"
        [endpoint] = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"
        # /metrics beyond loopback needs the config's http token: the file the pod mounts from that key
        credentials = endpoint["authorization"]["credentials"]
        assert credentials == {"name": "leadsync-crm", "key": "http-token"}
        assert _seconds(endpoint["scrapeTimeout"]) < _seconds(endpoint["interval"])

    def test_a_drain_keeps_one_replica(self, base: list[dict[str, Any]], pod: dict[str, Any]) -> None:
        budget = only(base, "PodDisruptionBudget")["spec"]
        assert budget["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        assert budget["minAvailable"] == 1 < only(base, "Deployment")["spec"]["replicas"]


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return int(match.group(1))
