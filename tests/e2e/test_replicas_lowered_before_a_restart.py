"""Lowering replicas: CloudStack's scanner keeps what its management servers read at their start."""

from __future__ import annotations

from typing import Any

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    condition,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
    wait_polls,
)
from tests.e2e.operator_process import OperatorProcess

STANDBY_KEY = "secstorage.capacity.standby"


def settings_doc() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMSettings",
        "metadata": {"name": "region-1", "namespace": NAMESPACE},
        "spec": {"endpointRef": {"name": "region-1"}},
    }


def destroys(cloudstack: SimulatorHandle) -> int:
    return cloudstack.admin.call_counts().get("destroySystemVm", 0)


def zone_ssvms(cloudstack: SimulatorHandle) -> list[dict[str, Any]]:
    live = cloudstack.admin.ssvms(zone="zone-1")
    return [vm for vm in live if vm["state"] not in ("Destroyed", "Expunging")]


def test_replicas_two_to_one_destroys_exactly_one_ssvm_after_the_restart(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2), settings_doc())
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="ManagementServerRestartRequired"
    )
    cloudstack.admin.restart_management_server()
    eventually(
        lambda: status(cluster, "SSVMPool", "zone-1").get("readyReplicas") == 2, timeout=60, what="two SSVMs"
    )

    apply(cluster, pool_doc("zone-1", "zone-1", replicas=1))
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="ManagementServerRestartRequired"
    )
    ready = eventually(
        lambda: (
            "until management server(s) ms-1 restart"
            in condition(cluster, "SSVMPool", "zone-1", "Ready").get("message", "")
        ),
        timeout=30,
        what="the pool saying it waits for the restart",
    )
    assert ready
    message = condition(cluster, "SSVMPool", "zone-1", "Ready")["message"]
    assert f"{STANDBY_KEY} is 51 in force" in message
    refused = wait_event(cluster, "zone-1", "DestroySurplusRefused")
    assert STANDBY_KEY in refused and "management server" in refused
    wait_polls(cloudstack, 3)
    assert destroys(cloudstack) == 0, "nothing is given up while the old standby values are in force"

    cloudstack.admin.restart_management_server()
    eventually(lambda: destroys(cloudstack) == 1, timeout=60, what="one surplus SSVM destroyed")
    eventually(
        lambda: len(zone_ssvms(cloudstack)) == 1,
        timeout=30,
        what="one SSVM left in zone-1",
    )
    for _ in range(3):
        cloudstack.admin.scan()
    wait_polls(cloudstack, 3)
    assert destroys(cloudstack) == 1, "exactly one destroy: CloudStack recreated nothing the operator gave up"
    assert len(zone_ssvms(cloudstack)) == 1
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
