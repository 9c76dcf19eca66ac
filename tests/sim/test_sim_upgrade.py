"""A CloudStack upgrade as the admin path performs it, and patchSystemVm as CloudStack answers it (4.17+)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cs import CloudStack, CloudStackApiException

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.sim.sim_helpers import SCAN_INTERVAL, eventually, healthy_ssvm, wait_job, zone


@pytest.fixture
def old_sim() -> Iterator[SimulatorHandle]:
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7, cloudstack_version="4.18") as running:
        yield running


def client(sim: SimulatorHandle) -> CloudStack:
    return CloudStack(endpoint=sim.api_url, key=sim.api_key, secret=sim.secret_key, method="post", timeout=10)


def system_templates(api: CloudStack) -> list[dict[str, object]]:
    return list(api.listTemplates(templatefilter="system", fetch_list=True))


def test_an_upgrade_moves_the_version_and_registers_a_ready_template_while_ssvms_stay_behind(
    old_sim: SimulatorHandle,
) -> None:
    api = client(old_sim)
    zone_1 = zone(api, "zone-1")
    before = healthy_ssvm(api, zone_1["id"])
    assert before["version"] == "4.18.0.0"

    answer = old_sim.admin.upgrade("4.20")

    assert api.listCapabilities()["capability"]["cloudstackversion"] == "4.20.0.0"
    servers = api.listManagementServers(fetch_list=True)
    assert {ms["version"] for ms in servers} == {"4.20.0.0"}
    new = [t for t in system_templates(api) if t["id"] == answer["template"]["id"]]
    assert new and all(t["isready"] for t in new) and new[0]["hypervisor"] == "KVM"
    after = healthy_ssvm(api, zone_1["id"])
    assert after["id"] == before["id"]
    assert after["version"] == "4.18.0.0", "an existing SSVM keeps its agent until patched or recreated"
    assert after["templateid"] == before["templateid"] != answer["template"]["id"]


def test_a_recreated_ssvm_gets_the_new_template_and_agent(old_sim: SimulatorHandle) -> None:
    api = client(old_sim)
    zone_1 = zone(api, "zone-1")
    before = healthy_ssvm(api, zone_1["id"])
    template = old_sim.admin.upgrade("4.20")["template"]

    wait_job(api, api.destroySystemVm(id=before["id"])["jobid"])

    def replacement() -> dict[str, object] | None:
        vm = healthy_ssvm(api, zone_1["id"])
        return vm if vm["id"] != before["id"] else None

    new = eventually(replacement, what="a replacement SSVM")
    assert new["templateid"] == template["id"]
    assert new["version"] == "4.20.0.0"


def test_patch_is_unknown_before_4_17() -> None:
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7, cloudstack_version="4.16") as sim:
        api = client(sim)
        vm = healthy_ssvm(api, zone(api, "zone-1")["id"])
        with pytest.raises(CloudStackApiException) as refused:
            api.patchSystemVm(id=vm["id"])
        assert refused.value.error["errorcode"] == 401


def test_patch_restarts_the_agent_on_the_new_version_when_the_template_did_not_change(
    old_sim: SimulatorHandle,
) -> None:
    api = client(old_sim)
    zone_1 = zone(api, "zone-1")
    vm = healthy_ssvm(api, zone_1["id"])
    old_sim.admin.upgrade("4.19", new_template=False)

    job = wait_job(api, api.patchSystemVm(id=vm["id"])["jobid"])

    assert job["jobstatus"] == 1, job
    assert job["jobresult"]["success"] is True
    assert "Successfully patched systemVM" in job["jobresult"]["displaytext"]
    after = healthy_ssvm(api, zone_1["id"])
    assert (after["id"], after["version"]) == (vm["id"], "4.19.0.0")
    assert after["templateid"] == vm["templateid"]
    assert after["disconnected"] != vm.get("disconnected"), "the agent restarted"


def test_patching_again_changes_nothing_unless_forced(old_sim: SimulatorHandle) -> None:
    api = client(old_sim)
    vm = healthy_ssvm(api, zone(api, "zone-1")["id"])
    job = wait_job(api, api.patchSystemVm(id=vm["id"])["jobid"])
    assert job["jobresult"]["displaytext"].startswith("No change in the scripts checksum")


def test_patch_fails_on_an_ssvm_whose_template_is_older_than_the_release(old_sim: SimulatorHandle) -> None:
    api = client(old_sim)
    zone_1 = zone(api, "zone-1")
    vm = healthy_ssvm(api, zone_1["id"])
    old_sim.admin.upgrade("4.20")

    job = wait_job(api, api.patchSystemVm(id=vm["id"])["jobid"])

    assert job["jobstatus"] == 2
    assert job["jobresultcode"] == 530
    assert f"Failed to patch systemVM {vm['name']}" in job["jobresult"]["errortext"]
    assert healthy_ssvm(api, zone_1["id"])["version"] == "4.18.0.0"


def test_patch_fails_on_an_ssvm_that_is_not_running(old_sim: SimulatorHandle) -> None:
    api = client(old_sim)
    old_sim.admin.pause_scanner()
    vm = healthy_ssvm(api, zone(api, "zone-1")["id"])
    old_sim.admin.upgrade("4.19", new_template=False)
    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])

    job = wait_job(api, api.patchSystemVm(id=vm["id"])["jobid"])

    assert job["jobresultcode"] == 530
    assert "not in Running state" in job["jobresult"]["errortext"]


def test_a_template_registered_not_ready_becomes_ready_per_zone() -> None:
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7, cloudstack_version="4.18", zones=2) as sim:
        api = client(sim)
        template = sim.admin.upgrade("4.20", ready_in=["zone-1"])["template"]

        def readiness() -> dict[str, bool]:
            rows = [t for t in system_templates(api) if t["id"] == template["id"]]
            return {str(t["zonename"]): bool(t["isready"]) for t in rows}

        assert readiness() == {"zone-1": True, "zone-2": False}
        sim.admin.set_template_ready(template["id"], ["zone-2"])
        assert readiness() == {"zone-1": True, "zone-2": True}


def test_an_upgrade_to_an_older_release_is_refused(old_sim: SimulatorHandle) -> None:
    with pytest.raises(Exception, match="not newer"):
        old_sim.admin.upgrade("4.17")
