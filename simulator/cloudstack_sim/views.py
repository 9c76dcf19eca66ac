"""Entities rendered as CloudStack's response objects.

Field names come from the *Response classes (api/src/main/java/org/apache/cloudstack/api/response/) and
their fillers; nulls are omitted because CloudStack's Gson runs without serializeNulls
(server/src/main/java/com/cloud/api/ApiResponseGsonHelper.java). Each object is drawn as the newest release
has it, then shaped to the answering release (releases.py drops the fields it did not have yet).
"""

from __future__ import annotations

from typing import Any

from cloudstack_sim.catalogue import Setting
from cloudstack_sim.clock import cs_date, last_pinged_quirk
from cloudstack_sim.cloud import Cloud
from cloudstack_sim.jobs import JobTable
from cloudstack_sim.model import (
    HypervisorHost,
    ImageStore,
    ManagementServer,
    Offering,
    SystemVm,
    Template,
    VmType,
    Zone,
)
from cloudstack_sim.releases import Release

JsonObject = dict[str, Any]


def compact(fields: JsonObject) -> JsonObject:
    return {name: value for name, value in fields.items() if value is not None}


def _shaped(release: Release, object_name: str, fields: JsonObject) -> JsonObject:
    """The object as `release` answers it: no nulls, no field the release did not have yet."""
    return compact(release.shape(object_name, fields))


def list_body(object_name: str, items: list[JsonObject], count: int) -> JsonObject:
    """ApiResponseSerializer L97-135: `{}` when nothing matched; `count` is the total, not the page size;
    a page past the end carries `count` and no item key."""
    body: JsonObject = {}
    if count:
        body["count"] = count
        if items:
            body[object_name] = items
    return body


def _control_state(host: HypervisorHost) -> str:
    """ControlState.getControlState(host status, resource state) (PR #6946)."""
    if host.state in ("Down", "Disconnected", "Alert", "Removed", "Error"):
        return "Offline"
    if host.resource_state == "Maintenance":
        return "Maintenance"
    return "Enabled" if host.resource_state == "Enabled" else "Disabled"


def systemvm(cloud: Cloud, vm: SystemVm, jobs: JobTable | None = None) -> JsonObject:
    """SystemVmResponse as ApiResponseHelper.createSystemVmResponse fills it (L1773-1889); no role field."""
    zone = cloud.zones[vm.zone_uuid]
    host = cloud.hosts.get(vm.host_uuid) if vm.host_uuid else None
    template = cloud.templates.get(vm.template_uuid)
    offering = cloud.offerings.get(vm.offering_uuid)
    agent = vm.agent
    fields: JsonObject = {
        "id": vm.uuid,
        "systemvmtype": vm.type.api_name,
        "zoneid": zone.uuid,
        "zonename": zone.name,
        "dns1": zone.dns1,
        "dns2": zone.dns2,
        "gateway": f"172.16.{zone.subnet}.1",
        "name": vm.name,
        "podid": zone.pod_uuid,
        "podname": zone.pod_name,
        "hostid": host.uuid if host else None,
        "hostname": host.name if host else None,
        "hostcontrolstate": _control_state(host) if host else None,
        "hypervisor": template.hypervisor if template else "KVM",
        "privateip": vm.private_ip,
        "privatemacaddress": vm.private_mac,
        "privatenetmask": "255.255.255.0",
        "linklocalip": vm.link_local_ip,
        "linklocalmacaddress": vm.link_local_mac,
        "linklocalnetmask": "255.255.0.0" if vm.link_local_ip else None,
        "publicip": vm.public_ip,
        "publicmacaddress": vm.public_mac,
        "publicnetmask": "255.255.255.0",
        "templateid": template.uuid if template else None,
        "templatename": template.name if template else None,
        "arch": template.arch if template else None,
        "created": cs_date(vm.created),
        "state": vm.state.value,
        "agentstate": agent.state.value if agent else None,
        "disconnected": cs_date(agent.disconnected) if agent and agent.disconnected else None,
        "version": agent.version if agent else None,
        "isdynamicallyscalable": vm.dynamically_scalable,
        "serviceofferingid": offering.uuid if offering else None,
        "serviceofferingname": offering.name if offering else None,
        "hasannotations": False,
    }
    if vm.type is VmType.CONSOLE_PROXY:
        # createSystemVmResponse fills activeViewerSessions for console proxies only.
        fields["activeviewersessions"] = 0
    if jobs is not None:
        # ApiServer.buildAsyncListResponse (L856-908): a pending job on the VM shows on the VM.
        pending = jobs.pending_for(vm.uuid)
        if pending is not None:
            fields["jobid"] = pending.uuid
            fields["jobstatus"] = pending.status.value
    return compact(cloud.release.shape("systemvm", fields))


def agent_host(cloud: Cloud, vm: SystemVm) -> JsonObject:
    """The VM's own host row as listHosts shows it (HostJoinDaoImpl.setNewHostResponseBase L120-322)."""
    agent = vm.agent
    assert agent is not None
    zone = cloud.zones[vm.zone_uuid]
    ms = next((m for m in cloud.management_servers if m.uuid == agent.management_server_uuid), None)
    return _shaped(
        cloud.release,
        "host",
        {
            "id": agent.uuid,
            "name": agent.name,
            "state": agent.state.value,
            "disconnected": cs_date(agent.disconnected) if agent.disconnected else None,
            "type": vm.type.host_type,
            "ipaddress": vm.private_ip,
            "zoneid": zone.uuid,
            "zonename": zone.name,
            "podid": zone.pod_uuid,
            "podname": zone.pod_name,
            "version": agent.version,
            "lastpinged": last_pinged_quirk(agent.last_pinged) if agent.last_pinged else None,
            "managementserverid": ms.uuid if ms else None,
            "managementservername": ms.name if ms else None,
            "created": cs_date(agent.created),
            "resourcestate": agent.resource_state,
            "islocalstorageactive": False,
            "arch": "x86_64",
            "hasannotations": False,
            "virtualmachineid": vm.uuid,
        },
    )


def routing_host(cloud: Cloud, host: HypervisorHost) -> JsonObject:
    zone = cloud.zones[host.zone_uuid]
    ms = cloud.primary_ms
    return _shaped(
        cloud.release,
        "host",
        {
            "id": host.uuid,
            "name": host.name,
            "state": host.state,
            "type": "Routing",
            "ipaddress": host.ip,
            "zoneid": zone.uuid,
            "zonename": zone.name,
            "podid": zone.pod_uuid,
            "podname": zone.pod_name,
            "hypervisor": host.hypervisor,
            "version": cloud.version,
            "lastpinged": last_pinged_quirk(cloud.now()),
            "managementserverid": ms.uuid,
            "managementservername": ms.name,
            "created": cs_date(host.created),
            "resourcestate": host.resource_state,
            "islocalstorageactive": False,
            "hosttags": ",".join(sorted(host.tags)) or None,
            "arch": "x86_64",
            "hasannotations": False,
        },
    )


def zone(cloud: Cloud, z: Zone) -> JsonObject:
    """ZoneResponse, admin (Full) view (DataCenterJoinDaoImpl.newDataCenterResponse)."""
    return _shaped(
        cloud.release,
        "zone",
        {
            "id": z.uuid,
            "name": z.name,
            "dns1": z.dns1,
            "dns2": z.dns2,
            "internaldns1": z.internal_dns1,
            "internaldns2": z.internal_dns2,
            "networktype": z.network_type,
            "securitygroupsenabled": z.security_groups_enabled,
            "allocationstate": z.allocation_state,
            "dhcpprovider": "VirtualRouter",
            "localstorageenabled": z.local_storage_enabled,
            "domain": z.domain,
            "type": z.type,
            "zonetoken": z.token or None,
            "tags": [],
            # ApiDBUtils.getResourceDetails returns null for an empty map, so the field then disappears.
            "resourcedetails": dict(z.details) if z.details else None,
            "hasannotations": False,
            "allowuserspecifyvrmtu": False,
            "routerprivateinterfacemaxmtu": 1500,
            "routerpublicinterfacemaxmtu": 1500,
        },
    )


def offering(release: Release, o: Offering) -> JsonObject:
    return _shaped(
        release,
        "serviceoffering",
        {
            "id": o.uuid,
            "name": o.name,
            "displaytext": o.display_text,
            "cpunumber": o.cpu_number,
            "cpuspeed": o.cpu_speed,
            "memory": o.memory,
            "created": cs_date(o.created),
            "storagetype": o.storage_type,
            "storagetags": ",".join(o.storage_tags) or None,
            "hosttags": ",".join(o.host_tags) or None,
            "provisioningtype": "thin",
            "offerha": o.offer_ha,
            "limitcpuuse": o.limit_cpu_use,
            "isvolatile": False,
            "issystem": o.is_system,
            "defaultuse": o.default_use,
            "systemvmtype": o.vm_type if o.is_system else None,
            "iscustomized": False,
            "hasannotations": False,
            "dynamicscalingenabled": o.dynamic_scaling,
            "diskofferingstrictness": False,
            "state": o.state,
        },
    )


def image_store(cloud: Cloud, store: ImageStore) -> JsonObject:
    z = cloud.zones[store.zone_uuid]
    fields: JsonObject = {
        "id": store.uuid,
        "zoneid": z.uuid,
        "zonename": z.name,
        "name": store.name,
        "url": store.url,
        "protocol": store.protocol,
        "providername": store.provider,
        "scope": "ZONE",
        "readonly": store.readonly,
        "disksizetotal": store.size_total,
        "disksizeused": store.size_used,
        "hasannotations": False,
    }
    return cloud.release.shape("imagestore", fields)


def template(cloud: Cloud, t: Template, z: Zone) -> JsonObject:
    """TemplateResponse for one template_zone_ref row (listTemplates lists a template once per zone)."""
    ready = z.uuid in t.ready_in_zones
    return _shaped(
        cloud.release,
        "template",
        {
            "id": t.uuid,
            "name": t.name,
            "displaytext": t.name,
            "ispublic": False,
            "created": cs_date(t.created),
            "isready": ready,
            "passwordenabled": False,
            "format": "QCOW2",
            "isfeatured": False,
            "crossZones": False,
            "ostypename": "Debian GNU/Linux 12 (64-bit)",
            "account": "system",
            "zoneid": z.uuid,
            "zonename": z.name,
            "status": "Download Complete" if ready else "Not Downloaded",
            "size": 5 * 1024**3 if ready else None,
            "templatetype": "SYSTEM",
            "hypervisor": t.hypervisor,
            "domain": "ROOT",
            "domainid": cloud.account.domain_uuid,
            "isextractable": False,
            "sshkeyenabled": False,
            "isdynamicallyscalable": False,
            "directdownload": False,
            "deployasis": False,
            "requireshvm": True,
            "bootable": True,
            "isrouting": False,
            "arch": t.arch,
            "hasannotations": False,
        },
    )


def configuration(
    release: Release, setting: Setting, value: str | None, scope: str | None = None
) -> JsonObject:
    """ConfigurationResponse (ApiResponseHelper.createConfigurationResponse L649-676); `scope` is set only
    by the command when a scope id was passed."""
    return _shaped(
        release,
        "configuration",
        {
            "category": setting.category,
            "name": setting.name,
            "value": value,
            "defaultvalue": setting.default,
            "description": setting.description,
            "isdynamic": setting.dynamic,
            "component": setting.component,
            "group": setting.group,
            "subgroup": setting.subgroup,
            "displaytext": setting.display_text(),
            "type": setting.api_type,
            "scope": scope,
        },
    )


def management_server(release: Release, ms: ManagementServer) -> JsonObject:
    """ManagementServerResponse; names from ApiConstants (LAST_SERVER_START = "lastserverstart", ...)."""
    return _shaped(
        release,
        "managementserver",
        {
            "id": ms.uuid,
            "name": ms.name,
            "state": ms.state,
            "version": ms.version,
            "javadistribution": "Ubuntu",
            "javaversion": "17.0.13",
            "osdistribution": "Ubuntu 22.04.5 LTS",
            "lastserverstart": cs_date(ms.last_server_start),
            "lastserverstop": cs_date(ms.last_server_stop) if ms.last_server_stop else None,
            "lastboottime": cs_date(ms.last_boot),
            "kernelversion": "5.15.0-125-generic",
            "serviceip": ms.ip,
            "ipaddress": ms.ip,
        },
    )


def capabilities(cloud: Cloud) -> JsonObject:
    """CapabilitiesResponse, object name "capability" (ListCapabilitiesCmd)."""
    fields: JsonObject = {
        "securitygroupsenabled": False,
        "dynamicrolesenabled": True,
        "cloudstackversion": cloud.version,
        "userpublictemplateenabled": True,
        "supportELB": "false",
        "projectinviterequired": False,
        "allowusercreateprojects": True,
        "customdiskofferingminsize": 1,
        "customdiskofferingmaxsize": 1024,
        "regionsecondaryenabled": False,
        "kvmsnapshotenabled": False,
        "allowuserviewdestroyedvm": False,
        "allowuserexpungerecovervm": False,
        "allowuserexpungerecovervolume": True,
        "allowuserviewalldomainaccounts": False,
        "kubernetesserviceenabled": False,
        "kubernetesclusterexperimentalfeaturesenabled": False,
        "defaultuipagesize": 20,
        "instancesstatsretentiontime": 720,
        "instancesstatsuseronly": False,
        "instancesdisksstatsretentionenabled": False,
        "instancesdisksstatsretentiontime": 720,
    }
    return cloud.release.shape("capability", fields)
