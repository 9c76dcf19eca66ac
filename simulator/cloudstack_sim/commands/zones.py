"""Zone commands: listZones and updateZone (the way to set `enable.secstorage.vm`).

Sources: api/src/main/java/org/apache/cloudstack/api/command/admin/zone/ and
ConfigurationManagerImpl.editZone (zone details are merged into the existing ones).
"""

from __future__ import annotations

from typing import Any

from cloudstack_sim import views
from cloudstack_sim.commands import Command, Services
from cloudstack_sim.commands.systemvms import max_page_size
from cloudstack_sim.errors import invalid_parameter, param_error
from cloudstack_sim.model import Zone
from cloudstack_sim.params import LIST_PARAMS, Kind, Param, keyword_matches, page_of, same_text

_ALLOCATION_STATES = ("Enabled", "Disabled")


async def list_zones(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    cloud = services.cloud
    page = page_of(args, max_page_size(services))
    wanted: Zone | None = args.get("id")
    ids = {z.uuid for z in args.get("ids", [])} if "ids" in args else None
    zones = [
        z
        for z in sorted(cloud.zones.values(), key=lambda z: z.internal_id)
        if (wanted is None or z.uuid == wanted.uuid)
        and (ids is None or z.uuid in ids)
        and ("name" not in args or same_text(z.name, args["name"]))
        and ("networktype" not in args or same_text(z.network_type, args["networktype"]))
        and keyword_matches(args.get("keyword"), z.name)
    ]
    items = [views.zone(cloud, z) for z in page.apply(zones)]
    return views.list_body("zone", items, len(zones))


def _details(entries: list[dict[str, str]]) -> dict[str, str]:
    details: dict[str, str] = {}
    for entry in entries:
        key, value = entry.get("key"), entry.get("value")
        if key is None or value is None:
            raise invalid_parameter(
                "Invalid Zone Detail specified, fields 'key' and 'value' cannot be null, please specify "
                "details in the form:  details[0].key=XXX&details[0].value=YYY"
            )
        details[key] = value
    return details


async def update_zone(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    zone = args["id"]
    assert isinstance(zone, Zone)
    new_details = _details(args["details"]) if "details" in args else {}
    state = args.get("allocationstate")
    if state and state not in _ALLOCATION_STATES:
        # Grouping.AllocationState.valueOf -> IllegalArgumentException, reported as a parameter error.
        raise param_error(f"No enum constant com.cloud.org.Grouping.AllocationState.{state}")
    name = args.get("name")
    if name is not None and name != zone.name and any(z.name == name for z in services.cloud.zones.values()):
        raise invalid_parameter(
            f"A zone with name: {name} already exists. Please specify a different zone name."
        )
    if name is not None:
        zone.name = name
    for field in ("dns1", "dns2", "internaldns1", "internaldns2"):
        if field in args:
            setattr(zone, field.replace("internaldns", "internal_dns"), args[field] or None)
    if "domain" in args:
        zone.domain = args["domain"] or None
    if "localstorageenabled" in args:
        zone.local_storage_enabled = bool(args["localstorageenabled"])
    # editZone merges the new details into the existing ones; the scanner reads them on every scan.
    zone.details.update(new_details)
    if state:
        zone.allocation_state = state
    return {"zone": views.zone(services.cloud, zone)}


COMMANDS = (
    Command(
        "listZones",
        (
            Param("id", Kind.UUID, entity="zone"),
            Param("ids", Kind.LIST, entity="zone"),
            Param("available", Kind.BOOLEAN),
            Param("domainid", Kind.UUID, entity="domain"),
            Param("name"),
            Param("networktype"),
            Param("showcapacities", Kind.BOOLEAN),
            Param("tags", Kind.MAP),
            Param("showicon", Kind.BOOLEAN),
            *LIST_PARAMS,
        ),
        list_zones,
    ),
    Command(
        "updateZone",
        (
            Param("id", Kind.UUID, required=True, entity="zone"),
            Param("name"),
            Param("allocationstate"),
            Param("dns1"),
            Param("dns2"),
            Param("internaldns1"),
            Param("internaldns2"),
            Param("domain"),
            Param("localstorageenabled", Kind.BOOLEAN),
            Param("details", Kind.MAP),
        ),
        update_zone,
    ),
)
