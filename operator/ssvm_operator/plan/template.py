"""System VM template stage: without a Ready system VM template in the zone CloudStack creates no SSVM there
(SecondaryStorageManagerImpl.isZoneReady), so an SSVM destroyed for recreation would not come back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ssvm_operator.model.snapshot import Inventory, Zone
from ssvm_operator.plan.candidate import Candidate
from ssvm_operator.plan.findings import Reason, degraded
from ssvm_operator.plan.types import TRAITS, Finding, Scope


def template_ready(zone: Zone, inventory: Inventory) -> bool | None:
    """Whether the zone has a Ready system VM template; None when the inventory does not say."""
    if inventory.ready_template_zones is None:
        return None
    return zone.id in inventory.ready_template_zones


def template_findings(zone: Zone, inventory: Inventory) -> list[Finding]:
    if template_ready(zone, inventory) is not False:
        return []
    return [
        degraded(
            Reason.SYSTEM_TEMPLATE_NOT_READY,
            f"no system VM template is Ready in zone {zone.name} (listTemplates templatefilter=system): "
            "CloudStack cannot create an SSVM there, so none is destroyed for recreation; register or "
            "re-download the systemvm template for the zone's hypervisor",
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
