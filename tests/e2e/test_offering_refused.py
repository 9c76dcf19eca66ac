"""The "- Local Storage" twin every install has: CloudStack refuses it for an SSVM on shared storage."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from kube_emulator.testing import EmulatedCluster
from tests.e2e.cluster_helpers import apply, pool_doc, wait_condition, wait_polls
from tests.e2e.operator_process import OperatorProcess

LOCAL_TWIN = "System Offering For Secondary Storage VM - Local Storage"


def test_the_local_storage_twin_is_refused_before_anything_is_stopped(
    cluster: EmulatedCluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", serviceOffering=LOCAL_TWIN))
    stalled = wait_condition(cluster, "SSVMPool", "zone-1", "Stalled", "True", reason="OfferingRefused")
    assert "target offering use local storage" in stalled["message"]
    wait_polls(cloudstack, 3)
    calls = cloudstack.admin.call_counts()
    assert not calls.get("changeServiceForSystemVm") and not calls.get("stopSystemVm")
