"""helm lint and helm template of the chart: value combinations render, invalid values are refused."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.chart_scenarios import SCENARIOS
from tests.chart.helm_runner import CHART, NAMESPACE, RELEASE, Helm, Manifest, of_kind, one


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_lint_strict_passes(helm: Helm, scenario: str) -> None:
    result = helm.lint(SCENARIOS[scenario])
    assert result.returncode == 0, result.output
    assert "0 chart(s) failed" in result.output


@pytest.mark.parametrize("kube_version", ["1.29.0", "1.37.0"])
def test_renders_for_supported_kubernetes_versions(helm: Helm, kube_version: str) -> None:
    result = helm.template({}, "--kube-version", kube_version)
    assert result.returncode == 0, result.output


def test_refuses_kubernetes_older_than_1_29(helm: Helm) -> None:
    result = helm.template({}, "--kube-version", "1.28.0")
    assert result.returncode != 0
    assert "chart requires kubeVersion: >=1.29.0-0" in result.output


def test_defaults_run_one_standalone_operator_with_recreate(helm: Helm) -> None:
    manifests = helm.render()
    deployment = one(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    args = _container(deployment)["args"]
    assert args == [
        "--liveness=http://0.0.0.0:8080/healthz",
        "--metrics-port=9090",
        "--log-level=INFO",
        "--log-format=json",
    ]
    assert not any(arg.startswith(("--peering", "--namespace")) for arg in args)
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == sorted(
        ["ServiceAccount", "ClusterRoleBinding", "Service", "Deployment"]
        + ["ClusterRole"] * 3  # the operator's, and the view and edit roles aggregated for people
        + ["CustomResourceDefinition"] * 3
    )


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_ssvm_operator_run_accepts_the_rendered_arguments(
    helm: Helm, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image's entrypoint is `ssvm-operator run`; every argument the chart adds must parse."""
    from ssvm_operator import cli

    parsed: list[Any] = []
    monkeypatch.setattr(cli, "_run", lambda args: parsed.append(args) or 0)
    for deployment in of_kind(helm.render(SCENARIOS[scenario]), "Deployment"):
        args = _container(deployment)["args"]
        parsed.clear()
        assert cli.main(["run", *args]) == 0
        (options,) = parsed
        values = SCENARIOS[scenario]
        assert options.namespace == values.get("watchNamespaces", [])
        assert (options.peering is not None) == values.get("peering", {}).get("enabled", False)
        if options.peering is None:
            assert options.priority == 0, "standalone: no --priority"


def test_image_defaults_to_app_version_and_digest_wins(helm: Helm) -> None:
    assert _container(one(helm.render(), "Deployment"))["image"] == "ssvm-operator:0.1.0"
    pinned = one(helm.render(SCENARIOS["scheduling"]), "Deployment")
    assert _container(pinned)["image"] == "ssvm-operator@sha256:" + "a" * 64


def test_watch_namespaces_pass_one_flag_each(helm: Helm) -> None:
    args = _container(one(helm.render(SCENARIOS["namespaced"]), "Deployment"))["args"]
    assert [a for a in args if a.startswith("--namespace")] == ["--namespace=team-a", "--namespace=team-b"]


def test_peering_gives_each_standby_its_own_deployment_and_priority(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["peering-clusterwide"])
    deployments = of_kind(manifests, "Deployment")
    assert [d["metadata"]["name"] for d in deployments] == [
        f"{RELEASE}-ssvm-operator",
        f"{RELEASE}-ssvm-operator-standby-1",
        f"{RELEASE}-ssvm-operator-standby-2",
    ]
    priorities = []
    for deployment in deployments:
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        args = _container(deployment)["args"]
        assert "--peering=ssvm-operator" in args
        priorities += [int(a.split("=")[1]) for a in args if a.startswith("--priority=")]
    assert priorities == [100, 99, 98], "kopf freezes every operator of equal priority"
    selectors = [tuple(sorted(d["spec"]["selector"]["matchLabels"].items())) for d in deployments]
    assert len(set(selectors)) == 3, "Deployments must not select each other's pods"

    peering = one(manifests, "ClusterKopfPeering")
    assert peering["metadata"]["name"] == "ssvm-operator"
    assert peering["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    crds = {m["metadata"]["name"] for m in of_kind(manifests, "CustomResourceDefinition")}
    assert {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"} <= crds


def test_namespaced_peering_creates_a_kopfpeering_per_namespace(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["peering-namespaced"])
    peerings = of_kind(manifests, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["team-a", "team-b"]
    assert not of_kind(manifests, "ClusterKopfPeering")
    crds = {m["metadata"]["name"] for m in of_kind(manifests, "CustomResourceDefinition")}
    assert "kopfpeerings.kopf.dev" not in crds, "peering.installCRDs=false"


def test_pod_id_is_the_pod_name(helm: Helm) -> None:
    env = {e["name"]: e for e in _container(one(helm.render(), "Deployment"))["env"]}
    assert env["POD_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["SSVM_OPERATOR_TICK_SECONDS"]["value"] == "10"


def test_liveness_probe_targets_kopf_healthz(helm: Helm) -> None:
    container = _container(one(helm.render(), "Deployment"))
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"healthz": 8080, "metrics": 9090}


def test_minimal_install_renders_no_probe_metrics_or_rbac(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["minimal"])
    assert sorted(m["kind"] for m in manifests) == ["CustomResourceDefinition"] * 3 + ["Deployment"]
    deployment = one(manifests, "Deployment")
    container = _container(deployment)
    assert "livenessProbe" not in container and "ports" not in container
    assert container["args"] == ["--log-level=INFO", "--log-format=json"]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "existing"


def test_service_monitor_and_pdb(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["monitoring"])
    monitor = one(manifests, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = one(manifests, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    pdb = one(manifests, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    assert not of_kind(helm.render(), "PodDisruptionBudget"), "a PDB is off by default: it would block drains"


def test_service_selects_the_operator_pods(helm: Helm) -> None:
    manifests = helm.render()
    selector = one(manifests, "Service")["spec"]["selector"]
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


def test_network_policy_allows_only_cloudstack_apiserver_and_dns_egress(helm: Helm) -> None:
    policy = one(helm.render(SCENARIOS["network-policy"]), "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    egress = policy["spec"]["egress"]
    assert egress[0] == {
        "to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 8080, "protocol": "TCP"}],
    }
    assert egress[1] == {
        "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
    }
    assert {p["port"] for p in egress[2]["ports"]} == {53}
    assert len(egress) == 3
    ingress = policy["spec"]["ingress"]
    assert ingress == [
        {
            "ports": [{"port": 9090, "protocol": "TCP"}, {"port": 8080, "protocol": "TCP"}],
            "from": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
        }
    ]


def test_crds_disabled_renders_no_crd(helm: Helm) -> None:
    assert not of_kind(helm.render(SCENARIOS["crds-disabled"]), "CustomResourceDefinition")


def test_crds_are_kept_on_uninstall_unless_told(helm: Helm) -> None:
    for crd in of_kind(helm.render(), "CustomResourceDefinition"):
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    for crd in of_kind(helm.render(SCENARIOS["crds-not-kept"]), "CustomResourceDefinition"):
        assert "annotations" not in crd["metadata"]


def test_endpoint_with_existing_secret_creates_no_secret(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["endpoint-existing-secret"])
    assert not of_kind(manifests, "Secret")
    endpoint = one(manifests, "CloudStackEndpoint")
    assert endpoint["metadata"]["namespace"] == NAMESPACE
    assert endpoint["metadata"]["name"] == "region-1"
    assert endpoint["spec"]["credentialsSecretRef"] == {
        "name": "cloudstack-credentials",
        "apiKeyKey": "apiKey",
        "secretKeyKey": "secretKey",
    }
    # Created once after the CRDs exist; an upgrade must not delete and recreate it.
    assert endpoint["metadata"]["annotations"] == {"helm.sh/hook": "post-install"}


def test_endpoint_with_inline_credentials_creates_its_secret(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["endpoint-inline-credentials"])
    secret = one(manifests, "Secret")
    endpoint = one(manifests, "CloudStackEndpoint")
    assert secret["metadata"]["namespace"] == endpoint["metadata"]["namespace"] == "cloudstack"
    assert endpoint["spec"]["credentialsSecretRef"]["name"] == secret["metadata"]["name"]
    assert set(secret["data"]) == {"apiKey", "secretKey"}
    assert endpoint["spec"]["caSecretRef"] == {"name": "cloudstack-ca", "key": "ca.crt"}


def test_install_guide_values_pass_lint(helm: Helm) -> None:
    """The values file docs/install.md shows is one the chart accepts."""
    guide = (CHART.parent.parent / "docs" / "install.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", guide, re.DOTALL)
    assert blocks
    for block in blocks:
        values = yaml.safe_load(block)
        result = helm.lint(values)
        assert result.returncode == 0, f"{block}\n{result.output}"


def test_notes_render(helm: Helm) -> None:
    result = helm.run("install", RELEASE, str(CHART), "--dry-run=client", "-n", NAMESPACE)
    assert result.returncode == 0, result.output
    assert "It watches every namespace of the cluster." in result.stdout


# --- refused values: the schema first, then the template's own checks -------------------------------

SCHEMA_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"replicas": 3}, "additional properties 'replicas' not allowed"),
    ({"image": {"tag": "1", "registry": "x"}}, "additional properties 'registry' not allowed"),
    ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ({"metrics": {"port": "9090"}}, "/metrics/port"),
    ({"metrics": {"port": 70000}}, "/metrics/port"),
    ({"operator": {"logLevel": "trace"}}, "/operator/logLevel"),
    ({"operator": {"logFormat": "xml"}}, "/operator/logFormat"),
    ({"strategy": {"type": "RollingUpdate"}}, "/strategy/type"),
    ({"peering": {"enabled": "yes"}}, "/peering/enabled"),
    ({"peering": {"standbyReplicas": 9}}, "/peering/standbyReplicas"),
    ({"watchNamespaces": ["Team_A"]}, "/watchNamespaces/0"),
    ({"watchNamespaces": "team-a"}, "/watchNamespaces"),
    ({"podSecurityContext": {"runAsUser": 0}}, "/podSecurityContext"),
    ({"containerSecurityContext": {"privileged": "no"}}, "/containerSecurityContext"),
    ({"operator": {"extraEnv": [{"name": "A", "valueFrom": {"secretKeyRef": {"nam": "x"}}}]}}, "nam"),
    ({"crds": {"enabled": True, "keepp": True}}, "additional properties 'keepp' not allowed"),
    ({"endpoint": {"url": "ftp://cloud"}}, "/endpoint/url"),
    ({"networkPolicy": {"cloudstack": {"cidrs": ["10.0.0.1"]}}}, "/networkPolicy/cloudstack/cidrs/0"),
    ({"affinity": {"nodeAffinity": {"bogus": 1}}}, "additional properties 'bogus' not allowed"),
    ({"tolerations": [{"key": "a", "effekt": "NoSchedule"}]}, "additional properties 'effekt' not allowed"),
    ({"resources": {"limits": {"memory": []}}}, "/resources/limits/memory"),
    ({"metrics": {"serviceMonitor": {"interval": "often"}}}, "/metrics/serviceMonitor/interval"),
]


@pytest.mark.parametrize(("values", "message"), SCHEMA_REFUSALS, ids=[m for _, m in SCHEMA_REFUSALS])
def test_schema_refuses_invalid_values(helm: Helm, values: dict[str, Any], message: str) -> None:
    for result in (helm.lint(values), helm.template(values)):
        assert result.returncode == 1, result.output
        assert "values don't meet the specifications of the schema" in result.output
        assert message in result.output


TEMPLATE_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"peering": {"standbyReplicas": 1}}, "peering.standbyReplicas needs peering.enabled=true"),
    ({"endpoint": {"create": True, "existingSecret": "s"}}, "endpoint.create=true needs endpoint.url"),
    (
        {"endpoint": {"create": True, "url": "https://c/client/api", "credentials": {"apiKey": "k"}}},
        "needs endpoint.existingSecret (recommended) or both",
    ),
    (
        {
            "watchNamespaces": ["a"],
            "endpoint": {
                "create": True,
                "url": "https://c/client/api",
                "existingSecret": "s",
                "namespace": "b",
            },
        },
        'endpoint.namespace "b" is not in watchNamespaces',
    ),
    ({"networkPolicy": {"enabled": True}}, "needs networkPolicy.kubernetesAPI.cidrs"),
    (
        {"networkPolicy": {"enabled": True, "kubernetesAPI": {"cidrs": ["10.0.0.1/32"]}}},
        "needs networkPolicy.cloudstack.cidrs",
    ),
    ({"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}}, "needs metrics.enabled=true"),
    ({"podDisruptionBudget": {"enabled": True, "maxUnavailable": 1}}, "set minAvailable or maxUnavailable"),
    ({"metrics": {"port": 8080}}, "metrics.port and livenessProbe.port are both 8080"),
]


@pytest.mark.parametrize(("values", "message"), TEMPLATE_REFUSALS, ids=[m for _, m in TEMPLATE_REFUSALS])
def test_template_refuses_inconsistent_values(helm: Helm, values: dict[str, Any], message: str) -> None:
    result = helm.template(values)
    assert result.returncode == 1, result.output
    assert message in result.output


def _container(deployment: Manifest) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_package_holds_the_chart_without_its_generator(helm: Helm, tmp_path: Path) -> None:
    result = helm.run("package", str(CHART), "--destination", str(tmp_path))
    assert result.returncode == 0, result.output
    (archive,) = tmp_path.glob("ssvm-operator-*.tgz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "ssvm-operator/values.schema.json" in names
    assert "ssvm-operator/templates/crds/ssvm.cloudstack.io_ssvmpools.yaml" in names
    assert not [name for name in names if "/hack/" in name]
