"""The API-level assertions of CloudStack's own Marvin smoke test for system VMs
(test/integration/smoke/test_ssvm.py in apache/cloudstack), run against the simulator with the `cs` client.

Marvin itself does not install from PyPI, so its assertions are restated here. Left out: the gateway
check against listVlanIpRanges and listPhysicalNetworks (outside the simulated slice) and the checks that
log into the guest over SSH (test_03/test_04 "internals").
"""

from __future__ import annotations

from typing import Any

import pytest
from cs import CloudStack

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import eventually, wait_job


def _running(api: CloudStack, kind: str, **filters: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.listSystemVms(
        systemvmtype=kind, state="Running", fetch_list=True, **filters
    )
    return found


def _wait_for_agent(api: CloudStack, name: str) -> None:
    """waitForSystemVMAgent: listHosts name=<vm name> until the first row is Up."""

    def up() -> bool:
        hosts = api.listHosts(name=name, fetch_list=True)
        return bool(hosts) and hosts[0]["state"] == "Up"

    eventually(up, what=f"the agent of {name} Up")


@pytest.mark.parametrize("kind", ["secondarystoragevm", "consoleproxy"])
def test_01_02_one_running_system_vm_per_zone_with_addresses_and_zone_dns(api: CloudStack, kind: str) -> None:
    vms = _running(api, kind)
    zones = api.listZones(fetch_list=True)
    assert len(vms) == len(zones)
    for vm in vms:
        assert vm["state"] == "Running"
        assert {"privateip", "linklocalip", "publicip"} <= set(vm)
        [zone] = api.listZones(id=vm["zoneid"], fetch_list=True)
        assert vm.get("dns1") == zone.get("dns1") and vm.get("dns2") == zone.get("dns2")


@pytest.mark.parametrize("kind", ["secondarystoragevm", "consoleproxy"])
def test_05_06_a_stopped_system_vm_comes_back(sim: SimulatorHandle, api: CloudStack, kind: str) -> None:
    zone_id = api.listZones(name="zone-1", fetch_list=True)[0]["id"]
    vm = _running(api, kind, zoneid=zone_id)[0]
    assert api.listHosts(id=vm["hostid"], fetch_list=True)
    # Marvin does not wait for the job; its result shows the VM did stop before the scanner starts it again.
    stopped = wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    assert stopped["jobresult"]["systemvm"]["state"] == "Stopped"
    again = eventually(
        lambda: [v for v in api.listSystemVms(id=vm["id"], fetch_list=True) if v["state"] == "Running"],
        what="the scanner starting it again",
    )[0]
    _wait_for_agent(api, again["name"])
    test_01_02_one_running_system_vm_per_zone_with_addresses_and_zone_dns(api, kind)


@pytest.mark.parametrize("kind", ["secondarystoragevm", "consoleproxy"])
def test_07_08_a_reboot_keeps_the_addresses(api: CloudStack, kind: str) -> None:
    zone_id = api.listZones(name="zone-1", fetch_list=True)[0]["id"]
    vm = _running(api, kind, zoneid=zone_id)[0]
    api.rebootSystemVm(id=vm["id"])
    after = eventually(
        lambda: [v for v in api.listSystemVms(id=vm["id"], fetch_list=True) if v["state"] == "Running"],
        what="Running after the reboot",
    )[0]
    assert after["publicip"] == vm["publicip"] and after["privateip"] == vm["privateip"]
    _wait_for_agent(api, after["name"])


@pytest.mark.parametrize("kind", ["secondarystoragevm", "consoleproxy"])
def test_09_10_a_destroyed_system_vm_is_replaced_under_a_new_name(api: CloudStack, kind: str) -> None:
    zone_id = api.listZones(name="zone-1", fetch_list=True)[0]["id"]
    vm = _running(api, kind, zoneid=zone_id)[0]
    api.destroySystemVm(id=vm["id"])
    new = eventually(
        lambda: [
            v
            for v in api.listSystemVms(zoneid=zone_id, systemvmtype=kind, fetch_list=True)
            if v["state"] == "Running" and v["id"] != vm["id"]
        ],
        what="the replacement",
    )[0]
    assert new["name"] != vm["name"]
    assert {"privateip", "linklocalip", "publicip"} <= set(new)
    _wait_for_agent(api, new["name"])
