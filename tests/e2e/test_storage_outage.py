"""A storage outage seen end to end: the zone-wide cause keeps naming the conditions once the agents drop, and
no SSVM is destroyed on connectivity facts older than the outage."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    condition,
    eventually,
    pool_doc,
    wait_condition,
    wait_polls,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_diagnostics import connectivity, planned, storage_host, two_ssvms_per_zone

HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 600}


def test_the_storage_outage_stays_the_reason_once_the_agents_drop(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    ssvms = two_ssvms_per_zone(cloudstack)
    host = storage_host(cloudstack)
    for name in ssvms:
        cloudstack.admin.set_reachability(name, host, reachable=False)
    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2, health=HEALTH))
    connectivity(cluster, "StorageUnreachable")
    wait_condition(cluster, "SSVMPool", "zone-1", "Degraded", "True", reason="StorageUnreachable")

    # The outage gets worse: the agents lose the management server as their mounts hang.
    for name in ssvms:
        cloudstack.admin.set_agent_state(name, "Disconnected", sticky=True)
    eventually(
        lambda: (
            len([a for a in planned(cluster) if a["action"] == "Reboot" and host in a.get("blocked", "")])
            == 2
        ),
        timeout=20,
        what="both reboots held for the storage",
    )
    degraded = condition(cluster, "SSVMPool", "zone-1", "Degraded")
    assert degraded["reason"] == "StorageUnreachable", degraded
    assert degraded["message"].startswith(f"storage host {host}"), "the cause comes first in the message"
    assert all(name in degraded["message"] for name in ssvms), "the SSVM symptoms are still listed"
    ready = condition(cluster, "SSVMPool", "zone-1", "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "StorageUnreachable"), ready


def test_a_lost_agent_gets_a_fresh_connectivity_round_before_any_destroy(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(
        cluster,
        pool_doc("zone-1", "zone-1", health={"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 2}),
    )
    connectivity(cluster, "Reachable", "True")
    rounds_before = cloudstack.admin.call_counts().get("runDiagnostics", 0)
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    host = storage_host(cloudstack)

    # NFS goes away; the agent drops with it. The last round, from before the outage, says Reachable.
    cloudstack.admin.set_reachability(vm["name"], host, reachable=False)
    cloudstack.admin.set_agent_state(vm["name"], "Disconnected", sticky=True)

    found = connectivity(cluster, "StorageUnreachable")
    assert host in found["message"]
    assert cloudstack.admin.call_counts().get("runDiagnostics", 0) > rounds_before
    assert "agent trouble since the last round" in operator.logs(), "a round asked for by the lost agent"
    # Well past the reboot timeout: the ladder would be at Recreate, and the fresh facts hold it.
    held = eventually(
        lambda: [
            a
            for a in planned(cluster)
            if a["action"] in ("Reboot", "Recreate") and host in a.get("blocked", "")
        ],
        timeout=20,
        what="the repair held for the storage",
    )
    assert "repairing SSVMs would not help" in held[0]["blocked"]
    wait_polls(cloudstack, polls=1)
    assert not cloudstack.admin.call_counts().get("destroySystemVm"), "no destroy on stale connectivity facts"
