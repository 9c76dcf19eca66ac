"""The read-only commands the operator's inventory is built from, field by field
(cloudstack-contract.md §2)."""

from __future__ import annotations

import re

from cs import CloudStack

from tests.sim.sim_helpers import CS_DATE, ssvms, zone

SSVM_NAME = re.compile(r"^s-\d+-VM$")


def test_default_region_has_two_enabled_core_zones(api: CloudStack) -> None:
    answer = api.listZones()
    assert answer["count"] == 2
    zones = {z["name"]: z for z in answer["zone"]}
    assert set(zones) == {"zone-1", "zone-2"}
    for z in zones.values():
        assert z["allocationstate"] == "Enabled"
        assert z["type"] == "Core"
        assert z["networktype"] in ("Advanced", "Basic")
        assert "dns1" in z
        assert "internaldns1" in z
        assert isinstance(z.get("resourcedetails", {}), dict)


def test_list_zones_filters_by_id_and_name(api: CloudStack) -> None:
    zone_2 = zone(api, "zone-2")
    assert [z["name"] for z in api.listZones(id=zone_2["id"])["zone"]] == ["zone-2"]
    assert [z["id"] for z in api.listZones(name="zone-2")["zone"]] == [zone_2["id"]]


def test_every_zone_starts_with_one_running_ssvm_whose_agent_is_up(api: CloudStack) -> None:
    vms = ssvms(api)
    assert len(vms) == 2
    assert {vm["zonename"] for vm in vms} == {"zone-1", "zone-2"}
    for vm in vms:
        assert vm["state"] == "Running"
        assert vm["agentstate"] == "Up"


def test_systemvm_objects_carry_what_the_operator_reads(api: CloudStack) -> None:
    zone_1 = zone(api, "zone-1")
    vm = ssvms(api, zone_1["id"])[0]
    for name in (
        "id", "name", "systemvmtype", "zoneid", "zonename", "state", "agentstate", "hostid", "hostname",
        "privateip", "publicip", "linklocalip", "serviceofferingid", "serviceofferingname", "created",
        "version", "templateid",
    ):  # fmt: skip
        assert name in vm, name
    assert SSVM_NAME.match(vm["name"])
    assert vm["systemvmtype"] == "secondarystoragevm"
    assert vm["zoneid"] == zone_1["id"]
    assert CS_DATE.match(vm["created"])
    assert vm["serviceofferingname"] == "System Offering For Secondary Storage VM"
    assert None not in vm.values(), "null fields are omitted, never serialised"
    assert "jobid" not in vm and "jobstatus" not in vm, "no job is pending"
    assert "role" not in vm, "CloudStack exposes no TP/CE role"


def test_ssvm_agent_host_rows(api: CloudStack) -> None:
    vms = {vm["name"]: vm for vm in ssvms(api)}
    hosts = api.listHosts(type="SecondaryStorageVM", fetch_list=True)
    assert {h["name"] for h in hosts} == set(vms)
    for host in hosts:
        vm = vms[host["name"]]
        assert host["type"] == "SecondaryStorageVM"
        assert host["state"] == "Up"
        assert host["resourcestate"] == "Enabled"
        assert host["virtualmachineid"] == vm["id"]
        assert host["zoneid"] == vm["zoneid"]
        assert host["id"] != vm["hostid"], "hostid of the VM is the hypervisor, not its agent row"


def test_list_hosts_by_exact_name(api: CloudStack) -> None:
    name = ssvms(api)[0]["name"]
    assert [h["name"] for h in api.listHosts(type="SecondaryStorageVM", name=name, fetch_list=True)] == [name]
    assert api.listHosts(type="SecondaryStorageVM", name=name[:-1], fetch_list=True) == []


def test_ssvm_offerings(api: CloudStack) -> None:
    offerings = api.listServiceOfferings(issystem=True, systemvmtype="secondarystoragevm", fetch_list=True)
    default = [o for o in offerings if o["name"] == "System Offering For Secondary Storage VM"]
    assert len(default) == 1
    assert default[0]["issystem"] is True
    assert default[0]["systemvmtype"] == "secondarystoragevm"
    assert default[0]["cpunumber"] == 1
    assert default[0]["cpuspeed"] == 500
    assert default[0]["memory"] == 512
    assert default[0]["offerha"] is False
    assert all(o["issystem"] for o in offerings)


def test_non_system_offerings_are_not_listed_as_system(api: CloudStack) -> None:
    ssvm_ids = {o["id"] for o in api.listServiceOfferings(issystem=True, fetch_list=True)}
    user_offerings = api.listServiceOfferings(fetch_list=True)
    assert {o["name"] for o in user_offerings} >= {"Small Instance", "Medium Instance"}
    assert all(not o.get("issystem", False) for o in user_offerings)
    assert ssvm_ids.isdisjoint(o["id"] for o in user_offerings)


def test_image_stores_one_per_zone(api: CloudStack) -> None:
    stores = api.listImageStores(fetch_list=True)
    assert sorted(s["zonename"] for s in stores) == ["zone-1", "zone-2"]
    for store in stores:
        assert store["readonly"] is False
        assert store["protocol"]
        assert store["providername"]
    zone_1 = zone(api, "zone-1")
    assert [s["zoneid"] for s in api.listImageStores(zoneid=zone_1["id"], fetch_list=True)] == [zone_1["id"]]


def test_system_templates_are_ready(api: CloudStack) -> None:
    templates = api.listTemplates(templatefilter="system", fetch_list=True)
    assert templates
    assert all(t["isready"] for t in templates)
    template_ids = {t["id"] for t in templates}
    assert {vm["templateid"] for vm in ssvms(api)} <= template_ids


def test_management_servers_report_their_last_start(api: CloudStack) -> None:
    servers = api.listManagementServers(fetch_list=True)
    assert len(servers) >= 1
    for server in servers:
        assert server["state"] == "Up"
        assert server["name"]
        assert server["serviceip"]
        assert CS_DATE.match(server["lastserverstart"])


def test_capabilities_name_the_cloudstack_version(api: CloudStack) -> None:
    capability = api.listCapabilities()["capability"]
    assert re.match(r"^4\.\d+\.\d+", capability["cloudstackversion"])
    versions = {vm["version"] for vm in ssvms(api)}
    assert versions == {capability["cloudstackversion"]}


def test_update_zone_merges_details(api: CloudStack) -> None:
    zone_1 = zone(api, "zone-1")
    api.updateZone(id=zone_1["id"], details=[{"key": "enable.secstorage.vm", "value": "false"}])
    api.updateZone(id=zone_1["id"], details=[{"key": "note", "value": "lab"}])
    details = zone(api, "zone-1")["resourcedetails"]
    assert details == {"enable.secstorage.vm": "false", "note": "lab"}
