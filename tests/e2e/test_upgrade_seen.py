"""After a CloudStack upgrade, users see which SSVMs are left behind: per SSVM, in a condition, in a
metric, and the management servers' new version on the endpoint."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, eventually, status, wait_condition
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.upgrade_helpers import NEW_RELEASE, old_cloud, start_pools, upgrading_pool
from tests.support.network import free_port

__all__ = ["old_cloud"]


@pytest.fixture
def watched_operator(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[OperatorProcess, int]]:
    port = free_port()
    process = OperatorProcess(
        cluster.env(),
        tmp_path / "operator.log",
        extra_args=("--metrics-port", str(port), "--metrics-address", "127.0.0.1"),
    )
    process.start()
    yield process, port
    process.stop()


def outdated_gauge(port: int, zone: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ssvm_operator_pool_outdated_ssvms" and sample.labels.get("zone") == zone:
                return float(sample.value)
    return None


def test_ssvms_left_on_the_old_release_are_shown_per_ssvm_in_a_condition_and_a_metric(
    cluster: Cluster, old_cloud: SimulatorHandle, watched_operator: tuple[OperatorProcess, int]
) -> None:
    _, port = watched_operator
    start_pools(cluster, old_cloud, upgrading_pool("zone-1", "None"))
    [row] = status(cluster, "SSVMPool", "zone-1")["ssvms"]
    assert row["agentVersion"] == "4.20.0.0" and row["upToDate"] is True
    wait_condition(cluster, "SSVMPool", "zone-1", "UpToDate", "True")
    assert eventually(lambda: outdated_gauge(port, "zone-1") == 0, 20, "the gauge at 0")

    template = old_cloud.admin.upgrade(NEW_RELEASE)["template"]["name"]

    outdated = wait_condition(cluster, "SSVMPool", "zone-1", "UpToDate", "False", reason="OutdatedSSVMs")
    assert "agent 4.20.0.0 is behind the management servers' 4.22.0.0" in outdated["message"]
    assert f"older than the system VM template {template}" in outdated["message"]
    assert "spec.upgrade.strategy is None" in outdated["message"]
    pool = status(cluster, "SSVMPool", "zone-1")
    assert pool["outdatedReplicas"] == 1
    [row] = pool["ssvms"]
    assert row["upToDate"] is False and row["templateName"] != template
    assert eventually(lambda: outdated_gauge(port, "zone-1") == 1, 20, "the gauge at 1")
    endpoint = eventually(
        lambda: (
            (s := status(cluster, "CloudStackEndpoint", "region-1")).get("managementServerVersion")
            == "4.22.0.0"
            and s
        ),
        20,
        "the endpoint's management server version",
    )
    assert endpoint["cloudstackVersion"] == "4.22.0.0", "the release is read again after an upgrade"
    assert not old_cloud.admin.call_counts().get("destroySystemVm"), "strategy None changes nothing"
    table = cluster.kubectl("get", "ssvmpools", "-o", "wide", check=True).stdout.splitlines()
    header = table[0].split()
    assert table[1].split()[header.index("OUTDATED")] == "1"
