"""What real CloudStack clients need from the simulator, and clients other than `cs` run against it.

Each rule names the CloudStack code it follows; docs/simulator.md lists them with the clients tried.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cs import CloudStack, CloudStackApiException
from libcloud.common.types import InvalidCredsError, ProviderError
from libcloud.compute.providers import get_driver
from libcloud.compute.types import Provider

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.sim.sim_helpers import SCAN_INTERVAL, base_params, only_ssvm, signed, wait_job, zone


def test_the_api_servlet_answers_under_sub_paths(sim: SimulatorHandle) -> None:
    # ApiServlet is mapped to /api/* (client/WEB-INF/web.xml): a trailing slash or more path still reaches it.
    for path in ("/client/api/", "/client/api/anything"):
        url = sim.api_url.replace("/client/api", path)
        answer = requests.get(url, params=signed(base_params(sim, "listZones"), sim.secret_key), timeout=5)
        assert answer.status_code == 200, path
        assert answer.json()["listzonesresponse"]["count"] == 2


def test_list_apis_describes_every_command_the_simulator_serves(api: CloudStack) -> None:
    apis = {a["name"]: a for a in api.listApis()["api"]}
    assert {"listSystemVms", "rebootSystemVm", "destroySystemVm", "listApis", "updateConfiguration"} <= set(
        apis
    )
    reboot = apis["rebootSystemVm"]
    assert reboot["isasync"] is True and apis["listZones"]["isasync"] is False
    params = {p["name"]: p for p in reboot["params"]}
    assert params["id"]["required"] is True and params["id"]["type"] == "uuid"
    assert params["forced"]["type"] == "boolean" and params["forced"]["required"] is False
    assert apis["listImageStores"]["since"] == "4.2.0"
    # Every listed list command answers when given its required parameters (none is refused as unknown).
    for name, described in apis.items():
        if not described["isasync"] and name.startswith("list"):
            required = {p["name"] for p in described["params"] if p["required"]}
            getattr(api, name)(**{p: "system" for p in required})


def test_list_apis_for_one_name_and_for_an_unknown_one(api: CloudStack) -> None:
    [one] = api.listApis(name="listHosts")["api"]
    assert one["name"] == "listHosts"
    with pytest.raises(CloudStackApiException) as caught:
        api.listApis(name="listVirtualMachines")
    assert caught.value.response.status_code == 530


def test_list_apis_follows_the_release() -> None:
    with running_simulator(
        scan_interval=SCAN_INTERVAL, seed=7, scenario={"cloudstack_version": "4.16.0"}
    ) as old:
        client = old.client(method="post")
        names = {a["name"] for a in client.listApis()["api"]}
        assert "resetConfiguration" not in names and "listSystemVms" in names


def test_zones_carry_their_token(api: CloudStack) -> None:
    zones = api.listZones(fetch_list=True)
    tokens = {z["zonetoken"] for z in zones}
    assert len(tokens) == len(zones) and all(tokens)


def test_the_destroy_result_is_the_vm_without_its_agent_row(sim: SimulatorHandle, api: CloudStack) -> None:
    # destroySecondaryStorageVm returns the VO loaded before the expunge; createSystemVmResponse finds no host
    # row any more, so the agent fields are gone while the VM fields are the pre-destroy ones.
    vm = only_ssvm(api, zone(api, "zone-1")["id"])
    assert "agentstate" in vm and "version" in vm
    result = wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])["jobresult"]["systemvm"]
    assert result["id"] == vm["id"] and result["state"] == "Running"
    assert not {"agentstate", "version", "disconnected"} & set(result)


def test_apache_libcloud_drives_the_simulator(sim: SimulatorHandle) -> None:
    url = urlsplit(sim.api_url)
    driver = get_driver(Provider.CLOUDSTACK)(
        key=sim.api_key, secret=sim.secret_key, secure=False, host=url.hostname, port=url.port, path=url.path
    )
    assert sorted(location.name for location in driver.list_locations()) == ["zone-1", "zone-2"]
    assert driver.list_sizes(), "user service offerings are listed as sizes"
    listed: dict[str, Any] = driver._sync_request(
        command="listSystemVms", params={"systemvmtype": "secondarystoragevm"}, method="GET"
    )
    vm = listed["systemvm"][0]
    rebooted = driver._async_request(command="rebootSystemVm", params={"id": vm["id"]}, method="GET")
    assert rebooted["systemvm"]["id"] == vm["id"]
    # A command outside the simulated slice is "not available", never "bad credentials".
    with pytest.raises(ProviderError) as caught:
        driver.list_nodes()
    assert not isinstance(caught.value, InvalidCredsError)
    assert caught.value.http_code == 432
