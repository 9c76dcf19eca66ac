"""Read-only inventory: hosts, offerings, image stores, templates, management servers, capabilities."""

from __future__ import annotations

from typing import Any

from cloudstack_sim import views
from cloudstack_sim.commands import Command, Services
from cloudstack_sim.commands.systemvms import max_page_size
from cloudstack_sim.errors import param_error
from cloudstack_sim.model import HypervisorHost, SystemVm
from cloudstack_sim.params import LIST_PARAMS, Kind, Param, keyword_matches, page_of, same_text

_TEMPLATE_FILTERS = (
    "featured",
    "self",
    "selfexecutable",
    "sharedexecutable",
    "executable",
    "community",
    "all",
    "system",
)


def _host_rows(services: Services) -> list[tuple[int, str, Any]]:
    """Every host row: hypervisors, then the agents of system VMs, ordered like the host table (by id)."""
    rows: list[tuple[int, str, Any]] = []
    for host in services.cloud.hosts.values():
        rows.append((host.internal_id, host.uuid, host))
    for vm in services.cloud.agents():
        assert vm.agent is not None
        rows.append((vm.agent.internal_id, vm.agent.uuid, vm))
    return sorted(rows, key=lambda row: row[0])


async def list_hosts(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    cloud = services.cloud
    page = page_of(args, max_page_size(services))
    wanted = args.get("id")
    wanted_uuid = getattr(wanted, "uuid", None)
    if isinstance(wanted, SystemVm) and wanted.agent is not None:
        wanted_uuid = wanted.agent.uuid
    zone = args.get("zoneid")
    pod = args.get("podid")  # resolved to the pod's zone: one pod per zone
    vm_filter = args.get("virtualmachineid")
    selected = []
    for _, uuid, row in _host_rows(services):
        if isinstance(row, HypervisorHost):
            name, host_type, state, resource_state, zone_uuid, vm_uuid = (
                row.name,
                "Routing",
                row.state,
                row.resource_state,
                row.zone_uuid,
                None,
            )
        else:
            assert row.agent is not None
            name, host_type, state, resource_state, zone_uuid, vm_uuid = (
                row.agent.name,
                row.type.host_type,
                row.agent.state.value,
                row.agent.resource_state,
                row.zone_uuid,
                row.uuid,
            )
        if wanted_uuid is not None and uuid != wanted_uuid:
            continue
        # `type` is matched as LIKE '%type' by the host search, so a suffix matches, without case.
        if "type" in args and not host_type.lower().endswith(args["type"].lower()):
            continue
        if "name" in args and not same_text(name, args["name"]):
            continue
        if "state" in args and not same_text(state, args["state"]):
            continue
        if "resourcestate" in args and not same_text(resource_state, args["resourcestate"]):
            continue
        if zone is not None and zone_uuid != zone.uuid:
            continue
        if pod is not None and zone_uuid != pod.uuid:
            continue
        if vm_filter is not None and vm_uuid != getattr(vm_filter, "uuid", None):
            continue
        if not keyword_matches(args.get("keyword"), name):
            continue
        selected.append(row)
    items = [
        views.routing_host(cloud, row) if isinstance(row, HypervisorHost) else views.agent_host(cloud, row)
        for row in page.apply(selected)
    ]
    return views.list_body("host", items, len(selected))


async def list_service_offerings(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    page = page_of(args, max_page_size(services))
    is_system = bool(args.get("issystem", False))
    wanted = args.get("id")
    state = (args.get("state") or "active").lower()
    offerings = [
        o
        for o in sorted(services.cloud.offerings.values(), key=lambda o: o.internal_id)
        # issystem defaults to false: without it only user offerings are listed.
        if o.is_system == is_system
        and (wanted is None or o.uuid == wanted.uuid)
        and (not is_system or "systemvmtype" not in args or same_text(o.vm_type, args["systemvmtype"]))
        and ("name" not in args or same_text(o.name, args["name"]))
        and (state == "all" or o.state.lower() == state)
        and keyword_matches(args.get("keyword"), o.name)
    ]
    items = [views.offering(services.cloud.release, o) for o in page.apply(offerings)]
    return views.list_body("serviceoffering", items, len(offerings))


async def list_image_stores(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    cloud = services.cloud
    page = page_of(args, max_page_size(services))
    wanted = args.get("id")
    zone = args.get("zoneid")
    stores = [
        s
        for s in sorted(cloud.image_stores.values(), key=lambda s: s.internal_id)
        if (wanted is None or s.uuid == wanted.uuid)
        and (zone is None or s.zone_uuid == zone.uuid)
        and ("name" not in args or same_text(s.name, args["name"]))
        and ("protocol" not in args or same_text(s.protocol, args["protocol"]))
        and ("provider" not in args or same_text(s.provider, args["provider"]))
        and ("readonly" not in args or s.readonly == args["readonly"])
        and keyword_matches(args.get("keyword"), s.name)
    ]
    items = [views.image_store(cloud, s) for s in page.apply(stores)]
    return views.list_body("imagestore", items, len(stores))


async def list_templates(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    cloud = services.cloud
    template_filter = args["templatefilter"]
    if template_filter not in _TEMPLATE_FILTERS:
        # TemplateFilter.valueOf(...) -> IllegalArgumentException, reported as a parameter error.
        raise param_error(
            f"No enum constant com.cloud.template.VirtualMachineTemplate.TemplateFilter.{template_filter}"
        )
    page = page_of(args, max_page_size(services))
    if template_filter not in ("system", "all"):
        return views.list_body("template", [], 0)  # the simulator holds system templates only
    wanted = args.get("id")
    zone = args.get("zoneid")
    rows = [
        (t, z)
        for t in sorted(cloud.templates.values(), key=lambda t: t.internal_id)
        for z in sorted(cloud.zones.values(), key=lambda z: z.internal_id)
        if (wanted is None or t.uuid == wanted.uuid)
        and (zone is None or z.uuid == zone.uuid)
        and ("name" not in args or same_text(t.name, args["name"]))
        and ("hypervisor" not in args or same_text(t.hypervisor, args["hypervisor"]))
        and keyword_matches(args.get("keyword"), t.name)
    ]
    items = [views.template(cloud, t, z) for t, z in page.apply(rows)]
    return views.list_body("template", items, len(rows))


async def list_management_servers(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    page = page_of(args, max_page_size(services))
    servers = [
        ms
        for ms in services.cloud.management_servers
        if ("id" not in args or ms.uuid == args["id"].uuid)
        and ("name" not in args or same_text(ms.name, args["name"]))
    ]
    items = [views.management_server(services.cloud.release, ms) for ms in page.apply(servers)]
    return views.list_body("managementserver", items, len(servers))


async def list_capabilities(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    return {"capability": views.capabilities(services.cloud)}


COMMANDS = (
    Command(
        "listHosts",
        (
            Param("id", Kind.UUID, entity="host"),
            Param("name"),
            Param("type"),
            Param("zoneid", Kind.UUID, entity="zone"),
            Param("podid", Kind.UUID, entity="pod"),
            Param("clusterid", Kind.UUID, entity="cluster"),
            Param("state"),
            Param("resourcestate"),
            Param("hypervisor"),
            Param("details", Kind.LIST),
            Param("virtualmachineid", Kind.UUID, entity="vm"),
            Param("outofbandmanagementenabled", Kind.BOOLEAN),
            Param("managementserverid", Kind.UUID, entity="ms"),
            *LIST_PARAMS,
        ),
        list_hosts,
    ),
    Command(
        "listServiceOfferings",
        (
            Param("id", Kind.UUID, entity="offering"),
            Param("name"),
            Param("issystem", Kind.BOOLEAN),
            Param("systemvmtype"),
            Param("zoneid", Kind.UUID, entity="zone"),
            Param("state"),
            Param("domainid", Kind.UUID, entity="domain"),
            Param("virtualmachineid", Kind.UUID, entity="vm"),
            *LIST_PARAMS,
        ),
        list_service_offerings,
    ),
    Command(
        "listImageStores",
        (
            Param("id", Kind.UUID, entity="imagestore"),
            Param("name"),
            Param("protocol"),
            Param("provider"),
            Param("zoneid", Kind.UUID, entity="zone"),
            Param("readonly", Kind.BOOLEAN),
            *LIST_PARAMS,
        ),
        list_image_stores,
        since="4.2.0",
    ),
    Command(
        "listTemplates",
        (
            Param("templatefilter", required=True),
            Param("id", Kind.UUID, entity="template"),
            Param("name"),
            Param("zoneid", Kind.UUID, entity="zone"),
            Param("hypervisor"),
            Param("showremoved", Kind.BOOLEAN),
            *LIST_PARAMS,
        ),
        list_templates,
    ),
    Command(
        "listManagementServers",
        (Param("id", Kind.UUID, entity="ms"), Param("name"), Param("peers", Kind.BOOLEAN), *LIST_PARAMS),
        list_management_servers,
    ),
    Command("listCapabilities", (), list_capabilities),
)
