"""The chart's RBAC on a real API server: the operator, authenticated as the chart's ServiceAccount, does its
whole job with exactly the roles the chart renders, and is refused what they do not grant.

The emulator cannot show this: it authorizes nothing. tests/e2e/test_rbac_matches_chart.py checks the
other direction (every granted permission is used) from the emulator's request log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from cloudstack_sim.testing import SimulatorHandle
from tests.chart.helm_runner import NAMESPACE as CHART_NAMESPACE
from tests.chart.helm_runner import Helm, of_kind
from tests.e2e.cluster_helpers import apply, pool_doc, status, wait_condition
from tests.e2e.operator_process import OperatorProcess
from tests.support.control_plane import ControlPlane, real_backend
from tests.support.real_cluster import RealCluster
from tests.support.tools import require_tool

RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
# A cluster-wide install (ClusterRoles) and one watching the test's namespace (Roles there).
INSTALLS = {"clusterwide": {}, "namespaced": {"watchNamespaces": ["default"]}}

pytestmark = pytest.mark.skipif(
    not real_backend(), reason="SSVM_TESTS_KUBE=emulator: the emulator has no RBAC"
)


@dataclass
class Install:
    account: RealCluster
    """A client holding the chart's ServiceAccount's token."""
    operator_args: tuple[str, ...]
    """The operator's arguments from the rendered Deployment."""


def watched(args: list[str]) -> tuple[str, ...]:
    """The Deployment's --namespace arguments: what the roles were rendered for (its ports are the pod's)."""
    return tuple(arg for arg in args if arg.startswith("--namespace="))


@pytest.fixture(params=sorted(INSTALLS))
def install(
    request: pytest.FixtureRequest, kube_control_plane: ControlPlane, tmp_path: Path
) -> Iterator[Install]:
    """The chart's ServiceAccount and roles installed as rendered for one kind of install."""
    (tmp_path / "helm").mkdir()
    helm = Helm(require_tool("helm"), tmp_path / "helm")
    admin = kube_control_plane.admin
    rendered = helm.render(INSTALLS[request.param])
    manifests = [m for m in rendered if m["kind"] in RBAC_KINDS]
    container = of_kind(rendered, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    account = of_kind(manifests, "ServiceAccount")[0]["metadata"]["name"]
    admin.kubectl("create", "namespace", CHART_NAMESPACE)  # kept between tests: nothing deletes namespaces
    admin.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests), check=True)
    token = admin.kubectl("create", "token", account, "-n", CHART_NAMESPACE, check=True).stdout.strip()
    user = f"system:serviceaccount:{CHART_NAMESPACE}:{account}"
    yield Install(kube_control_plane.as_user(user, token, "operator.kubeconfig"), watched(container["args"]))
    admin.kubectl("delete", "-f", "-", "--wait=false", input=yaml.safe_dump_all(manifests))
    admin.reset()


def test_the_operator_works_with_the_charts_roles_and_is_refused_the_rest(
    kube_control_plane: ControlPlane,
    cloudstack: SimulatorHandle,
    endpoint: str,
    install: Install,
    tmp_path: Path,
) -> None:
    admin, service_account = kube_control_plane.admin, install.account
    operator = OperatorProcess(
        service_account.env(), tmp_path / "operator.log", extra_args=install.operator_args
    )
    operator.start()
    try:
        apply(admin, pool_doc("zone-1", "zone-1"))
        wait_condition(admin, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
        wait_condition(admin, "CloudStackEndpoint", endpoint, "Ready", "True", reason="Connected")
        assert status(admin, "SSVMPool", "zone-1")["readyReplicas"] == 1
    finally:
        operator.stop()
    refusals = [line for line in operator.logs().splitlines() if re.search(r"\b403\b|Forbidden", line)]
    assert not refusals, "\n".join(refusals[:5])

    # The account reads a Secret it is told about, but may not list them all, nor create a Pod.
    assert service_account.kubectl("get", "secret", f"{endpoint}-keys").returncode == 0
    listed = service_account.kubectl("get", "secrets")
    assert listed.returncode != 0 and "Forbidden" in listed.stderr, listed.stderr
    created = service_account.kubectl("run", "intruder", "--image=busybox")
    assert created.returncode != 0 and "forbidden" in created.stderr.lower(), created.stderr


def test_a_user_without_roles_cannot_read_or_write_pools(kube_control_plane: ControlPlane) -> None:
    restricted = kube_control_plane.restricted
    refused = restricted.kubectl("get", "ssvmpools")
    assert refused.returncode != 0 and "Forbidden" in refused.stderr, refused.stderr
    assert restricted.request("GET", "/apis/ssvm.cloudstack.io/v1alpha1/ssvmpools").status == 403
