"""System template readiness by CloudStack's rule (VMTemplateDaoImpl.findSystemVMReadyTemplates): a SYSTEM
template for a hypervisor and arch of the zone's hosts, downloaded in any image store. A zone whose own store
has no copy still gets its SSVM recreated, so the operator does not hold the repair there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudstack_sim import scenario as scenarios
from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    condition,
    eventually,
    pool_doc,
    wait_condition,
    wait_event,
)
from tests.e2e.fixtures import REPOSITORY, SCAN_SECONDS
from tests.e2e.operator_process import OperatorProcess

LADDER = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    region = scenarios.load(REPOSITORY / "examples" / "sim" / "default.yaml")
    region["templates"] = [{"hypervisor": "KVM", "arch": "x86_64", "ready_in": ["zone-2"]}]
    with simulator_in_thread(scan_interval=SCAN_SECONDS, scenario=region) as sim:
        yield sim


def test_a_template_downloaded_in_another_zones_store_lets_the_zone_recreate(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=LADDER))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
    ready = condition(cluster, "SSVMPool", "zone-1", "TemplateReady")
    assert ready.get("status") == "True", ready

    [broken] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.set_agent_state(broken["name"], "Alert", sticky=True)
    message = wait_event(cluster, "zone-1", "RecreateStarted", timeout=60)
    assert message.startswith(f"{broken['name']}:"), message
    eventually(
        lambda: [
            vm
            for vm in cloudstack.admin.ssvms(zone="zone-1", running=True)
            if vm["name"] != broken["name"] and vm["agent_state"] == "Up"
        ],
        timeout=60,
        what="CloudStack recreated the SSVM from the template in zone-2's store",
    )
