"""After the restart that puts new allowed internal sites in force, an SSVM whose agent did not reconnect
(its guest hung) is the only one to wait for them; its pool repairs it as any lost agent; none is rolled."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, apply, eventually, pool_doc, status, wait_condition
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import SITES_KEY, settings_doc

SITES = "10.10.0.0/16"
# Long enough to see the settings wait for the hung SSVM before its pool repairs it.
HEALTH = {"unhealthyAfterSeconds": 10, "rebootTimeoutSeconds": 3}


def test_only_the_ssvm_whose_agent_missed_the_restart_waits_and_its_repair_delivers_the_sites(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=HEALTH), pool_doc("zone-2", "zone-2", health=HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=60)
    apply(cluster, settings_doc(allowedInternalSites=[SITES]))
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    [hung] = cloudstack.admin.ssvms(zone="zone-1")
    [healthy] = cloudstack.admin.ssvms(zone="zone-2")
    cloudstack.admin.set_guest(hung["name"], hung=True)
    cloudstack.admin.restart_management_server()

    # Every agent drops at the restart; the others reconnect within moments, the hung guest's does not.
    eventually(
        lambda: (
            (status(cluster, "SSVMSettings", "region-1").get("rollout") or {}).get("pending")
            == [hung["name"]]
        ),
        timeout=20,
        what=f"the settings waiting for {hung['name']} alone",
    )
    rollout = status(cluster, "SSVMSettings", "region-1")["rollout"]
    assert (rollout["phase"], rollout["strategy"]) == ("WaitingForAgents", "Reconnect")
    waiting = wait_condition(
        cluster,
        "SSVMSettings",
        "region-1",
        "Ready",
        "False",
        reason="WaitingForAgents",
        containing=hung["name"],
    )
    assert healthy["name"] not in waiting["message"]

    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", reason="InSync", timeout=90)
    assert status(cluster, "SSVMSettings", "region-1")["rollout"]["phase"] == "Done"
    # An SSVM created after the change counts as reached at once: its first connect sends the sites.
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
    for vm in cloudstack.admin.ssvms():
        assert vm["boot"]["connect_settings"].get(SITES_KEY) == SITES, f"{vm['name']} lacks the sites"
    assert cloudstack.admin.vm(healthy["id"])["boot"]["boot_count"] == healthy["boot"]["boot_count"], (
        "the SSVM whose agent reconnected was not rebooted"
    )
    actions = [
        row["action"]
        for pool in ("zone-1", "zone-2")
        for row in status(cluster, "SSVMPool", pool).get("recentActions") or []
    ]
    assert not [a for a in actions if a.startswith("Rollout")], f"an SSVM was rolled: {actions}"
    assert not status(cluster, "SSVMPool", "zone-2").get("recentActions"), "zone-2 needed nothing"
