"""getDiagnosticsData as DiagnosticsServiceImpl.getDiagnosticsDataCommand answers it: a URL while the guest
can zip its files, CloudStack's failures where it cannot, the diagnostics.data.* settings obeyed."""

from __future__ import annotations

import re
from typing import Any

from cs import CloudStack

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import eventually, ssvms, wait_job

URL = re.compile(r"^http://(?P<ip>[\d.]+)/userdata/[0-9a-f-]{36}\.zip$")
ZIP = re.compile(r"^diagnostics_data/diagnostics_files_\d{8}-\d{6}\.tar$")


def collect(api: CloudStack, vm_id: str, **params: Any) -> dict[str, Any]:
    submitted = api.getDiagnosticsData(targetid=vm_id, **params)
    assert set(submitted) == {"jobid"}, "an async command answers its job id only"
    job: dict[str, Any] = wait_job(api, submitted["jobid"])
    return job


def stored_files(sim: SimulatorHandle) -> dict[str, dict[str, Any]]:
    return {path: f for store in sim.admin.state()["image_stores"] for path, f in store["files"].items()}


def test_a_running_ssvm_answers_a_download_url_served_by_an_ssvm_of_its_zone(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    vm = ssvms(api)[0]
    job = collect(api, vm["id"])
    assert job["jobstatus"] == 1, job
    assert job["cmd"] == "org.apache.cloudstack.api.command.admin.diagnostics.GetDiagnosticsDataCmd"
    assert "jobinstanceid" not in job, "the command names no resource for its job (no getApiResourceId)"
    url = job["jobresult"]["diagnostics"]["url"]
    match = URL.match(url)
    assert match, url
    zone_ips = {s["publicip"] for s in ssvms(api, vm["zoneid"])}
    assert match["ip"] in zone_ips, "the link lives on an SSVM of the zone"

    [(path, stored)] = stored_files(sim).items()
    assert ZIP.match(path) and stored["vm"] == vm["id"]
    assert "/var/log/cloud.log" in stored["contents"] and "iptables" in stored["contents"]


def test_files_replace_the_default_list_and_the_setting_is_the_default(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    vm = ssvms(api)[0]
    assert collect(api, vm["id"], files="/var/log/cloud.log,/etc/hosts")["jobstatus"] == 1
    assert [f["contents"] for f in stored_files(sim).values()] == [["/var/log/cloud.log", "/etc/hosts"]]

    api.updateConfiguration(name="diagnostics.data.systemvm.defaults", value="/var/log/daemon.log, iproute")
    [setting] = api.listConfigurations(name="diagnostics.data.systemvm.defaults")["configuration"]
    assert setting["isdynamic"] is True
    collect(api, vm["id"])
    newest = max(stored_files(sim).values(), key=lambda f: str(f["written"]))
    assert {tuple(f["contents"]) for f in stored_files(sim).values()} >= {("/var/log/daemon.log", "iproute")}
    assert newest["vm"] == vm["id"]


def test_a_stopped_ssvm_has_no_host_and_the_job_fails(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    vm = ssvms(api)[0]
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    job = collect(api, vm["id"])
    assert job["jobstatus"] == 2
    assert job["jobresult"] == {
        "errorcode": 530,
        "errortext": f"Unable to find host for virtual machine instance: {vm['name']}",
    }
    assert stored_files(sim) == {}


def test_a_guest_unreachable_over_link_local_fails_before_anything_is_stored(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    vm = ssvms(api)[0]
    sim.admin.set_reachability(vm["id"], "link-local", reachable=False)
    job = collect(api, vm["id"])
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 530
    assert job["jobresult"]["errortext"].startswith(
        f"Failed to generate diagnostics zip file in VM {vm['id']}"
    )
    assert stored_files(sim) == {}


def test_the_link_local_target_does_not_change_run_diagnostics(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    sim.admin.set_reachability(vm["id"], "*", reachable=False)
    assert collect(api, vm["id"])["jobstatus"] == 1, "runDiagnostics targets say nothing about the guest"


def test_a_store_used_above_the_threshold_is_not_written_to(api: CloudStack, sim: SimulatorHandle) -> None:
    # The default store is 300 GiB used of 2 TiB: a threshold below that makes it a full store.
    vm = ssvms(api)[0]
    api.updateConfiguration(name="diagnostics.data.disable.threshold", value="0.1")
    job = collect(api, vm["id"])
    assert job["jobstatus"] == 2
    assert re.fullmatch(
        r"No suitable secondary storage found to retrieve diagnostics in Zone: \d+",
        job["jobresult"]["errortext"],
    )
    api.updateConfiguration(name="diagnostics.data.disable.threshold", value="0.9")
    assert collect(api, vm["id"])["jobstatus"] == 1


def test_without_an_ssvm_agent_up_the_zip_is_stored_but_no_link_is_made(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    sim.admin.pause_scanner()
    zone_vms = ssvms(api, ssvms(api)[0]["zoneid"])
    for vm in zone_vms:
        sim.admin.set_agent_state(vm["name"], "Alert", sticky=True)
    target = zone_vms[0]
    job = collect(api, target["id"])
    assert job["jobstatus"] == 2
    text = job["jobresult"]["errortext"]
    assert text.startswith("Unable to create a link for entity at diagnostics_data/diagnostics_files_"), text
    [path] = stored_files(sim)
    assert path in text, "the failure names where the zip lies on secondary storage"


def test_an_unknown_vm_is_refused_before_a_job(api: CloudStack) -> None:
    from cs import CloudStackApiException

    try:
        api.getDiagnosticsData(targetid="6a1d4f1e-0000-4000-8000-000000000000")
    except CloudStackApiException as error:
        assert error.error["errorcode"] == 431
    else:  # pragma: no cover - the assertion below reports it
        raise AssertionError("an unknown targetid must be refused")


def test_old_files_are_deleted_by_the_garbage_collector(api: CloudStack, sim: SimulatorHandle) -> None:
    # gc.enable and gc.interval are read at the management server's start; the age is dynamic.
    api.updateConfiguration(name="diagnostics.data.gc.interval", value="1")
    sim.admin.restart_management_server()
    vm = ssvms(api)[0]
    collect(api, vm["id"])
    [first] = stored_files(sim)
    eventually(lambda: collect(api, vm["id"]) and len(stored_files(sim)) == 2, what="a second zip")
    assert first in stored_files(sim), "younger than diagnostics.data.max.file.age (a day): kept"
    api.updateConfiguration(name="diagnostics.data.max.file.age", value="1")

    def first_collected() -> bool:
        collect(api, vm["id"])  # the collector's deletions show on the store at the next write
        return first not in stored_files(sim)

    eventually(first_collected, what="the collector deleting a zip older than max.file.age")
