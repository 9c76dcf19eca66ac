"""Remediation stage: turn the ladder's verdicts into proposed actions, bounded by the pool's policy and by
what CloudStack itself would do afterwards."""

from __future__ import annotations

from collections.abc import Iterable

from ssvm_operator.model.snapshot import Health, Zone
from ssvm_operator.model.spec import HealthPolicy
from ssvm_operator.plan.assessment import Assessment
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.findings import Reason, degraded
from ssvm_operator.plan.ladder import allowed_by
from ssvm_operator.plan.types import ActionKind, Finding, PlannedAction, Scope
from ssvm_operator.plan.zone import recreates_ssvms, why_not_scanned


def remediation_candidates(
    assessed: Iterable[Assessment], policy: HealthPolicy, zone: Zone, replicas: int
) -> tuple[list[Candidate], list[Finding]]:
    """One proposed rung per unhealthy SSVM past its grace that has no action of the operator in flight."""
    candidates: list[Candidate] = []
    findings: list[Finding] = []
    for assessment in assessed:
        verdict = assessment.verdict
        if verdict is None or verdict.kind is None or assessment.in_flight is not None:
            continue
        vm = assessment.vm
        if verdict.kind is ActionKind.RECREATE and not recreates_ssvms(zone, replicas):
            # Destroying it would leave the zone without that SSVM for good.
            findings.append(
                degraded(
                    Reason.CANNOT_RECREATE,
                    f"{vm.name} needs recreating ({verdict.reason}), but CloudStack would not create a "
                    f"replacement in zone {zone.name} because {_why_no_replacement(zone, replicas)}; "
                    "the operator leaves it in place",
                    Scope.SSVM,
                )
            )
            continue
        action = PlannedAction(
            kind=verdict.kind, zone_id=zone.id, reason=verdict.reason, vm_id=vm.id, vm_name=vm.name
        )
        candidates.append(Candidate(action, Purpose.REMEDIATION, held=allowed_by(policy, verdict.kind)))
    return candidates, findings


def unhealthy_findings(assessed: Iterable[Assessment]) -> list[Finding]:
    """One Degraded finding naming every SSVM that stayed unhealthy past its grace period."""
    broken = [
        f"{a.vm.name}: {a.verdict.reason}"
        for a in assessed
        if a.health is Health.UNHEALTHY and a.verdict is not None
    ]
    if not broken:
        return []
    return [degraded(Reason.SSVM_UNHEALTHY, "; ".join(broken), Scope.SSVM)]


def _why_no_replacement(zone: Zone, replicas: int) -> str:
    if replicas < 1:
        return "replicas is 0"
    why = why_not_scanned(zone)
    if why is not None:
        return why
    return "its detail enable.secstorage.vm is false"
