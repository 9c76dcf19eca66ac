"""Replicas stage: how many SSVMs the zone has, how many CloudStack keeps, and what the pool may do about it.

CloudStack alone creates SSVMs (cloudstack-contract.md §1): one per enabled zone, more only through the global
standby pair `secstorage.capacity.standby` / `secstorage.session.max` read at management-server start
(`Inventory.standby_replicas`). The operator therefore never creates; it toggles the zone detail
`enable.secstorage.vm` for replicas 0, and destroys only SSVMs CloudStack would not recreate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ssvm_operator.model.snapshot import Health, Zone
from ssvm_operator.plan.assessment import Assessment
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.findings import Reason, degraded, info
from ssvm_operator.plan.ordering import by_age
from ssvm_operator.plan.types import TRAITS, ActionKind, Finding, InFlight, PlannedAction
from ssvm_operator.plan.zone import recreates_ssvms

# VM states on the way out of the zone (the row disappears from listSystemVms once expunged).
LEAVING_VM_STATES = frozenset({"Expunging", "Destroyed"})

STANDBY_SETTINGS = "secstorage.capacity.standby and secstorage.session.max"


def leaving(assessment: Assessment) -> bool:
    """Whether the SSVM is on its way out: being destroyed, by CloudStack or by the operator."""
    flight = assessment.in_flight
    return assessment.vm.state in LEAVING_VM_STATES or (
        flight is not None and TRAITS[flight.action].removes_vm
    )


def kept_by_cloudstack(zone: Zone, replicas: int, standby_replicas: int) -> int:
    """How many SSVMs CloudStack's scanner keeps in the zone by itself (0 where it does not scan)."""
    return max(1, standby_replicas) if recreates_ssvms(zone, replicas) else 0


def surplus_floor(replicas: int, standby_replicas: int) -> int:
    """The fewest SSVMs the operator leaves in the zone: what is declared and what CloudStack keeps."""
    return 0 if replicas == 0 else max(replicas, standby_replicas)


def zone_toggle(zone: Zone, replicas: int, in_flight: Iterable[InFlight]) -> Candidate | None:
    """ENABLE_ZONE / DISABLE_ZONE when the zone detail enable.secstorage.vm disagrees with replicas."""
    if zone.zone_type == "Edge":
        return None  # CloudStack never runs an SSVM in an Edge zone: the detail changes nothing there.
    if replicas == 0 and zone.ssvm_enabled:
        kind = ActionKind.DISABLE_ZONE
        reason = (
            f"replicas is 0: set zone detail enable.secstorage.vm=false so CloudStack stops keeping SSVMs in "
            f"zone {zone.name}; the remaining SSVMs are destroyed afterwards"
        )
    elif replicas >= 1 and not zone.ssvm_enabled:
        kind = ActionKind.ENABLE_ZONE
        reason = (
            f"replicas is {replicas} but zone detail enable.secstorage.vm is false: set it to true so "
            f"CloudStack's scanner keeps SSVMs in zone {zone.name} again"
        )
    else:
        return None
    toggling = next((f for f in in_flight if TRAITS[f.action].zone_level), None)
    if toggling is not None and toggling.action is kind:
        return None  # Already on its way.
    action = PlannedAction(kind=kind, zone_id=zone.id, reason=reason)
    held = None if toggling is None else f"waiting for the {toggling.action.value} in flight to finish"
    return Candidate(action, Purpose.ZONE, held=held)


def surplus_candidates(
    assessed: Sequence[Assessment],
    zone: Zone,
    replicas: int,
    standby_replicas: int,
    last: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """DESTROY_SURPLUS for SSVMs above what is declared and what CloudStack keeps.

    Unhealthy ones go first: a zone usually has a surplus because CloudStack's scanner replaced an SSVM that
    failed (an Error VM is not an active one to it), and giving up the replacement would leave the zone
    without a working SSVM. Among healthy ones the newest go first: CloudStack's template-processing SSVM is
    normally the oldest, and destroying it would only make CloudStack create a new one (the role is not
    exposed by the API, cloudstack-contract.md §1.6). SSVMs in `last` (CloudStack's replacements of SSVMs the
    operator gave up, see standby_in_force.py) go after all others of their group.
    With replicas 0 nothing is destroyed before the zone detail is off, or CloudStack would recreate it.
    """
    if replicas == 0 and zone.ssvm_enabled:
        return []
    floor = surplus_floor(replicas, standby_replicas)
    staying = [a for a in assessed if not leaving(a)]
    excess = len(staying) - floor
    if excess <= 0:
        return []
    newest_first = sorted(
        (a for a in staying if a.in_flight is None), key=lambda a: by_age(a.vm), reverse=True
    )
    # sorted() is stable: failed SSVMs first, serving ones next, and those still booting (likely the
    # replacement CloudStack just started) last; each group keeps newest first. The raw state counts here,
    # not the grace period: a VM in Error is the one to give up even before its grace has passed. Among the
    # failed, a VM CloudStack no longer runs goes before a Running one whose agent is lost or late: the
    # latter is likely the replacement the scanner started for the former, its agent slow to connect.
    rank = {Health.UNHEALTHY: 0, Health.HEALTHY: 1, Health.CONVERGING: 2}

    def order(a: Assessment) -> tuple[int, bool, bool]:
        return (rank[a.vm.health], a.vm.state == "Running", a.vm.id in last)

    giving_up = sorted(newest_first, key=order)
    candidates = []
    for assessment in giving_up[:excess]:
        vm = assessment.vm
        if replicas == 0:
            reason = (
                f"replicas is 0 and SSVMs are disabled in zone {zone.name}: CloudStack will not recreate it"
            )
        else:
            reason = (
                f"zone {zone.name} has {len(staying)} SSVMs and keeps {floor} (replicas {replicas}, "
                f"CloudStack's standby count {standby_replicas}); {vm.name} is "
                f"{'the newest' if assessment.health is Health.HEALTHY else 'an unhealthy'} surplus one and "
                "CloudStack would not recreate it"
            )
        action = PlannedAction(
            kind=ActionKind.DESTROY_SURPLUS, zone_id=zone.id, reason=reason, vm_id=vm.id, vm_name=vm.name
        )
        purpose = Purpose.VOLUNTARY if assessment.health is Health.HEALTHY else Purpose.REMEDIATION
        candidates.append(Candidate(action, purpose))
    return candidates


def standby_findings(zone: Zone, replicas: int, standby_replicas: int) -> list[Finding]:
    """Say honestly when the global standby settings and this pool's replicas disagree."""
    if replicas > 1 and standby_replicas < replicas:
        return [
            degraded(
                Reason.STANDBY_CAPACITY_MISSING,
                f"replicas is {replicas} but CloudStack keeps {standby_replicas} SSVM(s) per zone: more than "
                f"one SSVM per zone comes only from the global settings {STANDBY_SETTINGS} (set them through "
                "an SSVMSettings for this endpoint), followed by a restart of every management server",
            )
        ]
    if replicas >= 1 and standby_replicas > replicas:
        return [
            info(
                Reason.STANDBY_ABOVE_REPLICAS,
                f"zone {zone.name} keeps {standby_replicas} SSVMs although replicas is {replicas}: "
                f"{STANDBY_SETTINGS} are global, so CloudStack keeps that many in every zone and would "
                "recreate any the operator destroyed",
            )
        ]
    return []


def waiting_for_scanner(
    assessed: Sequence[Assessment], zone: Zone, replicas: int, standby_replicas: int, scan_interval: float
) -> list[Finding]:
    """The zone is short of SSVMs that CloudStack's scanner will create: say so, there is nothing to do."""
    expected = kept_by_cloudstack(zone, replicas, standby_replicas)
    staying = sum(1 for a in assessed if not leaving(a))
    if staying >= expected:
        return []
    return [
        info(
            Reason.WAITING_FOR_SCANNER,
            f"zone {zone.name} has {staying} of the {expected} SSVM(s) CloudStack keeps there; waiting for "
            f"CloudStack's scanner (every {int(scan_interval)}s) to create {expected - staying} "
            "(there is no API to create an SSVM)",
        )
    ]
