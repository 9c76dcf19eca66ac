"""plan_pool: one pool's decision, composed of small stages.

    zone        which zone, may this pool manage it, does CloudStack scan it
    assess      health with grace periods, memory, the ladder's verdict per SSVM
    propose     zone toggle, surplus, remediation, offering, rollout, upgrade: candidates with their holds
    enforce     the safety contract decides what runs now and says why the rest waits
    remember    remediations this plan starts are recorded in the SSVMs' memory

Pure: the same context always gives the same plan, whatever order the inventory lists things in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ssvm_operator.model.maintenance import Windows
from ssvm_operator.model.snapshot import Health, Zone
from ssvm_operator.plan.agent_connect import zone_agents_unreachable
from ssvm_operator.plan.assessment import Assessment, assess
from ssvm_operator.plan.budget import ZoneLoad, enforce, halt_reason
from ssvm_operator.plan.candidate import Candidate
from ssvm_operator.plan.connectivity import await_fresh_checks, diagnose, hold, judge
from ssvm_operator.plan.findings import Reason, ordered
from ssvm_operator.plan.maintenance import hold_outside_windows
from ssvm_operator.plan.offering import offering_candidates, resolve_offering
from ssvm_operator.plan.reboot_completion import mark_rebooting
from ssvm_operator.plan.remediation import remediation_candidates, unhealthy_findings
from ssvm_operator.plan.replicas import (
    kept_by_cloudstack,
    standby_findings,
    surplus_candidates,
    waiting_for_scanner,
    zone_toggle,
)
from ssvm_operator.plan.rollout import rollout_candidates
from ssvm_operator.plan.standby_in_force import loop_guard, replacements, restart_pending
from ssvm_operator.plan.storage_hold import hold_for_storage, storage_findings
from ssvm_operator.plan.template import hold_recreations, template_findings
from ssvm_operator.plan.types import TRAITS, Finding, InFlight, Plan, PlannedAction, PoolContext
from ssvm_operator.plan.upgrade import upgrade_candidates
from ssvm_operator.plan.zone import duplicate_pool, scanner_findings, zone_not_found


def plan_pool(ctx: PoolContext) -> Plan:
    ctx = replace(ctx, in_flight=tuple(sorted(ctx.in_flight, key=in_flight_order)))
    spec = ctx.spec
    findings: list[Finding] = []
    if ctx.pool_conflict is not None:
        findings.append(duplicate_pool(ctx.pool_conflict))
    zone = ctx.inventory.zone_named(spec.zone)
    if zone is None:
        findings.append(zone_not_found(spec.zone, ctx.inventory))
        return Plan(zone=None, findings=ordered(findings), desired_replicas=spec.replicas)

    assessed = assess(
        ctx.inventory.ssvms_in(zone.id),
        ctx.memory,
        ctx.in_flight,
        spec.health,
        ctx.now,
        ctx.scan_interval_seconds,
    )
    diagnosis = diagnose(ctx.connectivity, ctx.inventory.ssvms_in(zone.id))
    assessed = judge(assessed, diagnosis, ctx.memory, spec.health, ctx.now)
    assessed = mark_rebooting(assessed, ctx.reboots_sent, spec.health, ctx.now)
    findings += zone_findings(ctx, zone, assessed) + diagnosis.findings(zone.name)
    findings += zone_agents_unreachable([a.vm for a in assessed], zone)
    candidates, stage_findings = propose(ctx, zone, assessed)
    candidates = hold(candidates, assessed, diagnosis)
    candidates = await_fresh_checks(candidates, assessed, ctx.connectivity)
    candidates = hold_recreations(candidates, zone, ctx.inventory)
    candidates = hold_for_storage(candidates, zone, ctx.inventory)
    findings += storage_findings(zone, ctx.inventory)
    rollout_windows = ctx.rollout.windows if ctx.rollout is not None else Windows()
    candidates = hold_outside_windows(candidates, spec.maintenance_windows, rollout_windows, ctx.now)
    findings += stage_findings + template_findings(zone, ctx.inventory)
    if ctx.pool_conflict is not None:
        candidates = []  # Two pools on one zone would fight: neither acts until one is removed.
    actions = enforce(
        candidates,
        spec,
        zone_load(ctx, zone, assessed),
        halted=halt_reason(ctx.endpoint_tripped, ctx.backoff_until, ctx.now),
    )
    assessed = remember_started(assessed, actions, ctx)
    views = tuple(a.view() for a in assessed)
    waiting = any(f.reason == Reason.WAITING_FOR_SCANNER for f in findings)
    return Plan(
        zone=zone,
        actions=actions,
        vms=views,
        findings=ordered(findings),
        desired_replicas=spec.replicas,
        ready_replicas=sum(1 for v in views if v.health is Health.HEALTHY),
        converging=waiting or bool(ctx.in_flight) or any(v.health is Health.CONVERGING for v in views),
    )


def in_flight_order(flight: InFlight) -> tuple[float, str, str, str, str]:
    """Status lists in-flight actions in whatever order they were written; the plan must not depend on it."""
    return (
        flight.started_at.timestamp(),
        flight.action.value,
        flight.vm_id or "",
        flight.job_id or "",
        flight.step or "",
    )


def zone_findings(ctx: PoolContext, zone: Zone, assessed: Sequence[Assessment]) -> list[Finding]:
    replicas, standby = ctx.spec.replicas, ctx.inventory.standby_replicas
    return [
        *scanner_findings(zone, replicas),
        *standby_findings(zone, replicas, standby),
        *waiting_for_scanner(assessed, zone, replicas, standby, ctx.scan_interval_seconds),
        *unhealthy_findings(assessed),
    ]


def propose(
    ctx: PoolContext, zone: Zone, assessed: Sequence[Assessment]
) -> tuple[list[Candidate], list[Finding]]:
    """Every action the pool's declaration calls for, in the order they take the budget.

    Zone toggles first, then repairs, surplus, offering changes, settings rollouts and upgrades. An SSVM
    gets at most one: a surplus SSVM is destroyed rather than repaired or changed.
    """
    spec = ctx.spec
    replicas = spec.replicas
    candidates: list[Candidate] = []
    findings: list[Finding] = []
    toggle = zone_toggle(zone, replicas, ctx.in_flight)
    if toggle is not None:
        candidates.append(toggle)
    surplus = surplus_candidates(
        assessed, zone, replicas, ctx.inventory.standby_replicas, replacements(assessed, ctx.surplus_given_up)
    )
    if not surplus:
        surplus, pending = restart_pending(assessed, zone, replicas, ctx.inventory.standby)
        findings += pending
    surplus, guarded = loop_guard(surplus, assessed, zone, ctx.surplus_given_up, ctx.inventory)
    findings += guarded
    # A surplus SSVM held for a restart still serves, so it is still repaired meanwhile.
    taken = {c.action.vm_id for c in surplus if c.action.vm_id is not None and c.held is None}
    if replicas >= 1:
        # With replicas 0 every SSVM is on its way out: repairing one first would be wasted disruption.
        repairs, repair_findings = remediation_candidates(
            (a for a in assessed if a.vm.id not in taken), spec.health, zone, replicas
        )
        candidates += repairs
        findings += repair_findings
        taken |= {c.action.vm_id for c in repairs if c.action.vm_id is not None}
    candidates += surplus
    if spec.service_offering is not None:
        target, offering_findings = resolve_offering(spec.service_offering, ctx.inventory)
        findings += offering_findings
        if target is not None and replicas >= 1:
            known = {o.id: o for o in ctx.inventory.offerings}
            changes, change_findings = offering_candidates(
                target,
                assessed,
                zone,
                ctx.in_flight,
                frozenset(taken),
                known,
                None if ctx.inventory.host_tags is None else ctx.inventory.host_tags.get(zone.id, ()),
            )
            candidates += changes
            findings += change_findings
            taken |= {c.action.vm_id for c in changes if c.action.vm_id is not None}
    if ctx.rollout is not None and replicas >= 1:
        rollouts = rollout_candidates(ctx.rollout, assessed, zone, ctx.in_flight, frozenset(taken))
        candidates += rollouts
        taken |= {c.action.vm_id for c in rollouts if c.action.vm_id is not None}
    candidates += upgrade_candidates(
        spec.upgrade,
        assessed,
        zone,
        ctx.inventory,
        ctx.in_flight,
        frozenset(taken),
        replicas,
        ctx.upgrade_turn,
    )
    return candidates, findings


def zone_load(ctx: PoolContext, zone: Zone, assessed: Sequence[Assessment]) -> ZoneLoad:
    """The zone as the disruption budget sees it before this plan acts."""
    disrupted: dict[str, str] = {}
    for index, flight in enumerate(ctx.in_flight):
        if TRAITS[flight.action].zone_level:
            continue
        key = flight.vm_id or f"in-flight #{index}"
        disrupted.setdefault(
            key, f"{flight.vm_name or flight.vm_id or 'an SSVM'} {flight.action.value} in flight"
        )
    unavailable = {
        a.vm.id: f"{a.vm.name} {a.health.value.lower()}"
        for a in assessed
        if a.health is not Health.HEALTHY and a.vm.id not in disrupted
    }
    present = {a.vm.id for a in assessed}
    gone = sum(1 for key in disrupted if key not in present)
    expected = kept_by_cloudstack(zone, ctx.spec.replicas, ctx.inventory.standby_replicas)
    return ZoneLoad(
        in_motion=tuple(reason for a in assessed if (reason := a.in_motion) is not None),
        disrupted=disrupted,
        unavailable=unavailable,
        missing=max(0, expected - len(assessed) - gone),
    )


def remember_started(
    assessed: Sequence[Assessment], actions: Sequence[PlannedAction], ctx: PoolContext
) -> tuple[Assessment, ...]:
    """Record the remediations this plan runs, so the next poll knows which rung was taken and when."""
    started = {a.vm_id: a.kind for a in actions if a.blocked is None and TRAITS[a.kind].ladder_rung}
    return tuple(a.remediated(started[a.vm.id], ctx.now) if a.vm.id in started else a for a in assessed)
