"""Offering stage: every serving SSVM of the zone runs the declared service offering, one SSVM at a time.

changeServiceForSystemVm only writes the database; the offering applies at the next start
(ManagementServerImpl.upgradeStoppedSystemVm), so each change is a stop and start: a voluntary disruption.
SSVMs that CloudStack recreates come up with the global `secstorage.service.offering`, so the rollout
re-applies to them on the polls after they appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ssvm_operator.model.snapshot import Health, Inventory, Offering, Zone
from ssvm_operator.plan.assessment import Assessment
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.findings import Reason, info, stalled
from ssvm_operator.plan.types import ActionKind, Finding, InFlight, PlannedAction


def resolve_offering(name: str, inventory: Inventory) -> tuple[Offering | None, list[Finding]]:
    """The offering `name` (a name or an id) means, or a Stalled finding saying what to fix."""
    valid = ", ".join(sorted(o.name for o in inventory.offerings if o.fits_ssvm)) or "none"
    offering = inventory.offering_named(name)
    if offering is None:
        return None, [
            stalled(
                Reason.OFFERING_NOT_FOUND,
                f"spec.serviceOffering: service offering {name!r} does not exist on this CloudStack "
                f"endpoint; system offerings for SSVMs: {valid}",
            )
        ]
    if not offering.fits_ssvm:
        kind = f"for {offering.system_vm_type}" if offering.is_system else "not a system offering"
        return None, [
            stalled(
                Reason.OFFERING_NOT_FOR_SSVM,
                f"spec.serviceOffering: {offering.name!r} ({kind}) cannot run an SSVM; "
                f"system offerings for SSVMs: {valid}",
            )
        ]
    return offering, []


def change_refusal(current: Offering | None, target: Offering) -> str | None:
    """Why CloudStack would refuse changeServiceForSystemVm from `current` to `target`, in its words; None
    when it would accept. VirtualMachineManagerImpl.checkIfCanUpgrade: the ROOT volume's storage scope must
    match the new offering's (checkIfNewOfferingStorageScopeMatchesStoragePool; an SSVM's ROOT volume is
    where its offering put it), and the current offering's storage tags must be among the new one's
    (VolumeApiServiceImpl.doesNewDiskOfferingHasTagsAsOldDiskOffering). Every refusal is a 431 that would
    come back on every attempt: so the plan refuses it here, in CloudStack's words, and sends nothing."""
    if current is None:
        return None
    if target.storage_type != current.storage_type:
        return (
            f"target offering use {target.storage_type} storage but the storage pool where the volume is "
            f"allocated is a {current.storage_type} storage"
        )
    if not current.storage_tags <= target.storage_tags:
        return (
            "the current service offering should have tags as subset of the new service offering tags. "
            f"Current service offering tags: [{', '.join(sorted(current.storage_tags))}]; new service "
            f"offering tags: [{', '.join(sorted(target.storage_tags))}]"
        )
    return None


def _no_host_for(target: Offering, zone: Zone, hosts: Sequence[frozenset[str]] | None) -> str | None:
    if not target.host_tags or hosts is None or any(target.host_tags <= tags for tags in hosts):
        return None
    return (
        f"no Up host of zone {zone.name} has its host tags [{', '.join(sorted(target.host_tags))}], so the "
        "SSVM could not start again after the stop (the host allocators skip hosts without them)"
    )


def offering_candidates(
    target: Offering,
    assessed: Iterable[Assessment],
    zone: Zone,
    in_flight: Iterable[InFlight],
    skip: frozenset[str],
    known: Mapping[str, Offering] | None = None,
    hosts: Sequence[frozenset[str]] | None = None,
) -> tuple[list[Candidate], list[Finding]]:
    """CHANGE_OFFERING for each serving SSVM on another offering; only the first may run, the rest wait.
    `known`: the endpoint's offerings by id, to refuse a change CloudStack would refuse (change_refusal);
    `hosts`: the host tags of the zone's Up hosts, where read, to refuse an offering no host could start."""
    candidates: list[Candidate] = []
    unreported: list[str] = []
    refused: dict[str, list[str]] = {}
    no_host = _no_host_for(target, zone, hosts)
    rolling = next((f for f in in_flight if f.action is ActionKind.CHANGE_OFFERING), None)
    first: str | None = None
    for assessment in assessed:
        vm = assessment.vm
        if assessment.health is not Health.HEALTHY or vm.id in skip or assessment.in_flight is not None:
            continue
        if vm.offering_id is None:
            unreported.append(vm.name)
            continue
        if vm.offering_id == target.id:
            continue
        current = vm.offering_name or vm.offering_id
        refusal = change_refusal((known or {}).get(vm.offering_id), target) or no_host
        if refusal is not None:
            refused.setdefault(refusal, []).append(vm.name)
            continue
        action = PlannedAction(
            kind=ActionKind.CHANGE_OFFERING,
            zone_id=zone.id,
            reason=(
                f"runs offering {current!r}, the pool declares {target.name!r} (applied by a stop and start)"
            ),
            vm_id=vm.id,
            vm_name=vm.name,
            offering_id=target.id,
        )
        held: str | None = None
        if rolling is not None:
            held = (
                f"offering changes go one SSVM at a time: {rolling.vm_name or rolling.vm_id} is changing now"
            )
        elif first is not None:
            held = f"offering changes go one SSVM at a time: {first} goes first"
        else:
            first = vm.name
        candidates.append(Candidate(action, Purpose.VOLUNTARY, held=held))
    findings = [
        stalled(
            Reason.OFFERING_REFUSED,
            f"spec.serviceOffering: CloudStack would refuse {target.name!r} for {', '.join(names)}: {why} "
            "(VirtualMachineManagerImpl.checkIfCanUpgrade and the host allocators); nothing is stopped. "
            "Choose an offering with the same storage type, at least the same storage tags, and host tags "
            "a host of the zone has",
        )
        for why, names in refused.items()
    ]
    if unreported:
        findings.append(
            info(
                Reason.OFFERING_NOT_REPORTED,
                f"CloudStack does not report the offering of {', '.join(unreported)} (serviceofferingid is "
                f"missing before 4.19), so the operator cannot check it against {target.name!r}",
            )
        )
    return candidates, findings
