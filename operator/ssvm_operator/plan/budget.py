"""The safety contract: which proposed actions may run now, and why the others wait.

Every proposed action stays in the plan; one that must not run now carries a `blocked` sentence. The checks,
in the order their reason is reported:

1. the candidate's own hold (health.remediation, one offering change at a time, a zone toggle in flight);
2. the endpoint's circuit breaker and the pool's backoff after failed actions;
3. no SSVM action while any SSVM of the zone is in motion (zone toggles touch no SSVM and may proceed);
4. the disruption budget `health.maxUnavailable`: SSVMs with an action in flight or about to run count;
   remediation needs fewer of those than the budget, a voluntary disruption of a serving SSVM needs fewer
   of those plus SSVMs already unavailable.

A paused pool or Observe mode blocks everything; the budget is still worked out as Enforce would, so the
plan shows what would happen and the other reasons are kept after the mode's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ssvm_operator.model.spec import Mode, PoolSpec
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.health import seconds_between
from ssvm_operator.plan.types import PlannedAction

PAUSED = "pool is paused"
OBSERVE = "Observe mode: not executed"
CIRCUIT_OPEN = "endpoint circuit breaker open: CloudStack calls to this endpoint keep failing"


@dataclass(frozen=True)
class ZoneLoad:
    """What the budget reads about the zone before this plan acts."""

    in_motion: tuple[str, ...] = ()
    """Why SSVMs of the zone are in motion, one sentence each; any blocks every SSVM action."""
    disrupted: Mapping[str, str] = field(default_factory=dict)
    """SSVM id -> description, for every SSVM with an operator action in flight."""
    unavailable: Mapping[str, str] = field(default_factory=dict)
    """SSVM id -> description, for every SSVM of the zone that is not serving."""
    missing: int = 0
    """SSVMs CloudStack keeps in the zone but has not created (yet)."""


def mode_gate(spec: PoolSpec) -> str | None:
    """Why this pool executes nothing at all, or None when it acts."""
    if spec.paused:
        return PAUSED
    if spec.mode is Mode.OBSERVE:
        return OBSERVE
    return None


def halt_reason(endpoint_tripped: bool, backoff_until: datetime | None, now: datetime) -> str | None:
    """Why no CloudStack call should be made for this pool now, or None."""
    if endpoint_tripped:
        return CIRCUIT_OPEN
    if backoff_until is not None:
        remaining = seconds_between(now, backoff_until)
        if remaining > 0:
            until = backoff_until.isoformat(timespec="seconds")
            return f"backing off after failed actions until {until} ({int(remaining) + 1}s from now)"
    return None


def enforce(
    candidates: Sequence[Candidate],
    spec: PoolSpec,
    load: ZoneLoad,
    halted: str | None = None,
) -> tuple[PlannedAction, ...]:
    """Decide every candidate in order; earlier ones take the budget first."""
    gate = mode_gate(spec)
    max_unavailable = spec.health.max_unavailable
    disrupted = dict(load.disrupted)
    unavailable = dict(load.unavailable)
    moving = _motion_reason(load.in_motion)
    decided = []
    for candidate in candidates:
        action = candidate.action
        reason = candidate.held or halted
        if reason is None and candidate.purpose is not Purpose.ZONE:
            reason = moving or _over_budget(candidate, disrupted, unavailable, load.missing, max_unavailable)
        if reason is None and action.vm_id is not None:
            # Would run: it takes its share of the budget, also when the mode keeps it from running.
            disrupted[action.vm_id] = f"{action.vm_name or action.vm_id} {action.kind.value}"
        decided.append(replace(action, blocked=_join(gate, reason)))
    return tuple(decided)


def _motion_reason(in_motion: tuple[str, ...]) -> str | None:
    if not in_motion:
        return None
    return "waiting for the zone to settle: " + "; ".join(in_motion)


def _over_budget(
    candidate: Candidate,
    disrupted: dict[str, str],
    unavailable: dict[str, str],
    missing: int,
    max_unavailable: int,
) -> str | None:
    if max_unavailable <= 0:
        return "health.maxUnavailable is 0: the operator disrupts no SSVM of this zone"
    if candidate.purpose is Purpose.REMEDIATION:
        if len(disrupted) < max_unavailable:
            return None
        return (
            f"{len(disrupted)} of {max_unavailable} allowed disruptions in use "
            f"({', '.join(sorted(disrupted.values()))})"
        )
    down = {**unavailable, **disrupted}
    details = sorted(down.values())
    if missing:
        details.append(f"{missing} SSVM(s) not created yet")
    if len(down) + missing < max_unavailable:
        return None
    return (
        f"{len(down) + missing} of {max_unavailable} allowed unavailable SSVMs in use "
        f"({', '.join(details)}); a serving SSVM is not taken down now"
    )


def _join(gate: str | None, reason: str | None) -> str | None:
    if gate is None:
        return reason
    if reason is None:
        return gate
    return f"{gate}; {reason}"
