"""After a CloudStack upgrade the operator rolls the SSVMs of two zones onto the new release: one zone and
one SSVM at a time, exactly one action per SSVM, through an operator restart; held where CloudStack could
not create the replacement; only planned in Observe mode."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, eventually, status, wait_condition, wait_polls
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.upgrade_helpers import (
    NEW_RELEASE,
    ZONES,
    old_cloud,
    on_new_release,
    start_pools,
    upgrade_actions,
    upgrading_pool,
)

__all__ = ["old_cloud"]


def test_an_upgrade_rolls_both_zones_one_ssvm_at_a_time_through_an_operator_restart(
    cluster: Cluster, old_cloud: SimulatorHandle, operator: OperatorProcess
) -> None:
    start_pools(cluster, old_cloud, *(upgrading_pool(zone) for zone in ZONES))
    before = {vm["name"] for vm in old_cloud.admin.ssvms()}
    assert len(before) == 2

    template = old_cloud.admin.upgrade(NEW_RELEASE)["template"]["name"]
    restarted = False
    down_at_once: list[int] = []
    zones_rolling: list[set[str]] = []

    def rolled() -> bool:
        nonlocal restarted
        state = old_cloud.admin.state()
        for zone in ZONES:
            vms = old_cloud.admin.ssvms(zone=zone, state=state)
            down_at_once.append(sum(1 for vm in vms if vm["state"] != "Running" or vm["agent_state"] != "Up"))
        zones_rolling.append({zone for zone in ZONES if status(cluster, "SSVMPool", zone).get("inFlight")})
        if not restarted and old_cloud.admin.call_counts().get("destroySystemVm", 0) >= 1:
            operator.restart()  # mid-roll: the first zone's SSVM is being replaced
            restarted = True
        return all(on_new_release(old_cloud, zone, template) for zone in ZONES)

    eventually(rolled, timeout=150, what="both zones on the new template and agent")
    assert restarted
    assert max(down_at_once) <= 1, "at most maxUnavailable (1) SSVM of a zone down at a time"
    assert max(len(z) for z in zones_rolling) <= 1, "one zone at a time"
    assert old_cloud.admin.call_counts().get("destroySystemVm") == 2, "exactly one action per SSVM"
    assert not before & {vm["name"] for vm in old_cloud.admin.ssvms()}
    for zone in ZONES:
        wait_condition(cluster, "SSVMPool", zone, "UpToDate", "True", timeout=30)
        assert status(cluster, "SSVMPool", zone)["outdatedReplicas"] == 0


def test_patch_rolls_the_agents_when_the_template_did_not_change(
    cluster: Cluster, old_cloud: SimulatorHandle, operator: OperatorProcess
) -> None:
    start_pools(cluster, old_cloud, *(upgrading_pool(zone, "Patch") for zone in ZONES))
    before = {vm["name"]: vm["template"] for vm in old_cloud.admin.ssvms()}
    old_cloud.admin.upgrade(NEW_RELEASE, new_template=False)

    def patched() -> bool:
        vms = old_cloud.admin.ssvms()
        return all(vm["version"] == "4.22.0.0" and vm["agent_state"] == "Up" for vm in vms) and len(vms) == 2

    eventually(patched, timeout=90, what="both agents patched")
    after = {vm["name"]: vm["template"] for vm in old_cloud.admin.ssvms()}
    assert after == before, "the same SSVMs, not recreated"
    counts = old_cloud.admin.call_counts()
    assert counts.get("patchSystemVm") == 2 and not counts.get("destroySystemVm")
    for zone in ZONES:
        wait_condition(cluster, "SSVMPool", zone, "UpToDate", "True", timeout=30)


def test_no_zone_is_rolled_before_the_new_template_is_downloaded_and_one_store_is_enough(
    cluster: Cluster, old_cloud: SimulatorHandle, operator: OperatorProcess
) -> None:
    # CloudStack gives a new SSVM the newest SYSTEM template for the zone's hypervisor downloaded in any
    # image store (VMTemplateDaoImpl.findSystemVMReadyTemplates), not necessarily the zone's own.
    start_pools(cluster, old_cloud, *(upgrading_pool(zone) for zone in ZONES))
    template = old_cloud.admin.upgrade(NEW_RELEASE, ready_in=[])["template"]

    reason = (
        f"the system VM template {template['name']} is not Ready in any image store: CloudStack could not "
        "create the replacement in zone zone-1 on it"
    )
    [held] = eventually(lambda: upgrade_actions(cluster, "zone-1"), 30, "zone-1's upgrade planned")
    assert held["blocked"] == reason
    wait_polls(old_cloud)
    assert not old_cloud.admin.call_counts().get("destroySystemVm"), "no SSVM is given up"

    old_cloud.admin.set_template_ready(template["id"], ["zone-2"])
    eventually(
        lambda: all(on_new_release(old_cloud, zone, template["name"]) for zone in ZONES),
        150,
        "both zones rolled on a template downloaded in zone-2's store only",
    )


def test_observe_mode_only_plans_the_upgrade(
    cluster: Cluster, old_cloud: SimulatorHandle, operator: OperatorProcess
) -> None:
    start_pools(cluster, old_cloud, upgrading_pool("zone-1", mode="Observe"))
    old_cloud.admin.upgrade(NEW_RELEASE)

    [planned] = eventually(lambda: upgrade_actions(cluster, "zone-1"), 30, "the upgrade planned")
    assert planned["action"] == "UpgradeRecreate"
    assert planned["blocked"].startswith("Observe mode: not executed")
    wait_polls(old_cloud, 3)
    assert not old_cloud.admin.call_counts().get("destroySystemVm")
    assert not old_cloud.admin.call_counts().get("patchSystemVm")
