"""The Kubernetes API failing under the operator: conflicts and server errors on the writes it makes.

The operator's periodic reconcile is a kopf timer; kopf applies the status the handler filled in after the
handler returns. These tests make exactly those writes fail and check the pool is still reconciled after.
"""

from __future__ import annotations

import pytest

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    condition,
    eventually,
    pending_faults,
    pool_doc,
    status,
    wait_condition,
)
from tests.e2e.operator_process import OperatorProcess
from tests.reliability.conftest import FAST_HEALTH

# On the real API server the faults come from a proxy in front of it; on the emulator, from the emulator.
pytestmark = pytest.mark.kube_faults


def repairs_a_failed_ssvm(cluster: Cluster, cloudstack: SimulatorHandle, pool: str) -> None:
    """The pool still follows CloudStack: an SSVM failed now is replaced and the pool is Ready again.

    A healthy pool's status is not rewritten while nothing changes, so a change in CloudStack is what makes
    the operator write (and meet the injected faults).
    """
    failed = cloudstack.admin.ssvms(zone=pool)[0]["name"]
    cloudstack.admin.fail_vm(failed)
    eventually(
        lambda: (
            condition(cluster, "SSVMPool", pool, "Ready").get("status") == "True"
            and failed not in {vm.get("name") for vm in status(cluster, "SSVMPool", pool).get("ssvms") or ()}
        ),
        timeout=60,
        what=f"{pool} Ready again without {failed}",
    )


def test_server_errors_on_status_writes_are_retried_and_the_pool_keeps_being_reconciled(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cluster.inject_fault("patch", "ssvmpools/status", status=503, count=2)
    cluster.inject_fault("create", "events", status=500, count=2)
    cluster.inject_fault("get", "secrets", status=500, count=1)
    repairs_a_failed_ssvm(cluster, cloudstack, "zone-1")
    assert not pending_faults(cluster), "every injected fault was answered"


def test_a_conflict_on_a_status_write_does_not_stop_the_periodic_reconcile(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cluster.inject_fault("patch", "ssvmpools/status", status=409, count=1)
    repairs_a_failed_ssvm(cluster, cloudstack, "zone-1")
    assert not pending_faults(cluster), "the conflict was answered"
    repairs_a_failed_ssvm(cluster, cloudstack, "zone-1")
