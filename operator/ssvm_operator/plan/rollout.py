"""Settings rollout stage: serving SSVMs whose agent connected before a boot-time setting took effect are
rebooted (or recreated) so it reaches them, one zone at a time and within both budgets.

The reboot sends the new settings when the agent reconnects (SecondaryStorageManagerImpl setup command on
connect); settings read only at creation (the offering, encrypted copy) need a recreation.
"""

from __future__ import annotations

from collections.abc import Iterable

from ssvm_operator.model.snapshot import Health, Zone
from ssvm_operator.plan.assessment import Assessment
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.settings import needs_rollout
from ssvm_operator.plan.types import TRAITS, ActionKind, InFlight, PlannedAction, RolloutRequest


def rollout_candidates(
    request: RolloutRequest,
    assessed: Iterable[Assessment],
    zone: Zone,
    in_flight: Iterable[InFlight],
    skip: frozenset[str],
) -> list[Candidate]:
    kind = (
        ActionKind.ROLLOUT_RECREATE
        if request.recreate
        else ActionKind.ROLLOUT_RESTART
        if request.restart
        else ActionKind.ROLLOUT_REBOOT
    )
    settings = ", ".join(request.settings) or "boot-time settings"
    rolling = sum(1 for f in in_flight if TRAITS[f.action].rollout)
    since = request.since.isoformat(timespec="seconds")
    candidates = []
    for assessment in assessed:
        vm = assessment.vm
        if assessment.health is not Health.HEALTHY or vm.id in skip or assessment.in_flight is not None:
            continue
        if not needs_rollout(vm, request.since):
            continue
        held = None
        if request.active_zone is not None and request.active_zone != zone.name:
            held = f"the settings rollout goes one zone at a time: zone {request.active_zone} first"
        elif rolling >= request.max_unavailable:
            held = f"rollout.maxUnavailable is {request.max_unavailable}: {rolling} SSVM(s) rolling now"
        else:
            rolling += 1
        action = PlannedAction(
            kind=kind,
            zone_id=zone.id,
            reason=f"its agent connected before {settings} took effect ({since})",
            vm_id=vm.id,
            vm_name=vm.name,
        )
        candidates.append(Candidate(action, Purpose.VOLUNTARY, held=held))
    return candidates
