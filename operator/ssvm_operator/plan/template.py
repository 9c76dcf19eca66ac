"""System VM template stage: without a Ready system VM template in the zone CloudStack creates no SSVM there
(SecondaryStorageManagerImpl.isZoneReady), so an SSVM destroyed for recreation would not come back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ssvm_operator.model.snapshot import Inventory, Zone
from ssvm_operator.model.templates import SystemTemplate
from ssvm_operator.plan.candidate import Candidate
from ssvm_operator.plan.findings import Reason, degraded
from ssvm_operator.plan.types import TRAITS, Finding, Scope


def template_ready(zone: Zone, inventory: Inventory) -> bool | None:
    """Whether CloudStack has a system VM template to create an SSVM in the zone; None when not known.

    CloudStack's rule (`VMTemplateDaoImpl.findSystemVMReadyTemplate`, used by
    `SecondaryStorageManagerImpl.isZoneReady`): a SYSTEM template whose hypervisor (and architecture) is that
    of a host of the zone, downloaded and Ready in *any* image store. Where the zone's hosts are not known,
    the older predicate stands: a system template shown Ready in this zone.
    """
    kinds = (
        (inventory.zone_hypervisors or {}).get(zone.id) if inventory.zone_hypervisors is not None else None
    )
    if kinds and inventory.system_templates:
        return any(
            t.ready
            and t.hypervisor is not None
            and any(
                t.hypervisor.lower() == hypervisor.lower()
                and (t.arch is None or arch is None or t.arch == arch)
                for hypervisor, arch in kinds
            )
            for t in inventory.system_templates
        )
    if inventory.ready_template_zones is None:
        return None
    return zone.id in inventory.ready_template_zones


def _fits(template: SystemTemplate, kinds: frozenset[tuple[str, str | None]]) -> bool:
    if template.hypervisor is None:
        return False
    return any(
        template.hypervisor.lower() == hypervisor.lower()
        and (template.arch is None or arch is None or template.arch == arch)
        for hypervisor, arch in kinds
    )


def template_findings(zone: Zone, inventory: Inventory) -> list[Finding]:
    if template_ready(zone, inventory) is not False:
        return []
    return [
        degraded(
            Reason.SYSTEM_TEMPLATE_NOT_READY,
            f"no system VM template is Ready for the hypervisor of zone {zone.name}'s hosts "
            "(listTemplates templatefilter=system, in any image store): CloudStack cannot create an SSVM "
            "there, so none is destroyed for recreation; register or re-download the systemvm template for "
            "the zone's hypervisor",
            Scope.DEPENDENCY,
        )
    ]


def hold_recreations(candidates: Sequence[Candidate], zone: Zone, inventory: Inventory) -> list[Candidate]:
    if template_ready(zone, inventory) is not False:
        return list(candidates)
    reason = f"no system VM template is Ready in zone {zone.name}: CloudStack could not recreate it"
    return [
        replace(c, held=c.held or reason) if TRAITS[c.action.kind].recreated_by_cloudstack else c
        for c in candidates
    ]
