"""Faults injected through the admin path, seen the way the operator's cs client sees them."""

from __future__ import annotations

import time

import pytest
import requests
from cs import AIOCloudStack, CloudStack, CloudStackApiException, CloudStackException

from cloudstack_sim.testing import AdminError, SimulatorHandle
from tests.sim.sim_helpers import eventually, healthy, only_ssvm, ssvms, wait_job, zone


def test_an_error_fault_answers_with_a_cloudstack_error_document(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    sim.admin.inject_fault("listSystemVms", "error", count=1)
    with pytest.raises(CloudStackApiException) as caught:
        api.listSystemVms(systemvmtype="secondarystoragevm")
    assert caught.value.response.status_code == 530
    assert caught.value.error["errorcode"] == 530
    assert caught.value.error["uuidList"] == []
    assert len(api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)) == 2, (
        "count=1 is used up by one call"
    )


def test_an_error_fault_can_carry_another_status(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("listZones", "error", count=1, status=503)
    with pytest.raises(CloudStackApiException) as caught:
        api.listZones()
    assert caught.value.response.status_code == 503


def test_a_gateway_fault_answers_with_a_non_json_page(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("listZones", "gateway", count=1)
    with pytest.raises(CloudStackException) as caught:
        api.listZones()
    assert not isinstance(caught.value, CloudStackApiException)
    assert "502" in str(caught.value)


def test_a_timeout_fault_hangs_past_the_client_timeout(sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("listHosts", "timeout", count=1, delay=5)
    client = CloudStack(
        endpoint=sim.api_url, key=sim.api_key, secret=sim.secret_key, method="post", timeout=1
    )
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        client.listHosts(type="SecondaryStorageVM")
    assert time.monotonic() - started < 4
    assert client.listHosts(type="SecondaryStorageVM")["count"] == 2, "count=1 is used up"


def test_a_slow_fault_delays_a_correct_answer(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("listZones", "slow", count=1, delay=0.4)
    started = time.monotonic()
    assert api.listZones()["count"] == 2
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    api.listZones()
    assert time.monotonic() - started < 0.4


def test_a_job_failure_fault_fails_the_job_with_530(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    sim.admin.inject_fault("stopSystemVm", "job_failure", count=1)
    vm = ssvms(api)[0]
    job = wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    assert job["jobstatus"] == 2
    assert job["jobresultcode"] == 530
    assert set(job["jobresult"]) == {"errorcode", "errortext"}
    assert job["jobresult"]["errorcode"] == 530
    assert only_ssvm(api, vm["zoneid"])["state"] == "Running", "a failed job changed nothing"


def test_cs_raises_job_failure_for_a_failed_job(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("rebootSystemVm", "job_failure", count=1)
    vm = ssvms(api)[0]
    with pytest.raises(CloudStackApiException) as caught:
        api.rebootSystemVm(id=vm["id"], fetch_result=True)
    assert caught.value.error["errorcode"] == 530


async def test_a_stuck_job_never_finishes(sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("destroySystemVm", "job_stuck")
    client = AIOCloudStack(
        endpoint=sim.api_url, key=sim.api_key, secret=sim.secret_key, method="post", poll_interval=0.05,
        job_timeout=0.5,
    )  # fmt: skip
    async with client:
        vms = await client.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)
        with pytest.raises(CloudStackException) as caught:
            await client.destroySystemVm(id=vms[0]["id"], fetch_result=True)
        assert "Timeout waiting for async job result" in str(caught.value)
        assert len(await client.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)) == 2


def test_a_probability_fault_fires_only_sometimes(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("listZones", "error", probability=0.5)
    outcomes = []
    for _ in range(40):
        try:
            api.listZones()
            outcomes.append(True)
        except CloudStackApiException:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35


def test_faults_can_match_every_command_and_be_cleared(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.inject_fault("*", "error")
    with pytest.raises(CloudStackApiException):
        api.listZones()
    with pytest.raises(CloudStackApiException):
        api.listCapabilities()
    sim.admin.clear_faults()
    assert api.listZones()["count"] == 2


def test_a_failed_vm_shows_error_and_a_dropped_agent(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    zone_1 = zone(api, "zone-1")
    vm = only_ssvm(api, zone_1["id"])
    sim.admin.fail_vm(vm["id"])
    failed = only_ssvm(api, zone_1["id"])
    assert failed["state"] == "Error"
    assert failed["agentstate"] != "Up"
    assert "hostid" not in failed


def test_an_ssvm_in_error_is_left_alone_and_a_new_one_takes_over(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    # An Error TP is neither active nor in the stopped pool, so scanPool expands with a new TP.
    zone_1 = zone(api, "zone-1")
    vm = only_ssvm(api, zone_1["id"])
    sim.admin.fail_vm(vm["id"])

    def replaced() -> bool:
        found = {v["id"]: v for v in ssvms(api, zone_1["id"])}
        fresh = [v for v in found.values() if v["id"] != vm["id"]]
        return found.get(vm["id"], {}).get("state") == "Error" and len(fresh) == 1 and healthy(fresh[0])

    eventually(replaced, what="a healthy replacement next to the Error VM")
    job = wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    assert job["jobstatus"] == 1, "an Error VM can be destroyed"


def test_an_agent_can_be_made_to_drop(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    for state in ("Disconnected", "Alert", "Up"):
        sim.admin.set_agent_state(vm["id"], state)
        listed = only_ssvm(api, vm["zoneid"])
        assert listed["state"] == "Running"
        assert listed["agentstate"] == state
        host = api.listHosts(type="SecondaryStorageVM", name=vm["name"], fetch_list=True)[0]
        assert host["state"] == state


def test_an_agent_cannot_be_made_down(api: CloudStack, sim: SimulatorHandle) -> None:
    # No CloudStack path takes a system VM's (virtual) agent to Down: the admin path refuses it clearly.
    vm = ssvms(api)[0]
    with pytest.raises(AdminError) as caught:
        sim.admin.set_agent_state(vm["id"], "Down")
    assert "HTTP 400" in str(caught.value) and "never reaches Down" in str(caught.value)
    assert only_ssvm(api, vm["zoneid"])["agentstate"] == "Up"


def test_a_reboot_repairs_a_dropped_agent(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    sim.admin.set_agent_state(vm["id"], "Alert")
    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    eventually(lambda: only_ssvm(api, vm["zoneid"]).get("agentstate") == "Up", 10)


def test_a_sticky_agent_fault_survives_reboots(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    sim.admin.set_agent_state(vm["id"], "Disconnected", sticky=True)
    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    # The agent drops and comes back... to the sticky state, not Up.
    eventually(lambda: only_ssvm(api, vm["zoneid"]).get("agentstate") == "Disconnected", 10)
    time_after = time.monotonic() + 0.5
    while time.monotonic() < time_after:
        assert only_ssvm(api, vm["zoneid"]).get("agentstate") != "Up"


def test_call_counts_per_command(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.reset_call_counts()
    api.listZones()
    api.listZones()
    api.listCapabilities()
    counts = sim.admin.call_counts()
    assert counts["listZones"] == 2
    assert counts["listCapabilities"] == 1
    sim.admin.reset_call_counts()
    assert sim.admin.call_counts().get("listZones", 0) == 0
