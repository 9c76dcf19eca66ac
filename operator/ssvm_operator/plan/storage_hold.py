"""Image-store capacity: where no store of the zone is under `secondary.storage.capacity.threshold`,
CloudStack creates no SSVM (`SecondaryStorageManagerImpl.createSecStorageVmInstance` finds no store through
`getImageStoreWithFreeCapacity`) and starts an existing one without its boot arguments
(`finalizeVirtualMachineProfile`, `listImageStoresWithFreeCapacity`). Every action that destroys an SSVM or
stops and starts one (`Traits.needs_store_capacity`) is therefore held there, and the pool says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ssvm_operator.model.image_store import CAPACITY_THRESHOLD_KEY, threshold
from ssvm_operator.model.snapshot import Inventory, Zone
from ssvm_operator.plan.candidate import Candidate
from ssvm_operator.plan.findings import Reason, degraded
from ssvm_operator.plan.types import Finding, Scope, traits


def stores_full(zone: Zone, inventory: Inventory) -> str | None:
    """Why no image store of the zone takes a new SSVM, or None (also when the sizes are not reported)."""
    if inventory.image_stores is None:
        return None
    stores = [s for s in inventory.image_stores if s.zone_id == zone.id]
    limit = threshold(inventory.settings)
    verdicts = [s.takes_new_ssvms(limit) for s in stores]
    if not stores or any(v is not False for v in verdicts):
        return None
    described = ", ".join(
        f"{s.name} {'read-only' if s.readonly else f'{(s.usage() or 0) * 100:.0f}% used'}" for s in stores
    )
    return (
        f"no image store of zone {zone.name} is under {CAPACITY_THRESHOLD_KEY} ({limit:.2f}): {described}. "
        "CloudStack would create no replacement SSVM and start one without its boot arguments"
    )


def hold_for_storage(candidates: Sequence[Candidate], zone: Zone, inventory: Inventory) -> list[Candidate]:
    why = stores_full(zone, inventory)
    if why is None:
        return list(candidates)
    held = f"{why}: nothing is destroyed or stopped there until a store has room"
    return [
        replace(c, held=c.held or held) if traits(c.action.kind).needs_store_capacity else c
        for c in candidates
    ]


def storage_findings(zone: Zone, inventory: Inventory) -> list[Finding]:
    why = stores_full(zone, inventory)
    if why is None:
        return []
    return [
        degraded(
            Reason.IMAGE_STORE_FULL,
            f"{why}; SSVMs are not destroyed, recreated or stopped there until a store has room (free space, "
            f"add an image store, or raise {CAPACITY_THRESHOLD_KEY})",
            Scope.DEPENDENCY,
        )
    ]
