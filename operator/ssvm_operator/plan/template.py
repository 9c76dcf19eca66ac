"""System VM template stage: without a system VM template for the zone's hypervisor, downloaded in some image
store, CloudStack creates no SSVM there (SecondaryStorageManagerImpl.isZoneReady), so an SSVM destroyed for
recreation would not come back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ssvm_operator.model.snapshot import Inventory, Zone
from ssvm_operator.model.templates import HostKind, ready_system_templates
from ssvm_operator.plan.candidate import Candidate
from ssvm_operator.plan.findings import Reason, degraded
from ssvm_operator.plan.types import TRAITS, Finding, Scope


def zone_kinds(zone: Zone, inventory: Inventory) -> set[HostKind]:
    """The hypervisors (and archs) of the zone's hosts (HostDao.listDistinctHypervisorArchTypes): from the
    Routing hosts where the inventory read them (listHosts type=Routing), else those the zone's SSVMs run on
    (listSystemVms `hypervisor`, `arch`). A zone with neither is taken to have any: no SSVM there is at
    stake."""
    hosts = (inventory.zone_hypervisors or {}).get(zone.id)
    kinds: set[HostKind] = set(hosts) if hosts else set()
    if not kinds:
        kinds = {(vm.hypervisor, vm.arch) for vm in inventory.ssvms_in(zone.id) if vm.hypervisor}
    return kinds or {(None, None)}


def template_ready(zone: Zone, inventory: Inventory) -> bool | None:
    """Whether CloudStack would find a system VM template for the zone (model/templates.py
    ready_system_templates); None when the inventory did not read the templates."""
    if inventory.ready_template_zones is None:
        return None
    return bool(ready_system_templates(inventory.system_templates, zone_kinds(zone, inventory)))


def template_findings(zone: Zone, inventory: Inventory) -> list[Finding]:
    if template_ready(zone, inventory) is not False:
        return []
    return [
        degraded(
            Reason.SYSTEM_TEMPLATE_NOT_READY,
            f"no system VM template for the hypervisor of zone {zone.name} is Ready in any image store "
            "(listTemplates templatefilter=system): CloudStack cannot create an SSVM there, so none is "
            "destroyed for recreation; register or re-download the systemvm template for the zone's "
            "hypervisor",
            Scope.DEPENDENCY,
        )
    ]


def hold_recreations(candidates: Sequence[Candidate], zone: Zone, inventory: Inventory) -> list[Candidate]:
    if template_ready(zone, inventory) is not False:
        return list(candidates)
    reason = (
        f"no system VM template is Ready for the hypervisor of zone {zone.name} in any image store: "
        "CloudStack could not recreate it"
    )
    return [
        replace(c, held=c.held or reason) if TRAITS[c.action.kind].recreated_by_cloudstack else c
        for c in candidates
    ]
