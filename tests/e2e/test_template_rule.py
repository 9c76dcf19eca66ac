"""System template readiness by CloudStack's rule: a template of the zone's hypervisor, ready in any store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.e2e.cluster_helpers import Cluster, apply, pool_doc, wait_condition
from tests.e2e.fixtures import REPOSITORY, SCAN_SECONDS
from tests.e2e.operator_process import OperatorProcess


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    scenario = REPOSITORY / "examples" / "sim" / "two-hypervisors.yaml"
    with simulator_in_thread(scan_interval=SCAN_SECONDS, scenario=scenario) as sim:
        yield sim


def test_a_template_ready_in_another_zones_store_counts_and_one_of_another_hypervisor_does_not(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("vmware-zone", "vmware-zone"), pool_doc("xen-zone", "xen-zone"))
    wait_condition(cluster, "SSVMPool", "vmware-zone", "TemplateReady", "True")
    missing = wait_condition(cluster, "SSVMPool", "xen-zone", "TemplateReady", "False")
    assert missing["reason"] == "SystemTemplateNotReady", missing
