"""Reconciles one SSVMPool: observe the zone, follow running jobs, plan, act within the budget, report.

One idempotent function serves create, update, resume and the periodic timer; the endpoint's shared
inventory cache keeps CloudStack calls per poll constant however many pools there are.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import kopf
import structlog

from ssvm_operator import metrics
from ssvm_operator.act import evidence
from ssvm_operator.act.actor import Actor
from ssvm_operator.act.outcome import Outcome, Result
from ssvm_operator.cloud import versions
from ssvm_operator.cloud.errors import AuthError, CloudError
from ssvm_operator.kube import conditions, kubeapi
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import EndpointUnavailable, OperatorContext
from ssvm_operator.kube.diagnostics import diagnostics_stage
from ssvm_operator.kube.names import POOLS
from ssvm_operator.kube.pool_status import (
    Backoff,
    in_flight_from_status,
    memory_from_status,
    pool_conditions,
    render_in_flight,
    render_planned,
    render_recent,
    render_ssvms,
    surplus_given_up,
)
from ssvm_operator.kube.reconciliation import Reconciliation
from ssvm_operator.model import identity
from ssvm_operator.model.spec import PoolSpec, SpecError
from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.template import template_ready
from ssvm_operator.plan.types import (
    ActionKind,
    InFlight,
    Plan,
    PlannedAction,
    PoolContext,
    RolloutRequest,
    Severity,
    VmMemory,
)

log = structlog.get_logger("ssvm_operator.pools")

MAX_BACKOFF = timedelta(hours=1)
# Reported even at zero, so a dashboard shows a state emptying rather than a series vanishing.
VM_STATES = ("Running", "Starting", "Stopping", "Stopped", "Error", "Unknown", "Migrating", "Expunging")


async def reconcile_pool(
    ctx: OperatorContext,
    body: kopf.Body,
    patch: kopf.Patch,
    endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]],
    zone_claims: Mapping[tuple[str, str, str], Sequence[tuple[str, str]]],
    rollouts: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> None:
    run = Reconciliation.begin(ctx, body, patch)
    namespace, name, generation, status, now = run.namespace, run.name, run.generation, run.status, run.now
    report = run.report

    try:
        spec = PoolSpec.parse(body.get("spec") or {}, body.metadata.annotations)
    except SpecError as error:
        run.stalled("InvalidSpec", f"spec.{error.field}: {error.message}")
        return

    try:
        connection = await ctx.connect(
            namespace, spec.endpoint, endpoint_specs.get((namespace, spec.endpoint))
        )
    except EndpointUnavailable as error:
        run.stalled(error.reason, str(error))
        return

    async def record(entries: tuple[InFlight, ...]) -> None:
        await kubeapi.patch_status(POOLS, namespace, name, {"inFlight": render_in_flight(entries)})

    actor = Actor(
        connection.client,
        in_flight_from_status(status),
        record,
        ctx.clock,
        connection.spec.job_timeout_seconds,
        evidence_policy=spec.health.evidence,
    )
    outcomes = await actor.follow_jobs()
    if any(o.result is not Result.STARTED for o in outcomes):
        connection.inventory.invalidate()  # a job ended: plan on what CloudStack shows now

    try:
        inventory = await connection.inventory.get(
            connection.client, connection.spec.poll_interval_seconds, declared_offering=spec.service_offering
        )
    except CloudError as error:
        if isinstance(error, AuthError):
            message = f"CloudStack refused the API keys: {error.detail}; check the endpoint's Secret"
            run.stalled("Unauthorized", message)
        elif not error.retryable:
            run.stalled("EndpointRejected", f"CloudStackEndpoint {spec.endpoint}: {error}")
        else:
            report(
                Condition("Stalled", False, "Retrying", "CloudStack is unreachable; retrying every poll"),
                Condition("Reconciling", True, "CloudStackUnreachable", str(error)),
                Condition("Ready", False, "CloudStackUnreachable", str(error)),
            )
        if outcomes:  # jobs that ended are reported even when the fresh inventory is not available
            _announce(body, status, (), outcomes)
            patch.status["recentActions"] = render_recent(status.get("recentActions") or (), outcomes)
        log.warning("pool.observe_failed", pool=f"{namespace}/{name}", error=str(error))
        return
    try:
        verdict = await connection.read_release()
    except CloudError as error:
        report(Condition("Ready", False, "CloudStackUnreachable", str(error)))
        return
    if not verdict.supported:
        message = f"{verdict.message}; nothing is done on endpoint {spec.endpoint}"
        run.stalled("UnsupportedVersion", message)
        return
    if spec.replicas > 1 and not connection.feature(versions.STABLE_STANDBY_REPLICAS):
        message = "spec.replicas above 1: " + versions.reason(verdict, versions.STABLE_STANDBY_REPLICAS)
        run.stalled("ReplicasNeedNewerCloudStack", message)
        return
    backoff = Backoff.from_status(status)
    if status.get("observedGeneration") != generation:
        backoff = Backoff()  # a spec change is a new attempt

    memory = _remember(memory_from_status(status), outcomes)

    same = identity.same_cloudstack(endpoint_specs, (namespace, spec.endpoint))
    conflict = identity.zone_conflict(zone_claims, same, inventory, namespace, name, spec.zone)

    diagnostics = await diagnostics_stage(
        ctx, body, status, patch, spec, inventory, actor.in_flight, connection, manages_zone=conflict is None
    )
    plan = plan_pool(
        PoolContext(
            spec=spec,
            inventory=inventory,
            now=now,
            in_flight=tuple(actor.in_flight),
            memory=memory,
            scan_interval_seconds=inventory.scan_interval_seconds,
            backoff_until=backoff.next_attempt_after,
            endpoint_tripped=connection.breaker.tripped,
            pool_conflict=conflict,
            rollout=rollout_request(next((r for k in sorted(same) if (r := (rollouts or {}).get(k))), None)),
            connectivity=diagnostics.connectivity,
            surplus_given_up=surplus_given_up(status),
        )
    )
    stalled = next((f for f in plan.findings if f.severity is Severity.STALLED), None)
    if stalled is not None:
        run.warn_once("Stalled", stalled.reason, stalled.message)
    memory = plan.memory
    for action in plan.runnable:
        outcome = await actor.execute(action)
        outcomes.append(outcome)
        # The rung taken is already in plan.memory: the planner records every remediation it runs.
        if outcome.result is not Result.SKIPPED:
            connection.inventory.invalidate()

    backoff = _next_backoff(backoff, outcomes, now, connection.spec.poll_interval_seconds)
    _export_metrics(namespace, name, spec, plan, outcomes)
    _announce(body, status, plan.actions, outcomes)

    patch.status["zoneId"] = plan.zone.id if plan.zone else None
    patch.status["desiredReplicas"] = spec.replicas
    patch.status["replicas"] = len(plan.vms)
    patch.status["readyReplicas"] = plan.ready_replicas
    patch.status["ssvms"] = render_ssvms(plan.vms, memory)
    patch.status["plannedActions"] = evidence.annotate(render_planned(plan.actions), plan.actions, spec)
    patch.status["inFlight"] = render_in_flight(actor.in_flight)
    patch.status["recentActions"] = render_recent(status.get("recentActions") or (), outcomes)
    patch.status["remediation"] = backoff.render()
    report(
        *pool_conditions(spec, plan, actor.in_flight, outcomes, backoff),
        diagnostics.condition,
        _template_condition(spec.zone, template_ready(plan.zone, inventory) if plan.zone else None),
    )
    # At INFO only when something happened or changed; an unchanged pool on every tick is DEBUG.
    changed = (
        bool(plan.runnable or outcomes or actor.in_flight)
        or status.get("readyReplicas") != plan.ready_replicas
    )
    (log.info if changed else log.debug)(
        "pool.reconciled",
        pool=f"{namespace}/{name}",
        zone=spec.zone,
        ready=plan.ready_replicas,
        desired=spec.replicas,
        actions=[str(a.kind) for a in plan.runnable],
        in_flight=len(actor.in_flight),
    )


def _template_condition(zone: str, ready: bool | None) -> Condition:
    if ready is None:
        return Condition(
            "TemplateReady", None, "Unknown", f"the system VM templates of zone {zone} are not known"
        )
    if ready:
        return Condition(
            "TemplateReady", True, "SystemTemplateReady", f"a system VM template is Ready in {zone}"
        )
    return Condition(
        "TemplateReady",
        False,
        "SystemTemplateNotReady",
        f"no system VM template is Ready in zone {zone}: CloudStack cannot create SSVMs there; "
        "register or re-download the systemvm template",
    )


def rollout_request(rollout: Mapping[str, Any] | None) -> RolloutRequest | None:
    """The endpoint's SSVMSettings status, as the planner's rollout input."""
    if not rollout or rollout.get("phase") != "Rolling":
        return None
    since = conditions.parse_timestamp(rollout.get("startedAt"))
    if since is None:
        return None
    return RolloutRequest(
        since=since,
        recreate=rollout.get("strategy") == "Recreate",
        max_unavailable=int(rollout.get("maxUnavailable") or 1),
        active_zone=rollout.get("activeZone"),
        settings=tuple(rollout.get("settings") or ()),
    )


def _export_metrics(
    namespace: str, name: str, spec: PoolSpec, plan: Plan, outcomes: Sequence[Outcome]
) -> None:
    states = Counter(view.vm.state for view in plan.vms)
    metrics.export_pool(
        namespace,
        name,
        spec.zone,
        {state: states.get(state, 0) for state in sorted(set(VM_STATES) | set(states))},
        spec.replicas,
        plan.ready_replicas,
        [(str(o.action), str(o.result)) for o in outcomes],
    )


def _remember(memory: dict[str, VmMemory], outcomes: Sequence[Outcome]) -> dict[str, VmMemory]:
    """A finished start or reboot is the point from which the ladder waits before the next rung."""
    for outcome in outcomes:
        ladder_step = outcome.action in (ActionKind.START, ActionKind.REBOOT)
        if outcome.vm_id and ladder_step and outcome.result in (Result.SUCCEEDED, Result.FAILED):
            memory[outcome.vm_id] = replace(
                memory.get(outcome.vm_id, VmMemory()),
                last_remediation=outcome.action,
                last_remediation_at=outcome.at,
            )
    return memory


def _next_backoff(
    backoff: Backoff, outcomes: Sequence[Outcome], now: datetime, base_seconds: float
) -> Backoff:
    failures = [o for o in outcomes if o.result is Result.FAILED]
    successes = [o for o in outcomes if o.result is Result.SUCCEEDED]
    if failures:
        count = backoff.failures + 1
        delay = min(timedelta(seconds=base_seconds * 2 ** (count - 1)), MAX_BACKOFF)
        delay *= random.uniform(0.9, 1.1)  # jitter, so many pools do not retry in step
        return Backoff(count, now, now + delay)
    if successes:
        return Backoff()
    return backoff


def _announce(
    body: kopf.Body, status: Mapping[str, Any], actions: Sequence[PlannedAction], outcomes: Sequence[Outcome]
) -> None:
    """An Event for every action taken, refused or failed; a refusal only when it is new."""
    for outcome in outcomes:
        target = outcome.vm_name or outcome.vm_id or "zone"
        reason = f"{outcome.action}{outcome.result}"
        # The reason names the action (RebootSucceeded): the message names the SSVM once, not twice.
        message = outcome.message if target in outcome.message else f"{target}: {outcome.message}"
        if outcome.result is Result.FAILED:
            kopf.warn(body, reason=reason, message=message)
        else:
            kopf.info(body, reason=reason, message=message)
    previous = {
        (p.get("action"), p.get("vmId"), p.get("blocked")) for p in status.get("plannedActions") or ()
    }
    for action in actions:
        if action.blocked and (str(action.kind), action.vm_id, action.blocked) not in previous:
            target = action.vm_name or action.vm_id or "zone"
            kopf.info(
                body,
                reason=f"{action.kind}Refused",
                message=f"{target} not executed: {action.blocked} (wanted: {action.reason})",
            )
