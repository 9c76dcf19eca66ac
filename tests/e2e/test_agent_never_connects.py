"""The commonest SSVM fault seen end to end: an agent that never reaches the management server (port 8250)."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, apply, eventually, pool_doc, wait_condition, wait_event
from tests.e2e.operator_process import OperatorProcess

HEALTH = {"unhealthyAfterSeconds": 2, "rebootTimeoutSeconds": 3}


def test_a_new_ssvm_whose_agent_never_connects_is_repaired_and_the_zone_points_at_port_8250(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    [old] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.set_zone_behaviour("zone-1", agent_connects=False)
    # Someone destroys the SSVM; CloudStack's scanner creates one whose agent cannot connect.
    cloudstack.client().destroySystemVm(id=old["id"])
    new = eventually(
        lambda: [v for v in cloudstack.admin.ssvms(zone="zone-1") if v["name"] != old["name"]],
        timeout=30,
        what="CloudStack's replacement",
    )[0]

    degraded = wait_condition(
        cluster, "SSVMPool", "zone-1", "Degraded", "True", reason="AgentsCannotConnect", timeout=30
    )
    assert "port 8250" in degraded["message"] and new["name"] in degraded["message"]
    eventually(
        lambda: cloudstack.admin.call_counts().get("rebootSystemVm", 0) >= 1,
        timeout=30,
        what="a reboot of the SSVM whose agent never connected",
    )
    eventually(
        lambda: cloudstack.admin.call_counts().get("destroySystemVm", 0) >= 2,
        timeout=30,
        what="then, after the reboot timeout, a recreation: the ladder is climbed, not waited on for ever",
    )
    started = wait_event(cluster, "zone-1", "RecreateStarted")
    assert "download URL of the zone" in started, "users' extract links break: the Event says so"
