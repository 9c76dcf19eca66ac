"""A platform team commits an SSVMPool; the operator reports the zone and keeps it healthy."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, apply, events, eventually, pool_doc, status, wait_condition
from tests.e2e.operator_process import OperatorProcess


def test_a_new_pool_becomes_ready_and_shows_its_ssvm(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1"))
    ready = wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    assert ready["reason"] == "SSVMsReady" and ready["observedGeneration"] == 1
    pool = status(cluster, "SSVMPool", "zone-1")
    [ssvm] = pool["ssvms"]
    sim_vm = cloudstack.admin.ssvms(zone="zone-1")[0]
    assert ssvm["name"] == sim_vm["name"] and ssvm["state"] == "Running" and ssvm["agentState"] == "Up"
    assert pool["zoneId"] == sim_vm["zone_id"] and pool["readyReplicas"] == 1

    wait_condition(cluster, "CloudStackEndpoint", endpoint, "Ready", "True", reason="Connected")
    table = cluster.kubectl("get", "ssvmpools", check=True).stdout
    assert table.split()[:7] == ["NAME", "ZONE", "DESIRED", "READY", "MODE", "STATUS", "AGE"]
    assert "zone-1   zone-1   1         1       Enforce   True" in table
    described = cluster.kubectl("describe", "ssvmpool", "zone-1", check=True).stdout
    assert "SSVMsReady" in described and ssvm["name"] in described


def test_an_ssvm_whose_agent_stays_down_is_rebooted_then_recreated(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(
        cluster,
        pool_doc("zone-1", "zone-1", health={"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}),
    )
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    broken = cloudstack.admin.ssvms(zone="zone-1")[0]
    cloudstack.admin.set_agent_state(broken["name"], "Alert", sticky=True)

    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "False", timeout=20)
    reasons = eventually(
        lambda: (
            [r for _, r, _ in events(cluster, "zone-1") if r == "RecreateStarted"]
            and events(cluster, "zone-1")
        ),
        timeout=60,
        what="a recreation after the reboot did not help",
    )
    started = [r for _, r, _ in reasons if r.endswith("Started")]
    assert started.index("RebootStarted") < started.index("RecreateStarted")

    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
    [replacement] = status(cluster, "SSVMPool", "zone-1")["ssvms"]
    assert replacement["name"] != broken["name"], "CloudStack's scanner creates a new SSVM with a new name"
    assert cloudstack.admin.call_counts().get("destroySystemVm") == 1
