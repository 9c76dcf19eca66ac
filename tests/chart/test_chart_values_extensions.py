"""The values users bring from other charts (cert-manager's, prometheus-community's) render as they expect;
the chart's metadata, README and NOTES say what the chart really does."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.chart.helm_runner import CHART, NAMESPACE, RELEASE, Helm, of_kind, one
from tests.chart.test_chart_pod_security import restricted_violations

FULLNAME = f"{RELEASE}-ssvm-operator"
OPENSHIFT = {
    "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
    "containerSecurityContext": {"runAsUser": None, "runAsGroup": None},
}


def pod(helm: Helm, values: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = one(helm.render(values), "Deployment")["spec"]["template"]["spec"]
    return spec


def test_openshift_restricted_v2_values_leave_the_ids_to_openshift_and_stay_restricted(helm: Helm) -> None:
    spec = pod(helm, OPENSHIFT)
    container = spec["containers"][0]
    for context in (spec["securityContext"], container["securityContext"]):
        assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(context), context
    assert restricted_violations(spec) == []
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_security_contexts_are_full_objects(helm: Helm) -> None:
    values = {
        "podSecurityContext": {"supplementalGroups": [4000], "fsGroupChangePolicy": "OnRootMismatch"},
        "containerSecurityContext": {"seLinuxOptions": {"level": "s0:c123,c456"}},
    }
    spec = pod(helm, values)
    assert spec["securityContext"]["supplementalGroups"] == [4000]
    assert spec["securityContext"]["runAsUser"] == 10001, "defaults stay unless overridden"
    assert spec["containers"][0]["securityContext"]["seLinuxOptions"] == {"level": "s0:c123,c456"}
    assert restricted_violations(spec) == []


def test_extra_env_with_value_from_extra_args_and_volumes(helm: Helm) -> None:
    proxy = {"name": "HTTPS_PROXY", "valueFrom": {"secretKeyRef": {"name": "egress", "key": "url"}}}
    values = {
        "operator": {
            "extraEnv": [proxy, {"name": "NO_PROXY", "value": ".cluster.local"}],
            "extraArgs": ["-v"],
        },
        "volumes": [{"name": "proxy-ca", "configMap": {"name": "proxy-ca"}}],
        "volumeMounts": [{"name": "proxy-ca", "mountPath": "/etc/proxy-ca", "readOnly": True}],
    }
    spec = pod(helm, values)
    container = spec["containers"][0]
    assert proxy in container["env"] and {"name": "NO_PROXY", "value": ".cluster.local"} in container["env"]
    assert container["args"][-1] == "-v"
    assert {"name": "proxy-ca", "configMap": {"name": "proxy-ca"}} in spec["volumes"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], "the chart's own mount stays"
    assert {"name": "proxy-ca", "mountPath": "/etc/proxy-ca", "readOnly": True} in container["volumeMounts"]


def test_deployment_annotations_and_common_labels(helm: Helm) -> None:
    values = {
        "deploymentAnnotations": {"reloader.stakater.com/auto": "true"},
        "commonLabels": {"team": "platform"},
        "metrics": {"serviceMonitor": {"enabled": True}},
    }
    manifests = helm.render(values)
    deployment = one(manifests, "Deployment")
    assert deployment["metadata"]["annotations"] == {"reloader.stakater.com/auto": "true"}
    assert "annotations" not in deployment["spec"]["template"]["metadata"]
    assert all(m["metadata"]["labels"]["team"] == "platform" for m in manifests), "every object"
    assert "team" not in deployment["spec"]["selector"]["matchLabels"], "selectors must not change"


def test_aggregated_roles_let_namespace_users_view_everything_and_edit_pools_only(helm: Helm) -> None:
    roles = {
        m["metadata"]["name"]: m
        for m in of_kind(helm.render(), "ClusterRole")
        if m["metadata"]["name"] != RELEASE
    }
    view = roles[f"{RELEASE}-ssvm-operator-view"]
    edit = roles[f"{RELEASE}-ssvm-operator-edit"]
    for aggregate in ("view", "edit", "admin"):
        assert view["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{aggregate}"] == "true"
    assert "rbac.authorization.k8s.io/aggregate-to-view" not in edit["metadata"]["labels"]
    assert view["rules"] == [
        {
            "apiGroups": ["ssvm.cloudstack.io"],
            "resources": ["cloudstackendpoints", "ssvmpools", "ssvmsettings"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    [rule] = edit["rules"]
    assert rule["resources"] == ["ssvmpools"], "endpoints and settings act on a whole CloudStack"
    assert "create" in rule["verbs"] and "delete" in rule["verbs"]
    off = of_kind(helm.render({"rbac": {"aggregateClusterRoles": False}}), "ClusterRole")
    assert [m["metadata"]["name"] for m in off] == [FULLNAME]


def test_chart_metadata_has_an_icon_and_names_the_default_image(helm: Helm) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["icon"].startswith("https://")
    [image] = yaml.safe_load(chart["annotations"]["artifacthub.io/images"])
    rendered = one(helm.render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image["image"] == rendered
    lint = helm.lint()
    assert "icon is recommended" not in lint.output


def test_readme_rbac_text_matches_the_rendered_rules(helm: Helm) -> None:
    readme = " ".join((CHART / "README.md").read_text().split())
    [role] = [m for m in of_kind(helm.render(), "ClusterRole") if m["metadata"]["name"] == FULLNAME]
    ours = next(r for r in role["rules"] if r["resources"][0] == "cloudstackendpoints")
    secrets = next(r for r in role["rules"] if r["resources"] == ["secrets"])
    assert f"our resources {'/'.join(ours['verbs'])}" in readme
    assert f"Secrets {'/'.join(secrets['verbs'])} by name" in readme


def notes(helm: Helm, *args: str) -> str:
    result = helm.run("install", RELEASE, str(CHART), "--dry-run=client", "-n", NAMESPACE, *args)
    assert result.returncode == 0, result.output
    return result.stdout.split("NOTES:", 1)[1]


def test_notes_name_no_file_the_chart_does_not_ship_and_their_pool_is_valid(helm: Helm) -> None:
    text = notes(helm)
    files = re.findall(r"kubectl apply -f (\S+)", text)
    assert files == ["-"], "the user has only the chart, not the repository"
    manifest = yaml.safe_load(re.search(r"<<EOF\n(.*?)\n\s*EOF", text, re.DOTALL)[1])  # type: ignore[index]
    assert manifest["kind"] == "SSVMPool" and manifest["spec"]["mode"] == "Observe"
    deployment = one(helm.render(), "Deployment")["metadata"]["name"]
    assert f"logs deploy/{deployment}" in text


def test_notes_warn_about_the_unpublished_default_image_only(helm: Helm) -> None:
    assert "WARNING: the image ssvm-operator:0.1.0" in notes(helm)
    published = notes(helm, "--set", "image.repository=registry.example.com/platform/ssvm-operator")
    assert "WARNING" not in published
