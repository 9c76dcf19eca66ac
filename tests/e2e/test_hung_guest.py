"""A hung SSVM guest: its diagnostics cannot run ("-1"), which is no storage fault and holds no repair."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, apply, condition, eventually, pool_doc, status
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_diagnostics import connectivity

HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}
FAULTS = ("StorageUnreachable", "ManagementServerUnreachable", "DnsUnreachable", "TargetUnreachable")


def test_a_hung_guest_is_recreated_and_its_unrun_checks_are_no_zone_fault(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=HEALTH))
    connectivity(cluster, "Reachable", "True")
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.set_guest(vm["name"], hung=True)
    reasons: set[str] = set()

    def recreated() -> bool:
        reasons.update(
            str(condition(cluster, "SSVMPool", "zone-1", t).get("reason"))
            for t in ("Degraded", "Connectivity")
        )
        return cloudstack.admin.call_counts().get("destroySystemVm", 0) >= 1

    eventually(recreated, timeout=60, what="the hung SSVM recreated")
    assert not reasons & set(FAULTS), f"a check that could not run became a fault: {reasons}"
    checks = [
        c for c in status(cluster, "SSVMPool", "zone-1").get("diagnostics") or [] if c["ssvm"] == vm["name"]
    ]
    assert all(c.get("reachable") is not False for c in checks), checks
