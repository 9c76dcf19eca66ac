"""A boot argument (secstorage.vm.mtu.size) reaches a running SSVM only at a start: a reboot would not do."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, apply, eventually, pool_doc, status, wait_condition
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import settings_doc

MTU = "secstorage.vm.mtu.size"


def test_an_mtu_change_is_rolled_with_a_stop_and_start_not_a_reboot(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1"), pool_doc("zone-2", "zone-2"))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=60)
    apply(cluster, settings_doc(settings={MTU: "1450"}))
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    cloudstack.admin.restart_management_server()
    rollout = eventually(
        lambda: (
            (r := status(cluster, "SSVMSettings", "region-1").get("rollout") or {}).get("phase") == "Done"
            and r
        ),
        timeout=90,
        what="the rollout done",
        interval=0.5,
    )
    assert rollout["strategy"] == "StopStart", rollout
    calls = cloudstack.admin.call_counts()
    assert not calls.get("rebootSystemVm"), "a reboot does not apply a boot argument"
    assert calls.get("stopSystemVm", 0) >= 2
    for vm in cloudstack.admin.ssvms():
        assert vm["boot"]["settings"][MTU] == "1450", (
            f"{vm['name']} booted with MTU {vm['boot']['settings'][MTU]}"
        )
