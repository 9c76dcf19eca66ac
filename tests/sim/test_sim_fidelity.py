"""Where CloudStack is harsher than a kind simulator would be: each test names the CloudStack code it follows
(docs/simulator.md, "Behaviour that follows CloudStack where it is harsh")."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from cs import CloudStack, CloudStackApiException

from cloudstack_sim.testing import running_simulator
from tests.sim.sim_helpers import SCAN_INTERVAL, eventually, wait_job, zone


def _setting(api: CloudStack, name: str) -> dict[str, Any]:
    [row] = [c for c in api.listConfigurations(name=name, fetch_list=True) if c["name"] == name]
    return row


def _refused(call: Any) -> CloudStackApiException:
    with pytest.raises(CloudStackApiException) as caught:
        call()
    return caught.value


def test_boolean_settings_are_stored_lower_cased(api: CloudStack) -> None:
    # ConfigurationManagerImpl.updateConfiguration lower-cases a Boolean before storing it; UpdateCfgCmd
    # still answers with the requested text.
    answer = api.updateConfiguration(name="secstorage.encrypt.copy", value="True")["configuration"]
    assert answer["value"] == "True"
    assert _setting(api, "secstorage.encrypt.copy")["value"] == "true"


def test_clearing_a_boolean_is_530_and_an_integer_431(api: CloudStack) -> None:
    boolean = _refused(lambda: api.updateConfiguration(name="secstorage.encrypt.copy", value=""))
    assert boolean.response.status_code == 530
    integer = _refused(lambda: api.updateConfiguration(name="secstorage.capacity.standby", value=""))
    assert integer.response.status_code == 431
    assert integer.error["errortext"] == "Value [null] is not a valid [class java.lang.Integer]."
    assert _setting(api, "secstorage.capacity.standby")["value"] == "10", "nothing was cleared"


@pytest.mark.parametrize("value", ["no", "0", "", "yes"])
def test_enable_secstorage_vm_is_read_like_java_parse_boolean(sim: Any, api: CloudStack, value: str) -> None:
    # SecondaryStorageManagerImpl.isSecondaryStorageVmRequired: Boolean.parseBoolean(detail).
    zone_1 = zone(api, "zone-1")
    api.updateZone(id=zone_1["id"], **{"details[0].key": "enable.secstorage.vm", "details[0].value": value})
    vm = sim.admin.ssvms(zone="zone-1")[0]
    api.stopSystemVm(id=vm["id"])
    sim.admin.wait_for(lambda: sim.admin.vm(vm["id"])["state"] == "Stopped", timeout=10)
    for _ in range(3):
        sim.admin.scan()
    assert sim.admin.vm(vm["id"])["state"] == "Stopped", f"enable.secstorage.vm={value!r} disables SSVMs"


# --- agent host rows and their statuses ---------------------------------------------------------------


def _agent(api: CloudStack, vm_id: str) -> str | None:
    [vm] = api.listSystemVms(id=vm_id, fetch_list=True)
    state: str | None = vm.get("agentstate")
    return state


def test_a_new_ssvm_has_no_host_row_until_its_agent_connects(sim: Any, api: CloudStack) -> None:
    # The host row is created from the agent's StartupCommand (SecondaryStorageManagerImpl
    # .createHostVOForConnectedAgent); createSystemVmResponse sets agentstate only when it finds that row.
    sim.admin.set_zone_behaviour("zone-1", agent_connects=False)
    old = sim.admin.ssvms(zone="zone-1")[0]
    wait_job(api, api.destroySystemVm(id=old["id"])["jobid"])
    new = eventually(
        lambda: [
            v for v in sim.admin.ssvms(zone="zone-1") if v["id"] != old["id"] and v["state"] == "Running"
        ],
        what="the scanner's replacement",
    )[0]
    for _ in range(3):
        sim.admin.scan()
    [listed] = api.listSystemVms(id=new["id"], fetch_list=True)
    assert listed["state"] == "Running"
    assert not {"agentstate", "version", "disconnected"} & set(listed)
    assert not api.listHosts(type="SecondaryStorageVM", name=new["name"], fetch_list=True)

    sim.admin.set_zone_behaviour("zone-1", agent_connects=True)
    wait_job(api, api.rebootSystemVm(id=new["id"])["jobid"])
    eventually(lambda: _agent(api, new["id"]) == "Up", what="the first connect")
    [host] = api.listHosts(type="SecondaryStorageVM", name=new["name"], fetch_list=True)
    assert host["state"] == "Up"


def test_after_a_stop_and_start_the_row_stays_disconnected_until_the_agent_connects(
    sim: Any, api: CloudStack
) -> None:
    sim.admin.pause_scanner()
    vm = sim.admin.ssvms(zone="zone-1")[0]
    stopped = wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])["jobresult"]["systemvm"]
    assert stopped["state"] == "Stopped" and stopped["agentstate"] == "Disconnected"
    sim.admin.set_zone_behaviour("zone-1", agent_connects=False)
    started = wait_job(api, api.startSystemVm(id=vm["id"])["jobid"])["jobresult"]["systemvm"]
    assert started["state"] == "Running" and started["agentstate"] == "Disconnected"
    sim.admin.set_zone_behaviour("zone-1", agent_connects=True)
    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    eventually(lambda: _agent(api, vm["id"]) == "Up", what="the agent to connect")


@pytest.mark.parametrize(("release", "after_stop"), [("4.15", "Alert"), ("4.16", "Disconnected")])
def test_a_stopped_ssvm_agent_is_disconnected_from_4_16(release: str, after_stop: str) -> None:
    # VirtualMachineManagerImpl.advanceStop marks a stopped system VM's agent ShutdownRequested ->
    # Disconnected since PR #5010 (4.16); before, the closed link left it Alert.
    with running_simulator(
        scan_interval=SCAN_INTERVAL, seed=7, scenario={"cloudstack_version": release}
    ) as s:
        api = s.client(method="post", poll_interval=0.05)
        s.admin.pause_scanner()
        vm = s.admin.ssvms(zone="zone-1")[0]
        result = wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])["jobresult"]["systemvm"]
        assert result["agentstate"] == after_stop


def test_a_crashed_guest_leaves_its_agent_in_alert(sim: Any, api: CloudStack) -> None:
    # The link closes; AgentManagerImpl.investigate answers Alert for every virtual (system VM) host.
    sim.admin.pause_scanner()
    vm = sim.admin.ssvms(zone="zone-1")[0]
    sim.admin.fail_vm(vm["id"], "Stopped")
    assert _agent(api, vm["id"]) == "Alert"


def _slow_reboot() -> Any:
    """A guest that takes 2 s to reboot, so the states in between can be seen at any load."""
    return running_simulator(scan_interval=SCAN_INTERVAL, seed=7, timings={"reboot": 2.0})


def test_a_reboot_drops_the_link_as_alert_then_reconnects() -> None:
    with _slow_reboot() as s:
        api = s.client(method="post", poll_interval=0.05)
        vm = s.admin.ssvms(zone="zone-1")[0]
        api.rebootSystemVm(id=vm["id"])
        seen: list[str] = []

        def cycled() -> bool:
            state = _agent(api, vm["id"]) or "-"
            if not seen or seen[-1] != state:
                seen.append(state)
            return "Alert" in seen and seen[-1] == "Up"

        eventually(cycled, what="Up -> Alert -> ... -> Up")
        assert seen[0] == "Up" and "Down" not in seen and "Disconnected" not in seen


def test_a_management_server_restart_reconnects_its_agents(sim: Any, api: CloudStack) -> None:
    # AgentManagerImpl.stop(): Up + ManagementServerDown -> Disconnected, `disconnected` untouched; the
    # agents reconnect and get the connect-time settings from the restarted server.
    vm = sim.admin.ssvms(zone="zone-1")[0]
    before = api.listSystemVms(id=vm["id"], fetch_list=True)[0].get("disconnected")
    seen: set[str] = set()
    sim.admin.restart_management_server()

    def back() -> bool:
        state = _agent(api, vm["id"]) or "-"
        seen.add(state)
        return state == "Up" and sim.admin.vm(vm["id"])["boot"]["agent_connected_at"] is not None

    eventually(back, what="the agent back Up")
    listed = api.listSystemVms(id=vm["id"], fetch_list=True)[0]
    assert listed.get("disconnected") == before
    assert sim.admin.vm(vm["id"])["boot"]["boot_count"] == 1, "no reboot: only the agent reconnected"


def test_a_decommissioned_management_server_stays_listed_as_down() -> None:
    # QueryManagerImpl.listManagementServersInternal filters nothing by state.
    scenario = {"management_servers": [{"name": "ms-1"}, {"name": "ms-old", "state": "Down"}]}
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7, scenario=scenario) as s:
        servers = {m["name"]: m["state"] for m in s.client().listManagementServers(fetch_list=True)}
        assert servers == {"ms-1": "Up", "ms-old": "Down"}


# --- runDiagnostics when the guest cannot run the command ----------------------------------------------


def _diagnose(api: CloudStack, vm_id: str) -> dict[str, Any]:
    job = wait_job(api, api.runDiagnostics(targetid=vm_id, ipaddress="10.1.0.5", type="ping")["jobid"])
    assert job["jobstatus"] == 1, "DiagnosticsAnswer.getExecutionDetails: the job still succeeds"
    result: dict[str, Any] = job["jobresult"]["diagnostics"]
    return result


def test_run_diagnostics_in_a_hung_guest_succeeds_with_exit_code_minus_one(sim: Any, api: CloudStack) -> None:
    vm = sim.admin.ssvms(zone="zone-1")[0]
    assert _diagnose(api, vm["id"])["exitcode"] == "0"
    sim.admin.set_guest(vm["id"], hung=True)
    assert _diagnose(api, vm["id"]) == {"stdout": "", "stderr": "timeout", "exitcode": "-1"}
    # Its agent misses pings: Disconnected after the ping timeout; an ACPI reboot does nothing.
    eventually(lambda: _agent(api, vm["id"]) == "Disconnected", what="the ping timeout")
    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    assert _diagnose(api, vm["id"])["exitcode"] == "-1", "a hung guest ignores the ACPI reboot"
    # A forced reboot (stop, then start) clears it.
    wait_job(api, api.rebootSystemVm(id=vm["id"], forced=True)["jobid"])
    eventually(lambda: _agent(api, vm["id"]) == "Up", what="the agent after a forced reboot")
    assert _diagnose(api, vm["id"])["exitcode"] == "0"


def test_run_diagnostics_without_ssh_to_the_guest(sim: Any, api: CloudStack) -> None:
    vm = sim.admin.ssvms(zone="zone-1")[0]
    sim.admin.set_guest(vm["id"], ssh=False)
    assert _diagnose(api, vm["id"])["exitcode"] == "-1"
    assert _agent(api, vm["id"]) == "Up", "the agent's own link is not SSH"


def test_run_diagnostics_mid_reboot() -> None:
    with _slow_reboot() as s:
        api = s.client(method="post", poll_interval=0.05)
        vm = s.admin.ssvms(zone="zone-1")[0]
        api.rebootSystemVm(id=vm["id"])
        eventually(lambda: s.admin.vm(vm["id"])["guest"]["booting"], what="the guest going down")
        assert _diagnose(api, vm["id"])["exitcode"] == "-1"


# --- the admin path refuses bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/zones/zone-1/behaviour", {"agent_connects_as": "Down"}),
        ("/zones/zone-1/behaviour", {"vm_capacity": "many"}),
        ("/zones/zone-1/behaviour", {"boot_fails": "yes"}),
        ("/zones/zone-1/behaviour", {"no_such_field": 1}),
        ("/vms/s-1-VM/fail", {"state": "Exploded"}),
        ("/vms/s-1-VM/agent", {"state": "Down"}),
        ("/vms/s-1-VM/guest", {"hung": "maybe"}),
        ("/management-server/restart", {"downtime": "soon"}),
        ("/management-server/restart", {"names": "ms-1"}),
        ("/vms/s-1-VM/reachability", {"reachable": "no"}),
        ("/faults", {"kind": "error", "count": "x"}),
        ("/vms/s-1-VM/agent", [1, 2]),
    ],
)
def test_bad_admin_input_is_a_clear_400(sim: Any, path: str, body: Any) -> None:
    answer = requests.post(sim.admin_url + path, json=body, timeout=5)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]
    assert requests.get(sim.admin_url + "/health", timeout=5).json() == {"ok": True}


# --- image-store capacity -------------------------------------------------------------------------------


def test_the_capacity_threshold_setting_exists(api: CloudStack) -> None:
    row = _setting(api, "secondary.storage.capacity.threshold")
    assert row["value"] == "0.90" and row["isdynamic"] is True and row["type"] == "Decimal"
    error = _refused(lambda: api.updateConfiguration(name="secondary.storage.capacity.threshold", value="x"))
    assert error.error["errortext"] == "Value [x] is not a valid [class java.lang.Float]."


def test_a_full_image_store_stops_new_ssvms_but_not_starts(sim: Any, api: CloudStack) -> None:
    # createSecStorageVmInstance needs getImageStoreWithFreeCapacity; finalizeVirtualMachineProfile returns
    # before the boot arguments, and orchestrateStart ignores that.
    sim.admin.pause_scanner()
    [store] = [s for s in sim.admin.state()["image_stores"] if s["zone"] == "zone-1"]
    sim.admin.set_image_store(store["id"], total_gib=1000, used_gib=950)
    vm = sim.admin.ssvms(zone="zone-1")[0]
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    started = wait_job(api, api.startSystemVm(id=vm["id"])["jobid"])["jobresult"]["systemvm"]
    assert started["state"] == "Running"
    boot = sim.admin.vm(vm["id"])["boot"]
    assert boot["boot_args"] is False and boot["settings"] == {}

    wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    [decision] = [d for d in sim.admin.scan() if d["zone"] == "zone-1"]
    assert decision["action"] == "create"
    assert "secondary.storage.capacity.threshold" in decision["outcome"]
    assert not sim.admin.ssvms(zone="zone-1"), "no SSVM is created while every store is over the threshold"

    api.updateConfiguration(name="secondary.storage.capacity.threshold", value="0.96")  # dynamic
    sim.admin.scan()
    [new] = sim.admin.ssvms(zone="zone-1")
    assert sim.admin.vm(new["id"])["boot"]["boot_args"] is True


# --- system template readiness ----------------------------------------------------------------------------


def test_template_readiness_follows_the_zones_hypervisors_not_where_it_was_downloaded() -> None:
    # VMTemplateDaoImpl.findSystemVMReadyTemplates: hypervisor and arch of the zone's hosts; downloaded in
    # any store.
    scenario = {
        "templates": [
            {"hypervisor": "KVM", "ready_in": ["kvm-zone"]},
            {"hypervisor": "VMware", "ready_in": ["vmware-zone", "mixed-zone"]},
        ],
        "zones": [
            {"name": "kvm-zone"},
            {"name": "vmware-zone", "hypervisor": "VMware"},
            {"name": "xen-zone", "hypervisor": "XenServer"},
            {"name": "mixed-zone", "hosts": [{"name": "k1", "hypervisor": "KVM"}]},
        ],
    }
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7, scenario=scenario, scanner_paused=True) as s:
        ready = {z["name"]: z["ready"] for z in s.admin.state()["zones"]}
        # The KVM template is downloaded only in kvm-zone's store, yet it makes mixed-zone (KVM hosts) ready;
        # the VMware template ready in mixed-zone does not help a zone without VMware hosts.
        assert ready == {"kvm-zone": True, "vmware-zone": True, "xen-zone": False, "mixed-zone": True}
        assert {v["zone"] for v in s.admin.ssvms()} == {"kvm-zone", "vmware-zone", "mixed-zone"}
        api = s.client()
        hypervisors = {
            v["zonename"]: v["hypervisor"]
            for v in api.listSystemVms(systemvmtype="secondarystoragevm")["systemvm"]
        }
        assert hypervisors == {"kvm-zone": "KVM", "vmware-zone": "VMware", "mixed-zone": "KVM"}


# --- changeServiceForSystemVm ------------------------------------------------------------------------


def _offering(api: CloudStack, name: str) -> dict[str, Any]:
    offerings = api.listServiceOfferings(issystem=True, systemvmtype="secondarystoragevm", fetch_list=True)
    [found] = [o for o in offerings if o["name"] == name]
    return found


def test_every_install_has_local_storage_twins_that_a_shared_ssvm_cannot_take(api: CloudStack) -> None:
    # ServiceOfferingDaoImpl.createSystemServiceOfferings; VirtualMachineManagerImpl
    # .checkIfNewOfferingStorageScopeMatchesStoragePool.
    twin = _offering(api, "System Offering For Secondary Storage VM - Local Storage")
    assert twin["storagetype"] == "local"
    vm = api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)[0]
    error = _refused(lambda: api.changeServiceForSystemVm(id=vm["id"], serviceofferingid=twin["id"]))
    assert error.response.status_code == 431
    assert (
        "target offering use local storage but the storage pool where the volume is allocated is a shared"
        in (error.error["errortext"])
    )


def test_an_offering_without_the_current_storage_tags_is_refused() -> None:
    scenario = {
        "offerings": [
            {"name": "Tagged", "storagetags": "ssd"},
            {"name": "Untagged"},
            {"name": "Tagged More", "storagetags": "ssd,fast"},
        ],
        "zones": [{"name": "zone-1", "ssvms": [{"offering": "Tagged"}]}],
    }
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7, scenario=scenario, scanner_paused=True) as s:
        api = s.client(method="post")
        vm = api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)[0]
        untagged = _offering(api, "Untagged")
        error = _refused(lambda: api.changeServiceForSystemVm(id=vm["id"], serviceofferingid=untagged["id"]))
        assert error.response.status_code == 431
        assert error.error["errortext"].endswith(
            "Current service offering tags: [ssd]; new service offering tags: []"
        )
        more = _offering(api, "Tagged More")
        assert api.changeServiceForSystemVm(id=vm["id"], serviceofferingid=more["id"])["systemvm"]


def test_an_offering_no_host_can_run_is_accepted_then_fails_at_the_next_start() -> None:
    # isVirtualMachineUpgradable asks the host allocators, which all answer true: the host tags and the
    # capacity only bite when the deployment planner looks for a host at the next start.
    scenario = {
        "offerings": [
            {"name": "Needs GPU", "hosttags": "gpu"},
            {"name": "Huge", "cpunumber": 64, "cpuspeed": 3000},
        ],
        "zones": [{"name": "zone-1"}],
    }
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7, scenario=scenario, scanner_paused=True) as s:
        api = s.client(method="post", poll_interval=0.05)
        vm = api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)[0]
        for name in ("Needs GPU", "Huge"):
            api.changeServiceForSystemVm(id=vm["id"], serviceofferingid=_offering(api, name)["id"])
            wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
            started = wait_job(api, api.startSystemVm(id=vm["id"])["jobid"])
            assert started["jobstatus"] == 2 and started["jobresultcode"] == 530, name


# --- console proxies ----------------------------------------------------------------------------------------


def _proxies(api: CloudStack, zone_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.listSystemVms(
        systemvmtype="consoleproxy", zoneid=zone_id, fetch_list=True
    )
    return found


def test_console_proxies_are_kept_by_their_own_scanner(sim: Any, api: CloudStack) -> None:
    # ConsoleProxyManagerImpl.scanPool/allocCapacity: a stopped proxy is started again, a destroyed one is
    # recreated under a new name.
    zone_1 = zone(api, "zone-1")["id"]
    [proxy] = _proxies(api, zone_1)
    assert proxy["activeviewersessions"] == 0
    wait_job(api, api.stopSystemVm(id=proxy["id"])["jobid"])
    eventually(lambda: _proxies(api, zone_1)[0]["state"] == "Running", what="the proxy started again")
    assert _proxies(api, zone_1)[0]["id"] == proxy["id"]

    wait_job(api, api.destroySystemVm(id=proxy["id"])["jobid"])
    [new] = eventually(
        lambda: [p for p in _proxies(api, zone_1) if p["id"] != proxy["id"] and p["state"] == "Running"],
        what="a new console proxy",
    )
    assert new["name"] != proxy["name"] and new["name"].startswith("v-")
    eventually(lambda: _proxies(api, zone_1)[0].get("agentstate") == "Up", what="the new proxy's agent")
