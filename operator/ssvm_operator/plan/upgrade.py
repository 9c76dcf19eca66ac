"""Upgrade stage: SSVMs left on an older agent or template after a CloudStack upgrade are patched or
recreated, one SSVM at a time and one zone at a time, each waiting for the last to be Up on the new release.

spec.upgrade.strategy:
- None (the default) reports outdated SSVMs and changes nothing: rolling SSVMs disrupts copies in progress,
  so a platform team opts in, ideally with maintenance windows.
- Patch: patchSystemVm where the release has it (4.17+) and only the agent and scripts are behind; an SSVM
  whose template is behind is recreated, since a live patch does not replace the guest's operating system.
- Recreate: destroySystemVm; CloudStack's scanner creates the replacement on the newest Ready template.

A recreation is held where CloudStack could not create the replacement: the new template not Ready in the
zone, or the zone not scanned (allocation Disabled). Repairs of broken SSVMs are not upgrades: the
remediation ladder handles them, and its recreation brings the new template too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ssvm_operator.model.snapshot import Health, Inventory, Zone
from ssvm_operator.model.spec import UpgradeStrategy
from ssvm_operator.plan.assessment import Assessment
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.currency import Currency, currency, live_patch_available, outdated, ready_in
from ssvm_operator.plan.replicas import kept_by_cloudstack
from ssvm_operator.plan.types import ActionKind, InFlight, PlannedAction
from ssvm_operator.plan.zone import why_not_scanned

UPGRADE_ACTIONS = frozenset({ActionKind.UPGRADE_PATCH, ActionKind.UPGRADE_RECREATE})


def upgrade_candidates(
    strategy: UpgradeStrategy,
    assessed: Sequence[Assessment],
    zone: Zone,
    inventory: Inventory,
    in_flight: Sequence[InFlight],
    skip: frozenset[str],
    replicas: int,
    turn: str | None,
) -> list[Candidate]:
    if strategy is UpgradeStrategy.NONE or replicas < 1:
        return []
    wait = _waiting(assessed, zone, inventory, in_flight, replicas)
    patchable = live_patch_available(inventory)
    candidates = []
    for assessment in sorted(assessed, key=lambda a: a.vm.name):
        vm = assessment.vm
        found = currency(vm, inventory)
        if found.current is not False or vm.id in skip or assessment.in_flight is not None:
            continue
        if assessment.health is not Health.HEALTHY:
            continue  # broken: the remediation ladder's business, not the upgrade's
        kind = _kind(strategy, found, patchable)
        action = PlannedAction(
            kind=kind,
            zone_id=zone.id,
            reason=found.reason(vm),
            vm_id=vm.id,
            vm_name=vm.name,
            target_version=found.target_version,
        )
        held = _held(kind, found, zone, inventory, turn) or wait
        if held is None:
            wait = f"the upgrade goes one SSVM at a time: {vm.name} first"
        candidates.append(Candidate(action, Purpose.VOLUNTARY, held=held))
    return candidates


def _kind(strategy: UpgradeStrategy, found: Currency, patchable: bool) -> ActionKind:
    if strategy is UpgradeStrategy.PATCH and patchable and not found.template_behind:
        return ActionKind.UPGRADE_PATCH
    return ActionKind.UPGRADE_RECREATE


def _held(
    kind: ActionKind, found: Currency, zone: Zone, inventory: Inventory, turn: str | None
) -> str | None:
    blocked_here = _cannot_replace(kind, found, zone, inventory)
    if blocked_here is not None:
        return blocked_here  # the zone's own reason first: it is what an admin has to fix
    if turn is not None and turn != zone.name:
        return f"the upgrade goes one zone at a time: zone {turn} first"
    return None


def _cannot_replace(kind: ActionKind, found: Currency, zone: Zone, inventory: Inventory) -> str | None:
    if kind is not ActionKind.UPGRADE_RECREATE:
        return None
    why = why_not_scanned(zone) or (None if zone.ssvm_enabled else "its enable.secstorage.vm detail is false")
    if why is not None:
        return f"CloudStack would not create a replacement in zone {zone.name}: {why}"
    target = found.target_template
    if target is not None and not ready_in(target, inventory.system_templates):
        return (
            f"the system VM template {target.name} is not Ready in any image store: CloudStack could not "
            f"create the replacement in zone {zone.name} on it"
        )
    return None


def _waiting(
    assessed: Sequence[Assessment],
    zone: Zone,
    inventory: Inventory,
    in_flight: Sequence[InFlight],
    replicas: int,
) -> str | None:
    """Why the next SSVM waits: the previous one is not back Up on the new release yet."""
    rolling = [f for f in in_flight if f.action in UPGRADE_ACTIONS]
    if rolling:
        return f"the upgrade goes one SSVM at a time: {rolling[0].vm_name or rolling[0].vm_id} in progress"
    back = [a.vm.name for a in assessed if a.health is not Health.HEALTHY]
    if back:
        return f"waiting for {', '.join(sorted(back))} to be Up before the next SSVM is upgraded"
    expected = kept_by_cloudstack(zone, replicas, inventory.standby_replicas)
    if len(assessed) < expected:
        return f"waiting for CloudStack to create {expected - len(assessed)} SSVM(s) before the next upgrade"
    return None


def upgrade_turn(
    entries: Iterable[tuple[str, bool]], inventory: Inventory, own_zone: str, own_strategy: UpgradeStrategy
) -> str | None:
    """The zone the endpoint's upgrade rolls now: the one whose pool says it is rolling, else the first by
    name with outdated SSVMs. Entries are (zone, rolling) of the acting pools with a strategy."""
    listed = dict(entries)
    if own_strategy is not UpgradeStrategy.NONE:
        listed.setdefault(own_zone, False)
    busy = sorted(zone for zone, is_rolling in listed.items() if is_rolling)
    if busy:
        return busy[0]
    for zone_name in sorted(listed):
        zone = inventory.zone_named(zone_name)
        if zone is None:
            continue
        behind = outdated(inventory.ssvms_in(zone.id), inventory)
        # A zone CloudStack could not give a replacement on the new template does not take the turn: it
        # would hold every other zone while it waits.
        if behind and all(_replaceable(found, zone, inventory) for _, found in behind):
            return zone_name
    return None


def _replaceable(found: Currency, zone: Zone, inventory: Inventory) -> bool:
    target = found.target_template
    if not found.template_behind or target is None:
        return True
    return zone.scanned_by_cloudstack and ready_in(target, inventory.system_templates)
