"""listConfigurations, updateConfiguration and resetConfiguration (cloudstack-contract.md §4, §5)."""

from __future__ import annotations

from typing import Any

import pytest
from cs import CloudStack, CloudStackApiException

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import (
    SCAN_INTERVAL_MS,
    boot_record,
    eventually,
    healthy_ssvm,
    only_ssvm,
    wait_job,
    zone,
)


def setting(api: CloudStack, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c for c in api.listConfigurations(name=name, fetch_list=True) if c["name"] == name
    ]
    assert len(found) == 1, f"{name} listed {len(found)} times"
    return found[0]


def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(CloudStackApiException) as caught:
        call()
    assert caught.value.response.status_code == 431
    error: dict[str, Any] = caught.value.error
    return error


def test_the_catalogue_follows_the_source(api: CloudStack) -> None:
    standby = setting(api, "secstorage.capacity.standby")
    assert standby["value"] == "10"
    assert standby["defaultvalue"] == "10"
    assert standby["isdynamic"] is False
    assert standby["type"] == "Number"
    assert "scope" not in standby, "no scope field without a scope id"
    assert setting(api, "secstorage.session.max")["defaultvalue"] == "50"
    assert setting(api, "secstorage.vm.auto.scale.down")["isdynamic"] is True
    assert setting(api, "secstorage.vm.auto.scale.down")["type"] == "Boolean"
    assert setting(api, "secstorage.encrypt.copy")["value"] == "false"
    assert "value" not in setting(api, "secstorage.service.offering"), "null values are omitted"


def test_name_is_a_substring_match(api: CloudStack) -> None:
    names = {c["name"] for c in api.listConfigurations(name="secstorage.vm", fetch_list=True)}
    assert {"secstorage.vm.mtu.size", "secstorage.vm.auto.scale.down", "secstorage.vm.userdata"} <= names
    assert all("secstorage.vm" in name for name in names)


def test_listing_everything_includes_secstorage_and_related_keys(api: CloudStack) -> None:
    names = {c["name"] for c in api.listConfigurations(fetch_list=True)}
    assert {"secstorage.capacity.standby", "system.vm.auto.reserve.capacity", "consoleproxy.restart"} <= names


def test_hidden_settings_are_never_listed(api: CloudStack) -> None:
    names = {c["name"] for c in api.listConfigurations(fetch_list=True)}
    assert "secstorage.copy.password" not in names
    assert "secondary.storage.vm" not in names


def test_the_scan_interval_is_reported_in_milliseconds(api: CloudStack) -> None:
    assert setting(api, "secstorage.capacityscan.interval")["value"] == str(SCAN_INTERVAL_MS)


def test_update_returns_the_requested_value(api: CloudStack) -> None:
    answer = api.updateConfiguration(name="secstorage.capacity.standby", value="20")
    assert answer["configuration"]["name"] == "secstorage.capacity.standby"
    assert answer["configuration"]["value"] == "20"
    assert answer["configuration"]["defaultvalue"] == "10"
    assert setting(api, "secstorage.capacity.standby")["value"] == "20"


def test_update_without_value_changes_nothing_and_omits_value(api: CloudStack) -> None:
    answer = api.updateConfiguration(name="secstorage.session.max")
    assert "value" not in answer["configuration"]
    assert setting(api, "secstorage.session.max")["value"] == "50"


def test_values_are_trimmed_and_empty_becomes_null(api: CloudStack) -> None:
    api.updateConfiguration(name="secstorage.capacity.standby", value=" 12 ")
    assert setting(api, "secstorage.capacity.standby")["value"] == "12"
    api.updateConfiguration(name="secstorage.ssl.cert.domain", value="example.org")
    api.updateConfiguration(name="secstorage.ssl.cert.domain", value="null")
    assert "value" not in setting(api, "secstorage.ssl.cert.domain")


def test_type_validation_uses_cloudstacks_messages(api: CloudStack) -> None:
    error = refused(lambda: api.updateConfiguration(name="secstorage.session.max", value="many"))
    assert error["errortext"] == "Value [many] is not a valid [class java.lang.Integer]."
    assert error["cserrorcode"] == 4350
    error = refused(lambda: api.updateConfiguration(name="secstorage.encrypt.copy", value="yes"))
    assert error["errortext"] == "Value [yes] is not a valid [class java.lang.Boolean]."
    api.updateConfiguration(name="secstorage.encrypt.copy", value="TRUE")


def test_allowed_internal_sites_are_validated_like_cloudstack(api: CloudStack) -> None:
    name = "secstorage.allowed.internal.sites"
    api.updateConfiguration(name=name, value="10.0.0.0/8,192.168.1.7,fd00::1")
    assert setting(api, name)["value"] == "10.0.0.0/8,192.168.1.7,fd00::1"
    error = refused(lambda: api.updateConfiguration(name=name, value="10.0.0.0/8,10.0.0.1/8"))
    assert error["errortext"] == f"Invalid CIDR 10.0.0.1/8 value specified for the config {name}."
    # Anything that is not an IPv4 CIDR makes NetUtils.getCleanIp4Cidr throw: a 530, not the 431 text.
    for bad in ("not-a-cidr", "300.1.1.1", "fd00::/8"):
        with pytest.raises(CloudStackApiException) as caught:
            api.updateConfiguration(name=name, value=f"10.0.0.0/8,{bad}")
        assert caught.value.response.status_code == 530
        assert caught.value.error["errortext"] == f"Invalid CIDR: {bad}"
    assert setting(api, name)["value"] == "10.0.0.0/8,192.168.1.7,fd00::1", "nothing was stored"


def test_unknown_names_are_431(api: CloudStack) -> None:
    error = refused(lambda: api.updateConfiguration(name="secstorage.capacity.scan", value="1"))
    assert error["errortext"] == "Config parameter with name secstorage.capacity.scan doesn't exist"
    error = refused(lambda: api.resetConfiguration(name="service.offering.id.storage.vm"))
    assert error["errortext"] == "Config parameter with name service.offering.id.storage.vm doesn't exist"


def test_legacy_keys_refuse_a_zone_scope(api: CloudStack) -> None:
    zone_1 = zone(api, "zone-1")
    error = refused(
        lambda: api.updateConfiguration(name="secstorage.capacity.standby", value="3", zoneid=zone_1["id"])
    )
    assert error["errortext"] == "Invalid scope id provided for the parameter secstorage.capacity.standby"


def test_zone_scoped_keys_are_listed_per_zone(api: CloudStack) -> None:
    zone_1 = zone(api, "zone-1")
    answer = api.updateConfiguration(name="consoleproxy.restart", value="false", zoneid=zone_1["id"])
    assert answer["configuration"]["scope"] == "zone"
    in_zone = {c["name"]: c for c in api.listConfigurations(zoneid=zone_1["id"], fetch_list=True)}
    assert in_zone["consoleproxy.restart"]["value"] == "false"
    assert in_zone["consoleproxy.restart"]["scope"] == "zone"
    assert "secstorage.capacity.standby" not in in_zone, "Global-only keys are not listed for a zone"
    assert setting(api, "consoleproxy.restart")["value"] == "true", "the global value is untouched"


def test_reset_restores_the_default(api: CloudStack) -> None:
    api.updateConfiguration(name="secstorage.capacity.standby", value="30")
    answer = api.resetConfiguration(name="secstorage.capacity.standby")
    assert answer["configuration"]["value"] == "10"
    assert setting(api, "secstorage.capacity.standby")["value"] == "10"


def test_a_zone_reset_answers_with_the_enum_scope_name(api: CloudStack) -> None:
    zone_1 = zone(api, "zone-1")
    api.updateConfiguration(name="consoleproxy.restart", value="false", zoneid=zone_1["id"])
    answer = api.resetConfiguration(name="consoleproxy.restart", zoneid=zone_1["id"])
    assert answer["configuration"]["scope"] == "Zone"
    assert answer["configuration"]["value"] == "true"


def test_a_non_dynamic_setting_is_in_force_only_after_a_restart(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    api.updateConfiguration(name="secstorage.vm.mtu.size", value="9000")
    state = sim.admin.state()
    assert state["settings"]["secstorage.vm.mtu.size"]["value"] == "9000"
    assert state["settings"]["secstorage.vm.mtu.size"]["in_force"] == "1500"
    sim.admin.restart_management_server()
    assert sim.admin.state()["settings"]["secstorage.vm.mtu.size"]["in_force"] == "9000"


def test_a_dynamic_setting_is_in_force_at_once(api: CloudStack, sim: SimulatorHandle) -> None:
    api.updateConfiguration(name="secstorage.vm.auto.scale.down", value="true")
    assert sim.admin.state()["settings"]["secstorage.vm.auto.scale.down"]["in_force"] == "true"


def test_allowed_sites_reach_an_ssvm_when_its_agent_reconnects_after_a_restart(
    api: CloudStack, sim: SimulatorHandle
) -> None:
    # Read in configure() (MS restart), then programmed on every agent connect (SecondaryStorageListener
    # .processConnect). The restart itself reconnects every agent the server held, so no reboot is needed.
    name = "secstorage.allowed.internal.sites"
    zone_1 = zone(api, "zone-1")
    vm = only_ssvm(api, zone_1["id"])
    api.updateConfiguration(name=name, value="10.1.0.0/16")
    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    eventually(lambda: boot_record(sim, vm["id"])["boot_count"] == 2, what="the guest rebooted")
    healthy_ssvm(api, zone_1["id"])
    assert connected_with(sim, vm["id"]).get(name) is None, "not in force before the restart"

    before = only_ssvm(api, zone_1["id"])["disconnected"]
    sim.admin.restart_management_server()
    eventually(lambda: connected_with(sim, vm["id"]).get(name) == "10.1.0.0/16", what="sites at reconnect")
    after = healthy_ssvm(api, zone_1["id"])
    assert after["disconnected"] == before, "agentStatusTransitTo leaves `disconnected` alone"
    assert boot_record(sim, vm["id"])["boot_count"] == 2, "no reboot was needed"


def test_boot_arguments_change_at_a_start_not_at_a_reboot(api: CloudStack, sim: SimulatorHandle) -> None:
    sim.admin.pause_scanner()
    name = "secstorage.vm.mtu.size"
    zone_1 = zone(api, "zone-1")
    vm = only_ssvm(api, zone_1["id"])
    api.updateConfiguration(name=name, value="9000")
    sim.admin.restart_management_server()
    wait_job(api, api.rebootSystemVm(id=vm["id"])["jobid"])
    assert booted_with(sim, vm["id"])[name] == "1500"

    wait_job(api, api.stopSystemVm(id=vm["id"])["jobid"])
    wait_job(api, api.startSystemVm(id=vm["id"])["jobid"])
    assert booted_with(sim, vm["id"])[name] == "9000"


def booted_with(sim: SimulatorHandle, vm_id: str) -> dict[str, Any]:
    settings: dict[str, Any] = boot_record(sim, vm_id)["settings"]
    return settings


def connected_with(sim: SimulatorHandle, vm_id: str) -> dict[str, Any]:
    settings: dict[str, Any] = boot_record(sim, vm_id)["connect_settings"]
    return settings


def test_the_offering_setting_picks_the_offering_of_new_ssvms(api: CloudStack, sim: SimulatorHandle) -> None:
    zone_1 = zone(api, "zone-1")
    offerings = api.listServiceOfferings(issystem=True, systemvmtype="secondarystoragevm", fetch_list=True)
    vm = only_ssvm(api, zone_1["id"])
    other = next(o for o in offerings if o["id"] != vm["serviceofferingid"])
    api.updateConfiguration(name="secstorage.service.offering", value=other["id"])

    wait_job(api, api.destroySystemVm(id=vm["id"])["jobid"])
    sim.admin.scan()
    replacement = only_ssvm(api, zone_1["id"])
    assert replacement["serviceofferingid"] == vm["serviceofferingid"], (
        "not before a management-server restart"
    )

    sim.admin.restart_management_server()
    wait_job(api, api.destroySystemVm(id=replacement["id"])["jobid"])
    sim.admin.scan()
    assert only_ssvm(api, zone_1["id"])["serviceofferingid"] == other["id"]
