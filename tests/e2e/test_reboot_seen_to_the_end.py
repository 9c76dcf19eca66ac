"""A rollout reboot whose job ends long before the guest goes down (KVM answers the ACPI request at once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.e2e.cluster_helpers import Cluster, apply, eventually, pool_doc, status, wait_condition
from tests.e2e.fixtures import SCAN_SECONDS
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import settings_doc

GUEST_GOES_DOWN_AFTER = 4.0


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    """The guest shuts its services down for seconds after the reboot job ended, its agent still Up."""
    with simulator_in_thread(scan_interval=SCAN_SECONDS, timings={"stop": GUEST_GOES_DOWN_AFTER}) as sim:
        yield sim


def test_one_rollout_reboot_per_ssvm_although_the_job_ends_before_the_guest_goes_down(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1"), pool_doc("zone-2", "zone-2"))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=60)
    # The restart alone would deliver the sites: a declared Reboot reboots each SSVM all the same.
    apply(cluster, settings_doc(allowedInternalSites=["10.10.0.0/16"], rollout={"strategy": "Reboot"}))
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    cloudstack.admin.restart_management_server()
    eventually(
        lambda: (status(cluster, "SSVMSettings", "region-1").get("rollout") or {}).get("phase") == "Done",
        timeout=90,
        what="the rollout done",
        interval=0.5,
    )
    reboots = cloudstack.admin.call_counts().get("rebootSystemVm", 0)
    assert reboots == 2, f"{reboots} reboots of two SSVMs: a second one went out before the first took"
