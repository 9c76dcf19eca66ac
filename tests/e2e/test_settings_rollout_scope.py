"""A settings rollout covers the zones the operator may roll, and says which it leaves and why, instead of
waiting for ever on a zone that no pool will roll."""

from __future__ import annotations

from typing import Any

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import settings_doc

SITES = ["10.10.0.0/16"]
# The restart alone delivers the sites (strategy Auto); a declared Reboot rolls every SSVM all the same.
REBOOT_ALL = {"strategy": "Reboot"}


def rollout(cluster: Cluster) -> dict[str, Any]:
    return dict(status(cluster, "SSVMSettings", "region-1").get("rollout") or {})


def names_in(cloudstack: SimulatorHandle, zone: str) -> list[str]:
    return sorted(vm["name"] for vm in cloudstack.admin.ssvms(zone=zone))


def left_zone(cluster: Cluster, zone: str) -> dict[str, Any]:
    return next((z for z in rollout(cluster).get("left") or () if z["zone"] == zone), {})


def roll_sites(cluster: Cluster, cloudstack: SimulatorHandle) -> None:
    apply(cluster, settings_doc(allowedInternalSites=SITES, rollout=REBOOT_ALL))
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    cloudstack.admin.restart_management_server()


def test_a_zone_without_a_pool_is_left_and_named_and_the_others_are_rolled(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-2", "zone-2"))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=40)
    zone_1 = names_in(cloudstack, "zone-1")
    roll_sites(cluster, cloudstack)

    ready = wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "True", reason="RolloutLeftZones", timeout=60
    )
    assert rollout(cluster)["phase"] == "PartlyDone"
    left = left_zone(cluster, "zone-1")
    assert (left["reason"], left["ssvms"]) == ("NoPool", zone_1)
    assert "zone zone-1" in ready["message"] and "no SSVMPool manages this zone" in ready["message"]
    assert cloudstack.admin.call_counts().get("rebootSystemVm") == len(names_in(cloudstack, "zone-2"))
    for vm in cloudstack.admin.ssvms(zone="zone-2"):
        assert "secstorage.allowed.internal.sites" in str(vm), f"{vm['name']} was rolled"
    assert "zone zone-1" in wait_event(cluster, "region-1", "RolloutLeftZones", "Warning")


def test_a_paused_zone_is_left_with_the_way_to_finish_and_is_rolled_once_unpaused(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", paused=True), pool_doc("zone-2", "zone-2"))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=40)
    roll_sites(cluster, cloudstack)

    ready = wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "True", reason="RolloutLeftZones", timeout=60
    )
    assert left_zone(cluster, "zone-1")["reason"] == "Paused"
    assert "SSVMPool zone-1 is paused: unpause it to roll them" in ready["message"]
    rebooted = {vm["name"] for vm in cloudstack.admin.ssvms(zone="zone-2")}
    assert cloudstack.admin.call_counts().get("rebootSystemVm") == len(rebooted)

    apply(cluster, pool_doc("zone-1", "zone-1", paused=False))
    eventually(lambda: rollout(cluster).get("phase") == "Done", timeout=60, what="zone-1 rolled too")
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", reason="InSync", timeout=30)
    assert not rollout(cluster).get("left")
