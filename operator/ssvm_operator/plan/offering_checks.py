"""Offering changes CloudStack would refuse are refused in the plan, with its reason, before any stop.

`changeServiceForSystemVm` runs `VirtualMachineManagerImpl.checkIfCanUpgrade`: the new offering's storage
scope must match the pool the ROOT volume is on (`checkIfNewOfferingStorageScopeMatchesStoragePool`; every
install has a "- Local Storage" twin of each system offering), and the current offering's storage tags must be
a subset of the new one's (`VolumeApiServiceImpl.doesNewDiskOfferingHasTagsAsOldDiskOffering`). Both answer
431; the SSVM's current offering tells both in advance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ssvm_operator.model.snapshot import Inventory, Offering
from ssvm_operator.plan.candidate import Candidate
from ssvm_operator.plan.findings import Reason, stalled
from ssvm_operator.plan.types import ActionKind, Finding


def refusal(current: Offering, target: Offering) -> str | None:
    """CloudStack's reason for refusing to move an SSVM from `current` to `target`, or None."""
    if target.storage_type != current.storage_type:
        return (
            f"target offering use {target.storage_type} storage but the storage pool where the volume is "
            f"allocated is a {current.storage_type} storage"
        )
    missing = sorted(set(current.storage_tags) - set(target.storage_tags))
    if missing:
        return (
            "the current service offering should have tags as subset of the new service offering tags "
            f"(missing: {', '.join(missing)})"
        )
    return None


def refuse_impossible(
    candidates: Sequence[Candidate],
    target: Offering,
    inventory: Inventory,
    offering_of: Mapping[str, str | None],
) -> tuple[list[Candidate], list[Finding]]:
    """Drop the offering changes CloudStack would refuse; one Stalled finding names them with its reason.

    `offering_of`: each SSVM's current offering id, by SSVM id.
    """
    kept: list[Candidate] = []
    refused: list[str] = []
    for candidate in candidates:
        action = candidate.action
        current_id = offering_of.get(action.vm_id or "")
        current = next((o for o in inventory.offerings if o.id == current_id), None)
        why = refusal(current, target) if action.kind is ActionKind.CHANGE_OFFERING and current else None
        if why is None:
            kept.append(candidate)
        else:
            refused.append(f"{action.vm_name}: {why}")
    if not refused:
        return kept, []
    message = (
        f"CloudStack would refuse to move SSVMs to offering {target.name!r} (changeServiceForSystemVm, "
        f"checkIfCanUpgrade): {'; '.join(refused)}. Nothing is stopped; declare an offering of the same "
        "storage scope whose storage tags include the current ones"
    )
    return kept, [stalled(Reason.OFFERING_REFUSED, message)]
