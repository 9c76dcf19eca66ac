"""CloudStack's own load scanner: what it keeps, recreates, restarts and adds
(cloudstack-contract.md §1.3-1.5)."""

from __future__ import annotations

from cs import CloudStack

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import eventually, healthy, healthy_ssvm, only_ssvm, ssvms, wait_job, zone


def test_a_destroyed_ssvm_is_recreated_with_a_new_id_and_name(api: CloudStack) -> None:
    zone_1 = zone(api, "zone-1")
    old = healthy_ssvm(api, zone_1["id"])
    wait_job(api, api.destroySystemVm(id=old["id"])["jobid"])

    new = healthy_ssvm(api, zone_1["id"])
    assert new["id"] != old["id"]
    assert new["name"] != old["name"]
    assert int(new["name"].split("-")[1]) > int(old["name"].split("-")[1]), "internal ids only grow"
    host = api.listHosts(type="SecondaryStorageVM", name=new["name"], fetch_list=True)
    assert [h["state"] for h in host] == ["Up"]


def test_a_stopped_ssvm_is_restarted_by_the_scanner(api: CloudStack) -> None:
    zone_2 = zone(api, "zone-2")
    vm = healthy_ssvm(api, zone_2["id"])
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])

    restarted = healthy_ssvm(api, zone_2["id"])
    assert restarted["id"] == vm["id"], "the stopped pool is reused, not replaced"


def test_nothing_changes_while_the_scanner_is_paused(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    zone_1 = zone(api, "zone-1")
    vm = only_ssvm(api, zone_1["id"])
    wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    assert ssvms(api, zone_1["id"]) == []

    sim.admin.scan()
    assert healthy_ssvm(api, zone_1["id"])["id"] != vm["id"], "a scan triggered by hand still works"


def test_a_zone_with_enable_secstorage_vm_false_gets_no_replacement(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    zone_1 = zone(api, "zone-1")
    updated = api.updateZone(id=zone_1["id"], details=[{"key": "enable.secstorage.vm", "value": "false"}])
    assert updated["zone"]["resourcedetails"]["enable.secstorage.vm"] == "false"
    assert zone(api, "zone-1")["resourcedetails"]["enable.secstorage.vm"] == "false"

    vm = only_ssvm(api, zone_1["id"])
    wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    sim.admin.scan()
    sim.admin.scan()
    assert ssvms(api, zone_1["id"]) == []

    api.updateZone(id=zone_1["id"], details=[{"key": "enable.secstorage.vm", "value": "true"}])
    healthy_ssvm(api, zone_1["id"])


def test_standby_rule_applies_only_after_a_management_server_restart(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    zone_1 = zone(api, "zone-1")
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="3")
    sim.admin.scan()
    sim.admin.scan()
    assert len(ssvms(api, zone_1["id"])) == 1, "S and B are read at management-server start only"

    before = api.listManagementServers(fetch_list=True)[0]["lastserverstart"]
    sim.admin.restart_management_server()
    after = eventually(
        lambda: api.listManagementServers(fetch_list=True)[0]["lastserverstart"] != before,
        what="lastserverstart to move",
    )
    assert after

    def three_healthy() -> bool:
        found = ssvms(api, zone_1["id"])
        return len(found) == 3 and all(healthy(vm) for vm in found)

    eventually(three_healthy, what="R*S >= B with S=1, B=3 in zone-1")
    assert len(ssvms(api, zone(api, "zone-2")["id"])) == 3, "the pair is global: every zone gets the same N"


def test_at_most_one_new_ssvm_per_zone_per_scan(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    zone_1 = zone(api, "zone-1")
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="4")
    sim.admin.restart_management_server()

    counts = []
    for _ in range(3):
        sim.admin.scan()
        counts.append(len(ssvms(api, zone_1["id"])))
    assert counts == [2, 3, 4]


def test_a_destroyed_command_executor_is_replaced_only_by_the_standby_rule(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    zone_1 = zone(api, "zone-1")
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="2")
    sim.admin.restart_management_server()
    eventually(lambda: len([vm for vm in ssvms(api, zone_1["id"]) if healthy(vm)]) == 2, what="two SSVMs")

    roles = {vm["id"]: vm["role"] for vm in sim.admin.ssvms(zone="zone-1")}
    executor = next(vm_id for vm_id, role in roles.items() if role == "commandExecutor")
    api.updateConfiguration(name="secstorage.capacity.standby", value="1")
    sim.admin.restart_management_server()
    wait_job(api, api.destroySystemVm(id=executor)["jobid"])
    sim.admin.scan()
    sim.admin.scan()
    assert len(ssvms(api, zone_1["id"])) == 1


def test_system_vm_auto_reserve_capacity_false_leaves_a_stopped_ssvm_stopped(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    # Read from the database on every scan although listed as non-dynamic (Premium...Impl L241-247).
    api.updateConfiguration(name="system.vm.auto.reserve.capacity", value="false")
    zone_1 = zone(api, "zone-1")
    vm = only_ssvm(api, zone_1["id"])
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    sim.admin.scan()
    sim.admin.scan()
    assert only_ssvm(api, zone_1["id"])["state"] == "Stopped"


def test_a_disabled_zone_is_not_scanned(api: CloudStack, sim: SimulatorHandle) -> None:
    zone_2 = zone(api, "zone-2")
    api.updateZone(id=zone_2["id"], allocationstate="Disabled")
    assert zone(api, "zone-2")["allocationstate"] == "Disabled"
    vm = only_ssvm(api, zone_2["id"])
    wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    sim.admin.scan()
    sim.admin.scan()
    assert ssvms(api, zone_2["id"]) == []


def test_a_zone_where_every_boot_fails_churns_new_ssvms(api: CloudStack, sim: SimulatorHandle) -> None:
    # allocCapacity destroys a VM from the stopped pool that fails to start; the next scan makes a new one.
    sim.admin.pause_scanner()
    zone_1 = zone(api, "zone-1")
    first = only_ssvm(api, zone_1["id"])
    sim.admin.set_zone_behaviour("zone-1", boot_fails=True)
    wait_job(api, api.stopSystemVm(id=first["id"])["jobid"])
    names = set()
    for _ in range(4):
        sim.admin.scan()
        names |= {vm["name"] for vm in ssvms(api, zone_1["id"])}
    assert first["id"] not in {vm["id"] for vm in ssvms(api, zone_1["id"])}
    assert len(names) >= 2, "each failed start leaves a new name behind"

    sim.admin.set_zone_behaviour("zone-1", boot_fails=False)
    sim.admin.resume_scanner()
    healthy_ssvm(api, zone_1["id"])


def test_agents_in_a_broken_zone_never_come_up(api: CloudStack, sim: SimulatorHandle) -> None:
    zone_2 = zone(api, "zone-2")
    vm = only_ssvm(api, zone_2["id"])
    sim.admin.set_zone_behaviour("zone-2", agent_connects_as="Alert")
    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    eventually(lambda: only_ssvm(api, zone_2["id"]).get("agentstate") == "Alert", what="agent Alert")
    assert only_ssvm(api, zone_2["id"])["state"] == "Running"


def test_auto_scale_down_stops_at_two_with_one_session_per_ssvm(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    # scaleDownSSVMOnLoad destroys an idle executor while A < ((R-1)*S)/2, integer division: with S=1 it
    # stops at R=2 (PremiumSecondaryStorageManagerImpl L192-205).
    sim.admin.pause_scanner()
    zone_1 = zone(api, "zone-1")
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="3")
    sim.admin.restart_management_server()
    for _ in range(2):
        sim.admin.scan()
    assert len(ssvms(api, zone_1["id"])) == 3

    api.updateConfiguration(name="secstorage.capacity.standby", value="1")
    sim.admin.restart_management_server()
    api.updateConfiguration(name="secstorage.vm.auto.scale.down", value="true")
    sim.admin.scan()
    eventually(lambda: len(ssvms(api, zone_1["id"])) == 2, what="one executor destroyed")
    sim.admin.scan()
    sim.admin.scan()
    assert len(ssvms(api, zone_1["id"])) == 2
    roles = {vm["role"] for vm in sim.admin.ssvms(zone="zone-1")}
    assert "templateProcessor" in roles, "the template processor is never scaled down"


def test_zone_capacity_limits_how_many_ssvms_run(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.set_zone_behaviour("zone-1", vm_capacity=2)  # its SSVM and its console proxy
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="3")
    sim.admin.restart_management_server()
    zone_1, zone_2 = zone(api, "zone-1"), zone(api, "zone-2")

    eventually(
        lambda: len([vm for vm in ssvms(api, zone_2["id"]) if healthy(vm)]) == 3, what="zone-2 at three"
    )
    running = [vm for vm in ssvms(api, zone_1["id"]) if vm["state"] == "Running"]
    assert len(running) == 1, "zone-1 has no room for more"
