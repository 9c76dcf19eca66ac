"""SystemVm commands as async jobs: submission, pending markers, results and resulting states (§2.2, §6.3)."""

from __future__ import annotations

import re

import pytest
from cs import AIOCloudStack, CloudStack, CloudStackApiException

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import (
    CS_DATE,
    boot_record,
    eventually,
    healthy_ssvm,
    only_ssvm,
    raw_call,
    ssvms,
    wait_job,
    zone,
)


def test_stop_returns_a_job_whose_result_is_the_stopped_vm(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    zone_1 = zone(api, "zone-1")
    vm = only_ssvm(api, zone_1["id"])

    submitted = api.stopSystemVm(id=vm["id"])
    assert set(submitted) == {"jobid"}
    job = wait_job(api, submitted["jobid"])

    assert job["jobstatus"] == 1
    assert job["jobresultcode"] == 0
    assert job["jobresulttype"] == "object"
    assert job["jobinstancetype"] == "SystemVm"
    assert job["jobinstanceid"] == vm["id"]
    assert job["cmd"] == "org.apache.cloudstack.api.command.admin.systemvm.StopSystemVmCmd"
    assert job["jobid"] == submitted["jobid"]
    assert CS_DATE.match(job["created"]) and CS_DATE.match(job["completed"])
    assert job["jobresult"]["systemvm"]["id"] == vm["id"]
    assert job["jobresult"]["systemvm"]["state"] == "Stopped"

    stopped = only_ssvm(api, zone_1["id"])
    assert stopped["state"] == "Stopped"
    assert "hostid" not in stopped, "a stopped VM runs on no hypervisor"
    assert stopped["agentstate"] != "Up"
    assert CS_DATE.match(stopped["disconnected"])


def test_a_pending_job_is_marked_on_the_vm(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("stopSystemVm", "job_stuck")
    vm = ssvms(api)[0]
    job_id = api.stopSystemVm(id=vm["id"])["jobid"]

    marked = only_ssvm(api, vm["zoneid"])
    assert marked["jobid"] == job_id
    assert marked["jobstatus"] == 0
    pending = api.queryAsyncJobResult(jobid=job_id)
    assert pending["jobstatus"] == 0
    assert "jobresult" not in pending and "completed" not in pending


def test_start_after_stop(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    vm = ssvms(api)[0]
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])

    job = wait_job(api, api.startSystemVm(id=vm["id"])["jobid"])
    assert job["jobstatus"] == 1
    assert job["jobresult"]["systemvm"]["state"] == "Running"
    assert healthy_ssvm(api, vm["zoneid"])["id"] == vm["id"]


def test_start_goes_through_starting_and_connecting(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    vm = ssvms(api)[0]
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    api.startSystemVm(id=vm["id"])
    seen: set[tuple[str, str | None]] = set()

    def up() -> bool:
        current = only_ssvm(api, vm["zoneid"])
        seen.add((current["state"], current.get("agentstate")))
        return current["state"] == "Running" and current.get("agentstate") == "Up"

    eventually(up, what="the VM up again")
    assert any(state == "Starting" for state, _ in seen)


def test_reboot_keeps_the_vm_running_while_the_agent_reconnects(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    # KVM: LibvirtComputingResource.rebootVM returns once the ACPI request is sent, so the job ends with the
    # agent still Up and `disconnected` unchanged; the link drops afterwards (Alert), then reconnects.
    vm = ssvms(api)[0]
    before = vm.get("disconnected")
    job = wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    assert job["jobstatus"] == 1
    result = job["jobresult"]["systemvm"]
    assert result["state"] == "Running" and result["agentstate"] == "Up"
    assert result.get("disconnected") == before

    eventually(lambda: only_ssvm(api, vm["zoneid"]).get("disconnected") != before, what="the link drop")
    after = healthy_ssvm(api, vm["zoneid"])
    assert after["id"] == vm["id"] and after["name"] == vm["name"]
    assert CS_DATE.match(after["disconnected"])


def test_the_agent_drops_during_a_reboot(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    api.rebootSystemVm(id=vm["id"])
    states: set[str] = set()

    def reconnected() -> bool:
        current = only_ssvm(api, vm["zoneid"])
        assert current["state"] == "Running", "a reboot never stops the VM"
        states.add(current["agentstate"])
        return current["agentstate"] == "Up" and len(states) > 1

    eventually(reconnected, what="the agent to drop and come back")


def test_destroy_removes_the_vm_and_its_host_row(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    vm = ssvms(api)[0]
    job = wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    assert job["jobstatus"] == 1
    assert job["jobresult"]["systemvm"]["id"] == vm["id"]
    assert api.listSystemVms(id=vm["id"]) == {}
    assert api.listHosts(type="SecondaryStorageVM", name=vm["name"]) == {}


def test_change_service_is_synchronous_and_applies_at_next_start(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    sim.admin.pause_scanner()
    offerings = api.listServiceOfferings(issystem=True, systemvmtype="secondarystoragevm", fetch_list=True)
    vm = ssvms(api)[0]
    other = next(o for o in offerings if o["id"] != vm["serviceofferingid"] and o["storagetype"] == "shared")

    changed = api.changeServiceForSystemVm(id=vm["id"], serviceofferingid=other["id"])
    assert changed["systemvm"]["id"] == vm["id"]
    assert changed["systemvm"]["serviceofferingid"] == other["id"]

    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    assert only_ssvm(api, vm["zoneid"])["serviceofferingid"] == other["id"]
    assert boot_record(sim, vm["id"])["offering"]["id"] != other["id"], (
        "a reboot does not apply a new offering"
    )

    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    wait_job(api, api.startSystemVm(id=vm["id"])["jobid"])
    assert boot_record(sim, vm["id"])["offering"]["id"] == other["id"], "the next start does"


def test_change_service_to_the_same_offering_is_431(api: CloudStack) -> None:
    vm = ssvms(api)[0]
    with pytest.raises(CloudStackApiException) as caught:
        api.changeServiceForSystemVm(id=vm["id"], serviceofferingid=vm["serviceofferingid"])
    assert caught.value.response.status_code == 431


def test_change_service_to_a_user_offering_is_431(api: CloudStack) -> None:
    vm = ssvms(api)[0]
    user_offering = api.listServiceOfferings(fetch_list=True)[0]
    with pytest.raises(CloudStackApiException) as caught:
        api.changeServiceForSystemVm(id=vm["id"], serviceofferingid=user_offering["id"])
    assert caught.value.response.status_code == 431


def test_scale_is_async_under_the_change_service_response_key(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    vm = ssvms(api)[0]
    offerings = api.listServiceOfferings(issystem=True, systemvmtype="secondarystoragevm", fetch_list=True)
    other = next(o for o in offerings if o["id"] != vm["serviceofferingid"] and o["storagetype"] == "shared")
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    answer = raw_call(sim, "scaleSystemVm", id=vm["id"], serviceofferingid=other["id"])
    assert answer.status_code == 200
    assert set(answer.json()) == {"changeserviceforsystemvmresponse"}
    job = wait_job(api, answer.json()["changeserviceforsystemvmresponse"]["jobid"])
    assert job["jobstatus"] == 1
    assert job["jobresult"]["systemvm"]["serviceofferingid"] == other["id"]


def test_scaling_a_running_ssvm_needs_dynamic_scaling(api: CloudStack) -> None:
    # enable.dynamic.scale.vm is false by default, so the job fails
    # (UserVmManagerImpl.upgradeRunningVirtualMachine).
    vm = ssvms(api)[0]
    offerings = api.listServiceOfferings(issystem=True, systemvmtype="secondarystoragevm", fetch_list=True)
    other = next(o for o in offerings if o["id"] != vm["serviceofferingid"] and o["storagetype"] == "shared")
    job = wait_job(api, api.scaleSystemVm(id=vm["id"], serviceofferingid=other["id"])["jobid"])
    assert job["jobstatus"] == 2
    assert job["jobresultcode"] == 530
    assert only_ssvm(api, vm["zoneid"])["serviceofferingid"] == vm["serviceofferingid"]


def test_migrate_takes_virtualmachineid(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    with pytest.raises(CloudStackApiException) as caught:
        api.migrateSystemVm(id=vm["id"])
    assert caught.value.response.status_code == 431
    assert "virtualmachineid" in caught.value.error["errortext"]

    job = wait_job(api, api.migrateSystemVm(virtualmachineid=vm["id"])["jobid"])
    assert job["jobstatus"] == 1
    moved = job["jobresult"]["systemvm"]
    assert moved["state"] == "Running"
    assert moved["hostid"] != vm["hostid"]


def test_list_async_jobs_shows_submitted_jobs(api: CloudStack) -> None:
    vm = ssvms(api)[0]
    job_id = api.rebootSystemVm(id=vm["id"])["jobid"]
    wait_job(api, job_id)
    jobs = api.listAsyncJobs(fetch_list=True)
    mine = [j for j in jobs if j["jobid"] == job_id]
    assert len(mine) == 1
    assert mine[0]["jobstatus"] == 1
    assert re.match(r".*RebootSystemVmCmd$", mine[0]["cmd"])


def test_an_unknown_job_is_431(api: CloudStack) -> None:
    with pytest.raises(CloudStackApiException) as caught:
        api.queryAsyncJobResult(jobid="00000000-0000-0000-0000-000000000000")
    assert caught.value.response.status_code == 431


def test_cs_fetch_result_waits_for_the_job(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    result = api.rebootSystemVm(id=vm["id"], fetch_result=True)
    assert result["systemvm"]["id"] == vm["id"]


async def test_the_async_client_runs_a_job_to_completion(aapi: AIOCloudStack, sim: SimulatorHandle) -> None:
    vms = await aapi.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)
    result = await aapi.rebootSystemVm(id=vms[0]["id"], fetch_result=True)
    assert result["systemvm"]["id"] == vms[0]["id"]


def test_destroying_a_destroyed_ssvm_fails_inside_the_job(api: CloudStack, sim: SimulatorHandle) -> None:
    # The uuid still resolves (removed rows included), so the 431 check passes and the job fails.
    sim.admin.pause_scanner()
    vm = ssvms(api)[0]
    wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    job = wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    assert job["jobstatus"] == 2
    assert job["jobresult"] == {"errorcode": 530, "errortext": "Fail to destroy system vm"}


def test_a_restart_fails_the_jobs_the_management_server_owned(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("rebootSystemVm", "job_stuck", count=1)
    vm = ssvms(api)[0]
    job_id = api.rebootSystemVm(id=vm["id"])["jobid"]
    assert api.queryAsyncJobResult(jobid=job_id)["jobstatus"] == 0
    sim.admin.restart_management_server()
    job = wait_job(api, job_id)
    assert job["jobstatus"] == 2
    assert job["jobresultcode"] == 530
    assert "jobid" not in only_ssvm(api, vm["zoneid"]), "no job is pending on the VM any more"


def test_migrate_to_an_unknown_storage_pool_is_431(api: CloudStack) -> None:
    # storageid is a UUID parameter (StoragePoolResponse); no storage pool is simulated, so none resolves.
    vm = ssvms(api)[0]
    with pytest.raises(CloudStackApiException) as caught:
        api.migrateSystemVm(virtualmachineid=vm["id"], storageid="6e1c3fd4-3a36-4a3b-a7a4-2f4f4f1e0d01")
    assert caught.value.response.status_code == 431
