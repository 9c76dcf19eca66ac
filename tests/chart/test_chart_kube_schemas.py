"""Every rendered built-in manifest validates strictly against Kubernetes 1.29 to the newest schemas."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
from kubernetes_validate.utils import SchemaNotFoundError

from tests.chart.chart_scenarios import SCENARIOS
from tests.chart.helm_runner import Helm

OLDEST_SUPPORTED = (1, 29)

# Custom resources kubernetes-validate has no schema for; ours are checked in test_chart_crds.py.
CUSTOM_KINDS = {
    ("ssvm.cloudstack.io/v1alpha1", "CloudStackEndpoint"),
    ("kopf.dev/v1", "ClusterKopfPeering"),
    ("kopf.dev/v1", "KopfPeering"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}


def kubernetes_versions() -> list[str]:
    newest = tuple(int(part) for part in kubernetes_validate.latest_version().split(".")[:2])
    assert newest >= OLDEST_SUPPORTED
    return [f"1.{minor}.0" for minor in range(OLDEST_SUPPORTED[1], newest[1] + 1)]


@pytest.mark.parametrize("version", kubernetes_versions())
def test_rendered_manifests_validate_strictly(helm: Helm, version: str) -> None:
    failures = []
    seen: set[str] = set()
    for scenario, values in sorted(SCENARIOS.items()):
        for manifest in helm.render(values):
            identity = json.dumps(manifest, sort_keys=True)
            if identity in seen:  # the same CRDs and ServiceAccount in most scenarios: check once
                continue
            seen.add(identity)
            kind = (manifest["apiVersion"], manifest["kind"])
            name = f"{scenario}: {manifest['kind']}/{manifest['metadata']['name']}"
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except SchemaNotFoundError:
                assert kind in CUSTOM_KINDS, f"{name}: no Kubernetes {version} schema for {kind}"
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                failures.append(f"{name}: {path}: {error.message}")
            else:
                assert kind not in CUSTOM_KINDS
    assert not failures, "\n".join(failures)


def test_validation_catches_an_unknown_field(helm: Helm) -> None:
    deployment = next(m for m in helm.render() if m["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.29.0", strict=True)
