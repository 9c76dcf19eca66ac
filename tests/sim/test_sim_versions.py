"""The simulator answers as the CloudStack release it is told to be (--cloudstack-version, releases.py).

Every check goes through the real `cs` client, the way the operator talks to CloudStack: what a release did
not have yet is absent from its answers, and a command it did not have is refused like an unknown one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from cs import CloudStack, CloudStackApiException

from cloudstack_sim.releases import DIFFERENCES, LATEST, Kind, render
from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.sim.sim_helpers import SCAN_INTERVAL, boot_record, eventually, only_ssvm, wait_job, zone
from tests.support.paths import REPOSITORY


@contextmanager
def cloudstack(version: str | None, **options: Any) -> Iterator[tuple[SimulatorHandle, CloudStack]]:
    """A simulator answering as `version`, and the client the operator would use against it."""
    options.setdefault("scan_interval", SCAN_INTERVAL)
    with running_simulator(seed=7, cloudstack_version=version, **options) as sim:
        yield sim, sim.client(method="post", timeout=10, poll_interval=0.05)


def refused(call: Any) -> CloudStackApiException:
    with pytest.raises(CloudStackApiException) as caught:
        call()
    return caught.value


def test_without_a_version_the_simulator_is_the_newest_release_it_models() -> None:
    with cloudstack(None) as (sim, api):
        newest = render(LATEST)
        assert newest == "4.22.0.0"
        assert api.listCapabilities()["capability"]["cloudstackversion"] == newest
        assert {ms["version"] for ms in api.listManagementServers(fetch_list=True)} == {newest}
        assert sim.admin.state()["cloudstack_version"] == newest


@pytest.mark.parametrize(
    ("option", "reported"), [("4.15", "4.15.0.0"), ("4.18", "4.18.0.0"), ("4.20.1", "4.20.1.0")]
)
def test_every_answer_names_the_release(option: str, reported: str) -> None:
    with cloudstack(option) as (_, api):
        assert api.listCapabilities()["capability"]["cloudstackversion"] == reported
        assert {ms["version"] for ms in api.listManagementServers(fetch_list=True)} == {reported}
        vms = api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)
        assert {vm["version"] for vm in vms} == {reported}, (
            "the SSVM agents run the management server's version"
        )
        routing = api.listHosts(type="Routing", fetch_list=True)
        assert {h["version"] for h in routing} == {reported}


SYSTEMVM_FIELDS = [
    # (release, fields present, fields absent)
    ("4.15", {"agentstate", "version", "podname", "templatename"}, {
        "hasannotations", "hostcontrolstate", "serviceofferingid", "serviceofferingname", "arch"}),
    ("4.16", {"hasannotations"}, {"hostcontrolstate", "serviceofferingid"}),
    ("4.18", {"hostcontrolstate"}, {"serviceofferingid", "serviceofferingname", "arch"}),
    ("4.19", {"serviceofferingid", "serviceofferingname"}, {"arch"}),
    ("4.20", {"serviceofferingid"}, {"arch"}),
    ("4.20.1", {"arch"}, set()),
]  # fmt: skip


@pytest.mark.parametrize(("release", "present", "absent"), SYSTEMVM_FIELDS)
def test_systemvm_objects_carry_the_fields_of_their_release(
    release: str, present: set[str], absent: set[str]
) -> None:
    with cloudstack(release) as (_, api):
        vm = api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)[0]
        assert present <= set(vm), present - set(vm)
        assert not absent & set(vm), absent & set(vm)
        assert vm["state"] == "Running" and vm["agentstate"] == "Up"


@pytest.mark.parametrize(("release", "linked"), [("4.20.1", False), ("4.21", True), ("4.22", True)])
def test_an_agent_row_names_its_vm_from_4_21(release: str, linked: bool) -> None:
    with cloudstack(release) as (_, api):
        vm = api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)[0]
        [agent] = api.listHosts(type="SecondaryStorageVM", name=vm["name"], fetch_list=True)
        assert agent["name"] == vm["name"], "on every release the agent row is named like the VM"
        assert ("virtualmachineid" in agent) is linked
        if linked:
            assert agent["virtualmachineid"] == vm["id"]


@pytest.mark.parametrize(("release", "reported"), [("4.15", False), ("4.16", False), ("4.17", True)])
def test_management_servers_report_their_start_time_from_4_17(release: str, reported: bool) -> None:
    with cloudstack(release) as (_, api):
        [server] = api.listManagementServers(fetch_list=True)
        assert {"id", "name", "state", "version"} <= set(server)
        for field in ("lastserverstart", "lastserverstop", "lastboottime", "javaversion", "osdistribution"):
            assert (field in server) is reported or field == "lastserverstop", field
        if reported:
            assert "lastserverstart" in server


@pytest.mark.parametrize(("release", "described"), [("4.17", False), ("4.18", True)])
def test_settings_report_their_default_and_group_from_4_18(release: str, described: bool) -> None:
    with cloudstack(release) as (_, api):
        [row] = [
            c
            for c in api.listConfigurations(name="secstorage.capacity.standby", fetch_list=True)
            if c["name"] == "secstorage.capacity.standby"
        ]
        assert {"name", "value", "category", "description", "isdynamic"} <= set(row)
        for field in ("defaultvalue", "group", "subgroup", "component", "displaytext", "type"):
            assert (field in row) is described, field


@pytest.mark.parametrize(("release", "typed"), [("4.17", False), ("4.18", True)])
def test_zones_have_a_type_from_4_18(release: str, typed: bool) -> None:
    with cloudstack(release) as (_, api):
        for z in api.listZones(fetch_list=True):
            assert ("type" in z) is typed
            assert z["allocationstate"] == "Enabled"


def test_a_command_the_release_does_not_have_is_refused_like_an_unknown_command() -> None:
    with cloudstack("4.15") as (_, api):
        error = refused(lambda: api.resetConfiguration(name="secstorage.capacity.standby"))
        assert error.response.status_code == 401
        assert error.response.json() == {
            "errorresponse": {
                "uuidList": [],
                "errorcode": 401,
                "errortext": "unable to verify user credentials and/or request signature",
            }
        }
    with cloudstack("4.16.0") as (_, api):
        error = refused(lambda: api.resetConfiguration(name="secstorage.capacity.standby"))
        assert error.response.status_code == 401, "ResetCfgCmd first ships in 4.16.1.0"
    with cloudstack("4.16.1") as (_, api):
        reset = api.resetConfiguration(name="secstorage.capacity.standby")["configuration"]
        assert reset["name"] == "secstorage.capacity.standby" and reset["value"] == "10"


def test_the_integration_port_answers_432_for_a_command_the_release_does_not_have() -> None:
    with cloudstack("4.15", integration_port=0) as (sim, _):
        assert sim.simulator is not None
        url = f"http://127.0.0.1:{sim.simulator.bound_integration_port}/client/api"
        params = {"command": "resetConfiguration", "name": "secstorage.capacity.standby", "response": "json"}
        answer = requests.get(url, params=params, timeout=5)
        assert answer.status_code == 432
        assert answer.json()["errorresponse"]["errortext"] == "Unknown API command: resetConfiguration"


@pytest.mark.parametrize(("release", "restarted"), [("4.15", False), ("4.16", True)])
def test_a_forced_reboot_is_a_plain_reboot_before_4_16(release: str, restarted: bool) -> None:
    """rebootSystemVm `forced` (since 4.16.0) is an unknown parameter before: ignored, not an error. A forced
    reboot stops and starts the VM, which gets a new control (link-local) address; a guest reboot keeps it."""
    with cloudstack(release) as (sim, api):
        vm = only_ssvm(api, zone(api, "zone-1")["id"])
        boots = boot_record(sim, vm["id"])["boot_count"]
        job = wait_job(api, api.rebootSystemVm(id=vm["id"], forced=True)["jobid"])
        assert job["jobstatus"] == 1
        after = only_ssvm(api, zone(api, "zone-1")["id"])
        assert after["id"] == vm["id"] and after["state"] == "Running"
        assert (after["linklocalip"] != vm["linklocalip"]) is restarted
        eventually(lambda: boot_record(sim, vm["id"])["boot_count"] == boots + 1, what="one boot more")


@pytest.mark.parametrize(("release", "filtered"), [("4.18", False), ("4.19", True)])
def test_list_zones_ids_is_ignored_before_4_19(release: str, filtered: bool) -> None:
    with cloudstack(release) as (_, api):
        zone_2 = zone(api, "zone-2")
        names = [z["name"] for z in api.listZones(ids=zone_2["id"], fetch_list=True)]
        assert names == (["zone-2"] if filtered else ["zone-1", "zone-2"])


@pytest.mark.parametrize(("release", "zoned", "dynamic"), [("4.21", False, False), ("4.22", True, True)])
def test_consoleproxy_restart_is_set_per_zone_from_4_22(release: str, zoned: bool, dynamic: bool) -> None:
    with cloudstack(release) as (_, api):
        zone_1 = zone(api, "zone-1")
        [row] = api.listConfigurations(name="consoleproxy.restart", fetch_list=True)
        assert row["isdynamic"] is dynamic
        per_zone = api.listConfigurations(name="consoleproxy.restart", zoneid=zone_1["id"], fetch_list=True)
        assert bool(per_zone) is zoned
        if zoned:
            answer = api.updateConfiguration(name="consoleproxy.restart", value="false", zoneid=zone_1["id"])
            assert answer["configuration"]["scope"] == "zone"
        else:
            error = refused(
                lambda: api.updateConfiguration(
                    name="consoleproxy.restart", value="false", zoneid=zone_1["id"]
                )
            )
            assert error.response.status_code == 431
            assert (
                error.error["errortext"] == "Invalid scope id provided for the parameter consoleproxy.restart"
            )


@pytest.mark.parametrize(
    ("name", "first"),
    [(d.subject, d.since) for d in DIFFERENCES if d.kind is Kind.SETTING],
)
def test_a_setting_newer_than_the_release_does_not_exist(name: str, first: tuple[int, int, int, int]) -> None:
    before = f"{first[0]}.{first[1] - 1}"
    with cloudstack(before) as (_, api):
        assert name not in {c["name"] for c in api.listConfigurations(fetch_list=True)}
        error = refused(lambda: api.updateConfiguration(name=name, value="true"))
        assert error.response.status_code == 431
        assert error.error["errortext"] == f"Config parameter with name {name} doesn't exist"
    with cloudstack(render(first)) as (_, api):
        assert name in {c["name"] for c in api.listConfigurations(fetch_list=True)}


@pytest.mark.parametrize(("release", "churns"), [("4.16.0", True), ("4.16.1", False)])
def test_a_standby_count_above_one_churns_before_the_scale_down_switch(release: str, churns: bool) -> None:
    """Before secstorage.vm.auto.scale.down an idle command-executor SSVM is always scaled down: issue
    #6038's steps (session.max 5, standby 10) give a second SSVM that the next scan removes again."""
    scenario = {
        "zones": [{"name": "zone-1"}],
        "settings": {"secstorage.session.max": "5", "secstorage.capacity.standby": "10"},
    }
    with cloudstack(release, scenario=scenario, scanner_paused=True) as (sim, _):
        actions = []
        for _ in range(8):
            actions += [d["action"] for d in sim.admin.scan()]
            sim.admin.wait_for(lambda: all(v["state"] == "Running" for v in sim.admin.ssvms()), 10)
        assert "create" in actions, "the standby rule asks for a second SSVM on every release"
        assert ("destroy" in actions) is churns
        if churns:
            assert actions.count("create") >= 2, f"the count goes up and down again: {actions}"


def test_the_scenario_names_the_release_and_the_option_wins() -> None:
    with cloudstack(None, scenario={"cloudstack_version": "4.17.2.0"}) as (_, api):
        assert api.listCapabilities()["capability"]["cloudstackversion"] == "4.17.2.0"
    with cloudstack("4.19", scenario={"cloudstack_version": "4.17.2.0"}) as (_, api):
        assert api.listCapabilities()["capability"]["cloudstackversion"] == "4.19.0.0"


def test_the_command_line_takes_the_release_and_refuses_one_it_does_not_model() -> None:
    with cloudstack("4.18", mode="subprocess") as (_, api):
        assert api.listCapabilities()["capability"]["cloudstackversion"] == "4.18.0.0"
    unknown = subprocess.run(
        [sys.executable, "-m", "cloudstack_sim", "--cloudstack-version", "4.13", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert unknown.returncode == 2
    assert "4.14 to 4.22" in unknown.stderr and "4.13" in unknown.stderr


def test_the_ssvm_still_recovers_on_the_oldest_supported_release() -> None:
    with cloudstack("4.15") as (sim, api):
        vm = only_ssvm(api, zone(api, "zone-1")["id"])
        wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
        eventually(
            lambda: [v for v in sim.admin.ssvms(zone="zone-1", running=True) if v["id"] != vm["id"]],
            what="a replacement SSVM on 4.15",
        )


def test_every_difference_the_simulator_models_is_documented_with_its_release() -> None:
    page = (REPOSITORY / "docs" / "compatibility.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| 4.")]
    for difference in DIFFERENCES:
        since = "| {}.{}.{} ".format(*difference.since)
        row = next((r for r in rows if r.startswith(since) and f"`{difference.subject}`" in r), None)
        assert row is not None, f"docs/compatibility.md lists no {difference.subject} under {since}"
        if not difference.verified:
            assert "(inferred)" in row, f"{difference.subject}: its first release is inferred, say so"
