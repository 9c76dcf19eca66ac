"""The Kubernetes API failing under the operator: conflicts and server errors on the writes it makes.

The operator's periodic reconcile is a kopf timer; kopf applies the status the handler filled in after the
handler returns. These tests make exactly those writes fail and check the pool is still reconciled after.
"""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from kube_emulator.testing import EmulatedCluster
from tests.e2e.cluster_helpers import (
    apply,
    condition,
    events,
    eventually,
    pool_doc,
    status,
    wait_condition,
)
from tests.e2e.operator_process import OperatorProcess
from tests.reliability.conftest import FAST_HEALTH


def reconciled_at(cluster: EmulatedCluster, pool: str) -> str:
    return str(status(cluster, "SSVMPool", pool).get("lastReconcileTime"))


def keeps_reconciling(cluster: EmulatedCluster, pool: str, polls: int = 3) -> None:
    """lastReconcileTime moves `polls` times (one endpoint poll is one second here)."""
    seen = {reconciled_at(cluster, pool)}
    eventually(
        lambda: seen.add(reconciled_at(cluster, pool)) or len(seen) > polls,
        timeout=8,
        what=f"{polls} more reconciles of {pool}",
    )


def test_server_errors_on_status_writes_are_retried_and_the_pool_keeps_being_reconciled(
    cluster: EmulatedCluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cluster.inject_fault("patch", "ssvmpools/status", status=503, count=2)
    cluster.inject_fault("create", "events", status=500, count=2)
    cluster.inject_fault("get", "secrets", status=500, count=1)
    keeps_reconciling(cluster, "zone-1")
    assert not cluster.call(lambda api: api.faults.pending()), "every injected fault was answered"


def test_a_conflict_on_a_status_write_does_not_stop_the_periodic_reconcile(
    cluster: EmulatedCluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cluster.inject_fault("patch", "ssvmpools/status", status=409, count=1)
    eventually(
        lambda: not cluster.call(lambda api: api.faults.pending()), timeout=10, what="the conflict answered"
    )
    keeps_reconciling(cluster, "zone-1")

    # ...and still acts: the failed SSVM is destroyed (recreated, or given up as surplus once CloudStack's
    # scanner has started a replacement), and the pool is Ready again on the replacement.
    failed = cloudstack.admin.ssvms(zone="zone-1")[0]["name"]
    cloudstack.admin.fail_vm(failed)
    eventually(
        lambda: [
            reason
            for _, reason, message in events(cluster, "zone-1")
            if reason in ("RecreateStarted", "DestroySurplusStarted") and failed in message
        ],
        timeout=20,
        what=f"the operator destroying {failed}",
    )

    def ready_on_a_replacement() -> bool:
        pool = status(cluster, "SSVMPool", "zone-1")
        names = [vm["name"] for vm in pool.get("ssvms") or []]
        ready = condition(cluster, "SSVMPool", "zone-1", "Ready").get("status") == "True"
        return ready and len(names) == 1 and failed not in names

    eventually(ready_on_a_replacement, timeout=40, what=f"Ready on an SSVM that replaced {failed}")
    assert cloudstack.admin.call_counts().get("destroySystemVm") == 1, "the failed SSVM was destroyed once"
