"""A slow Kubernetes API under the operator: status writes and Events answered seconds late.

The delay comes from the fault proxy in front of the real API server (the emulator answers at once), so
this runs on the real control plane only.
"""

from __future__ import annotations

import time

import pytest

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import apply, pending_faults, pool_doc, wait_condition
from tests.e2e.operator_process import OperatorProcess
from tests.reliability.conftest import FAST_HEALTH
from tests.reliability.test_kubernetes_faults import repairs_a_failed_ssvm
from tests.support.control_plane import real_backend
from tests.support.fault_proxy import FaultyCluster

pytestmark = [
    pytest.mark.kube_faults,
    pytest.mark.skipif(not real_backend(), reason="SSVM_TESTS_KUBE=emulator: delays need the proxy"),
]
DELAY = 2.0


def test_slow_status_writes_and_events_delay_the_repair_but_do_not_lose_it(
    cluster: FaultyCluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cluster.inject_fault("patch", "ssvmpools/status", status=0, delay=DELAY, count=2)
    cluster.inject_fault("create", "events", status=0, delay=DELAY, count=1)
    started = time.monotonic()
    repairs_a_failed_ssvm(cluster, cloudstack, "zone-1")
    assert not pending_faults(cluster), "every slow answer was given"
    assert time.monotonic() - started >= DELAY, "the slow status write was waited for"
