"""A full image store: CloudStack would not recreate an SSVM, so the operator does not destroy it."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
    wait_polls,
)
from tests.e2e.operator_process import OperatorProcess

HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}


def test_a_broken_ssvm_is_not_destroyed_while_every_store_of_its_zone_is_full(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    stores = [s["name"] for s in cloudstack.admin.state()["image_stores"] if s["zone"] == "zone-1"]
    for store in stores:
        cloudstack.admin.set_image_store(store, total_gib=1000, used_gib=990)
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.fail_vm(vm["name"])

    degraded = wait_condition(cluster, "SSVMPool", "zone-1", "Degraded", "True", reason="ImageStoreFull")
    assert "secondary.storage.capacity.threshold" in degraded["message"]
    assert "99% used" in wait_event(cluster, "zone-1", "ImageStoreFull", "Warning")
    eventually(
        lambda: any(
            "threshold" in (a.get("blocked") or "")
            for a in status(cluster, "SSVMPool", "zone-1").get("plannedActions") or []
        ),
        timeout=20,
        what="the recreation held",
    )
    wait_polls(cloudstack, 3)
    assert not cloudstack.admin.call_counts().get("destroySystemVm"), "nothing would come back"

    for store in stores:
        cloudstack.admin.set_image_store(store, used_gib=500)
    eventually(
        lambda: cloudstack.admin.call_counts().get("destroySystemVm", 0) == 1,
        timeout=30,
        what="recreated once room",
    )
