"""Error documents and list paging as CloudStack writes them (cloudstack-contract.md §2.1 notes, §6)."""

from __future__ import annotations

import uuid

import pytest
from cs import CloudStack, CloudStackApiException

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import raw_call, zone


def api_error(call: object) -> CloudStackApiException:
    assert callable(call)
    with pytest.raises(CloudStackApiException) as caught:
        call()
    return caught.value


def test_a_missing_required_parameter_is_431_with_cserrorcode_9999(api: CloudStack) -> None:
    error = api_error(lambda: api.startSystemVm())
    assert error.response.status_code == 431
    assert error.error == {
        "uuidList": [],
        "errorcode": 431,
        "cserrorcode": 9999,
        "errortext": "Unable to execute API command startsystemvm due to missing parameter id",
    }


def test_an_unknown_setting_is_431_with_cserrorcode_4350(api: CloudStack) -> None:
    error = api_error(lambda: api.updateConfiguration(name="foo.bar", value="1"))
    assert error.response.status_code == 431
    assert error.error == {
        "uuidList": [],
        "errorcode": 431,
        "cserrorcode": 4350,
        "errortext": "Config parameter with name foo.bar doesn't exist",
    }


def test_the_error_is_keyed_by_the_commands_response_name(api: CloudStack) -> None:
    error = api_error(lambda: api.updateConfiguration(name="foo.bar", value="1"))
    assert "updateconfigurationresponse" in error.response.json()


def test_an_unknown_vm_id_is_a_synchronous_431(api: CloudStack) -> None:
    missing = str(uuid.uuid4())
    for command in ("startSystemVm", "stopSystemVm", "rebootSystemVm", "destroySystemVm"):
        error = api_error(lambda command=command: getattr(api, command)(id=missing))
        assert error.response.status_code == 431, command
        assert error.error["errorcode"] == 431
        assert missing in error.error["errortext"]


def test_an_empty_list_is_an_empty_object(api: CloudStack) -> None:
    assert api.listConfigurations(name="no.such.setting.anywhere") == {}
    assert api.listConfigurations(name="no.such.setting.anywhere", fetch_list=True) == []
    assert api.listSystemVms(systemvmtype="secondarystoragevm", state="Migrating") == {}


def test_a_list_filter_with_an_unknown_uuid_is_431(api: CloudStack) -> None:
    # ParamProcessWorker resolves UUID parameters of list commands too, before the search runs.
    missing = str(uuid.uuid4())
    error = api_error(lambda: api.listSystemVms(id=missing))
    assert error.response.status_code == 431
    assert f"Invalid parameter id value={missing}" in error.error["errortext"]


def test_count_is_the_total_not_the_page(api: CloudStack) -> None:
    first = api.listConfigurations(name="secstorage.", page=1, pagesize=2)
    assert len(first["configuration"]) == 2
    assert first["count"] > 2
    everything = api.listConfigurations(name="secstorage.", fetch_list=True)
    assert len(everything) == first["count"]


def test_pages_do_not_overlap(api: CloudStack) -> None:
    pages = [
        api.listConfigurations(name="secstorage.", page=n, pagesize=3).get("configuration", [])
        for n in (1, 2)
    ]
    names = [c["name"] for page in pages for c in page]
    assert len(names) == len(set(names)) == 6


def test_a_page_past_the_end_keeps_the_count_but_no_items(api: CloudStack) -> None:
    # ApiResponseSerializer writes a non-zero count even when the page holds nothing (L97-135).
    assert api.listZones(page=9, pagesize=10) == {"count": 2}


def test_pagesize_without_page_is_431(api: CloudStack) -> None:
    error = api_error(lambda: api.listZones(pagesize=10))
    assert error.response.status_code == 431
    assert error.error["errortext"] == '"page" parameter is required when "pagesize" is specified'


def test_page_without_pagesize_is_431(sim: SimulatorHandle) -> None:
    # cs always adds pagesize=500 next to page, so this needs a hand-signed request.
    answer = raw_call(sim, "listZones", page="1")
    assert answer.status_code == 431
    assert answer.json()["listzonesresponse"]["errorcode"] == 431


def test_a_pagesize_above_default_page_size_is_431(api: CloudStack) -> None:
    error = api_error(lambda: api.listZones(page=1, pagesize=501))
    assert error.response.status_code == 431


def test_pagesize_minus_one_means_everything(api: CloudStack) -> None:
    assert api.listConfigurations(name="secstorage.", pagesize=-1)["count"] >= 10


def test_string_filters_ignore_case(api: CloudStack) -> None:
    # MySQL's default collation: the Marvin tests pass the type in lower case (stored as SecondaryStorageVm).
    assert len(api.listSystemVms(systemvmtype="SecondaryStorageVm", fetch_list=True)) == 2
    assert len(api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)) == 2


def test_zone_filter(api: CloudStack) -> None:
    zone_1 = zone(api, "zone-1")
    vms = api.listSystemVms(zoneid=zone_1["id"], systemvmtype="secondarystoragevm", fetch_list=True)
    assert [vm["zonename"] for vm in vms] == ["zone-1"]


def test_without_a_type_console_proxies_are_listed_too(api: CloudStack) -> None:
    types = {vm["systemvmtype"] for vm in api.listSystemVms(fetch_list=True)}
    assert types == {"secondarystoragevm", "consoleproxy"}
