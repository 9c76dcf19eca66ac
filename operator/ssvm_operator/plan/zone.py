"""The pool's zone: which one it is, whether this pool may manage it, and whether CloudStack scans it."""

from __future__ import annotations

from ssvm_operator.model.snapshot import Inventory, Zone
from ssvm_operator.plan.findings import Reason, degraded, info, stalled
from ssvm_operator.plan.types import Finding


def zone_not_found(name: str, inventory: Inventory) -> Finding:
    known = ", ".join(sorted(z.name for z in inventory.zones))
    existing = f"zones that exist: {known}" if known else "the endpoint reports no zones"
    return stalled(
        Reason.ZONE_NOT_FOUND, f"zone {name!r} does not exist on this CloudStack endpoint; {existing}"
    )


def duplicate_pool(conflict: str) -> Finding:
    return stalled(
        Reason.DUPLICATE_POOL, f"{conflict}; this pool acts on nothing until only one pool manages the zone"
    )


def why_not_scanned(zone: Zone) -> str | None:
    """Why CloudStack's SSVM scanner skips the zone whatever its SSVM detail says, or None.

    The scanner walks only Enabled, non-Edge zones
    (SecondaryStorageManagerImpl.java via DataCenterDaoImpl.listEnabledNonEdgeZoneIds).
    """
    if zone.zone_type == "Edge":
        return "it is an Edge zone, and CloudStack never runs an SSVM in an Edge zone"
    if zone.allocation_state != "Enabled":
        return (
            f"its allocation state is {zone.allocation_state}, and CloudStack's scanner visits only Enabled "
            "zones"
        )
    return None


def recreates_ssvms(zone: Zone, replicas: int) -> bool:
    """Whether CloudStack would create a replacement for a destroyed SSVM here
    (cloudstack-contract.md §1.5)."""
    return replicas >= 1 and zone.scanned_by_cloudstack


def scanner_findings(zone: Zone, replicas: int) -> list[Finding]:
    """Why CloudStack keeps no SSVM in the zone, when the reason is beyond what the pool can change."""
    why = why_not_scanned(zone)
    if why is None:
        return []
    message = f"CloudStack keeps no SSVM in zone {zone.name}: {why}"
    if replicas == 0:
        return [info(Reason.ZONE_NOT_SCANNED, message)]
    if zone.zone_type == "Edge":
        return [stalled(Reason.ZONE_NOT_SCANNED, f"{message}; set replicas to 0 or choose a Core zone")]
    return [
        degraded(
            Reason.ZONE_NOT_SCANNED,
            f"{message}; SSVMs that stop or are destroyed are not replaced until an admin enables the zone",
        )
    ]
