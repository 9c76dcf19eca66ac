"""Reconciles one SSVMPool: observe the zone, follow running jobs, plan, act within the budget, report.

One idempotent function serves create, update, resume and the periodic timer; the endpoint's shared
inventory cache keeps CloudStack calls per poll constant however many pools there are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import kopf
import structlog

from ssvm_operator import metrics
from ssvm_operator.act import evidence
from ssvm_operator.act.actor import Actor
from ssvm_operator.act.cycle import Backoff, run_pool_cycle
from ssvm_operator.act.outcome import Outcome, Result
from ssvm_operator.cloud import versions
from ssvm_operator.cloud.errors import AuthError, CloudError
from ssvm_operator.kube import kubeapi, upgrade_status
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import EndpointUnavailable, OperatorContext
from ssvm_operator.kube.diagnostics import Diagnostics, diagnostics_stage
from ssvm_operator.kube.names import POOLS
from ssvm_operator.kube.pool_status import (
    backoff_from_status,
    in_flight_from_status,
    memory_from_status,
    pool_conditions,
    reboots_sent,
    render_backoff,
    render_in_flight,
    render_planned,
    render_recent,
    render_ssvms,
    surplus_given_up,
)
from ssvm_operator.kube.reasons import ConditionType, Reason
from ssvm_operator.kube.reconciliation import Reconciliation
from ssvm_operator.kube.settings_status import rollout_from_status
from ssvm_operator.model import identity
from ssvm_operator.model.maintenance import Windows
from ssvm_operator.model.snapshot import Inventory
from ssvm_operator.model.spec import PoolSpec, SpecError
from ssvm_operator.plan.findings import ANNOUNCED_CAUSES
from ssvm_operator.plan.template import template_ready
from ssvm_operator.plan.types import (
    InFlight,
    Plan,
    PlannedAction,
    PoolContext,
    RolloutRequest,
    Severity,
    VmMemory,
)

log = structlog.get_logger("ssvm_operator.pools")

# Reported even at zero, so a dashboard shows a state emptying rather than a series vanishing.
VM_STATES = ("Running", "Starting", "Stopping", "Stopped", "Error", "Unknown", "Migrating", "Expunging")


async def reconcile_pool(
    ctx: OperatorContext,
    body: kopf.Body,
    patch: kopf.Patch,
    endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]],
    zone_claims: Mapping[tuple[str, str, str], Sequence[tuple[str, str]]],
    rollouts: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    upgrade_turns: Mapping[tuple[str, str], Sequence[tuple[str, bool]]] | None = None,
) -> None:
    run = Reconciliation.begin(ctx, body, patch)
    namespace, name, generation, status, now = run.namespace, run.name, run.generation, run.status, run.now
    report = run.report

    try:
        spec = PoolSpec.parse(body.get("spec") or {}, body.metadata.annotations)
    except SpecError as error:
        run.stalled(Reason.INVALID_SPEC, f"spec.{error.field}: {error.message}")
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
    backoff = backoff_from_status(status)
    if status.get("observedGeneration") != generation:
        backoff = Backoff()  # a spec change is a new attempt

    async def observe(outcomes: Sequence[Outcome], memory: dict[str, VmMemory]) -> PoolContext | None:
        if any(o.result is not Result.STARTED for o in outcomes):
            connection.inventory.invalidate()  # a job ended: plan on what CloudStack shows now
        try:
            inventory = await connection.inventory.get(
                connection.client,
                connection.spec.poll_interval_seconds,
                declared_offering=spec.service_offering,
            )
        except CloudError as error:
            if isinstance(error, AuthError):
                message = f"CloudStack refused the API keys: {error.detail}; check the endpoint's Secret"
                run.stalled(Reason.UNAUTHORIZED, message)
            elif not error.retryable:
                run.stalled(Reason.ENDPOINT_REJECTED, f"CloudStackEndpoint {spec.endpoint}: {error}")
            else:
                run.unreachable(error)
            if outcomes:  # jobs that ended are reported even when the fresh inventory is not available
                _announce(body, status, (), outcomes)
                patch.status["recentActions"] = render_recent(status.get("recentActions") or (), outcomes)
            log.warning("pool.observe_failed", pool=f"{namespace}/{name}", error=str(error))
            return None
        connection.notice_servers(inventory.management_server_version)
        try:
            verdict = await connection.read_release()
        except CloudError as error:
            report(Condition(ConditionType.READY, False, Reason.CLOUDSTACK_UNREACHABLE, str(error)))
            return None
        if not verdict.supported:
            message = f"{verdict.message}; nothing is done on endpoint {spec.endpoint}"
            run.stalled(Reason.UNSUPPORTED_VERSION, message)
            return None
        if spec.replicas > 1 and not connection.feature(versions.STABLE_STANDBY_REPLICAS):
            message = "spec.replicas above 1: " + versions.reason(verdict, versions.STABLE_STANDBY_REPLICAS)
            run.stalled(Reason.REPLICAS_NEED_NEWER_CLOUDSTACK, message)
            return None
        observed.append(inventory)
        entries = [entry for key in sorted(same) for entry in (upgrade_turns or {}).get(key, ())]
        turns.append(upgrade_status.upgrade_turn(entries, inventory, spec.zone, spec.upgrade))
        conflict = identity.zone_conflict(zone_claims, same, inventory, namespace, name, spec.zone)
        diagnostics = await diagnostics_stage(
            ctx,
            body,
            status,
            patch,
            spec,
            inventory,
            actor.in_flight,
            connection,
            manages_zone=conflict is None,
        )
        found.append(diagnostics)
        return PoolContext(
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
            reboots_sent=reboots_sent(status),
            upgrade_turn=turns[-1],
        )

    def planned(plan: Plan) -> None:
        stalled = next((f for f in plan.findings if f.severity is Severity.STALLED), None)
        if stalled is not None:
            run.warn_once(ConditionType.STALLED, stalled.reason, stalled.message)
        degraded = next((f for f in plan.findings if f.severity is Severity.DEGRADED), None)
        if degraded is not None and degraded.reason in ANNOUNCED_CAUSES:
            run.warn_once(ConditionType.DEGRADED, degraded.reason, degraded.message)

    same = identity.same_cloudstack(endpoint_specs, (namespace, spec.endpoint))
    observed: list[Inventory] = []
    found: list[Diagnostics] = []
    turns: list[str | None] = []
    cycle = await run_pool_cycle(
        actor,
        memory_from_status(status),
        backoff,
        observe,
        now,
        connection.spec.poll_interval_seconds,
        acted=lambda outcome: connection.inventory.invalidate(),
        planned=planned,
    )
    if cycle.plan is None or cycle.backoff is None or cycle.memory is None:
        return
    plan, outcomes, memory, backoff = cycle.plan, cycle.outcomes, cycle.memory, cycle.backoff
    inventory, diagnostics = observed[0], found[0]
    outdated, up_to_date = upgrade_status.up_to_date(plan, inventory, spec)
    _export_metrics(namespace, name, spec, plan, outcomes, outdated)
    _announce(body, status, plan.actions, outcomes)

    patch.status["zoneId"] = plan.zone.id if plan.zone else None
    patch.status["desiredReplicas"] = spec.replicas
    patch.status["replicas"] = len(plan.vms)
    patch.status["readyReplicas"] = plan.ready_replicas
    columns = upgrade_status.currency_columns(plan, inventory)
    patch.status["ssvms"] = [
        {**r, **columns.get(r.get("id", ""), {})} for r in render_ssvms(plan.vms, memory)
    ]
    patch.status["outdatedReplicas"] = outdated
    was_rolling = upgrade_status.was_rolling(status)
    rolling = upgrade_status.rolling(spec, plan, inventory, actor.in_flight, turns[0], was_rolling)
    patch.status["upgrade"] = {"rolling": rolling, "activeZone": turns[0]}
    rollout = rollout_request(next((r for k in sorted(same) if (r := (rollouts or {}).get(k))), None))
    rollout_windows = rollout.windows if rollout is not None else Windows()
    waiting, window = upgrade_status.window_status(spec, rollout_windows, plan, now)
    patch.status["waitingForWindow"] = waiting
    patch.status["plannedActions"] = evidence.annotate(render_planned(plan.actions), plan.actions, spec)
    patch.status["inFlight"] = render_in_flight(actor.in_flight)
    patch.status["recentActions"] = render_recent(status.get("recentActions") or (), outcomes)
    patch.status["remediation"] = render_backoff(backoff)
    report(
        *pool_conditions(spec, plan, actor.in_flight, outcomes, backoff),
        diagnostics.condition,
        _template_condition(spec.zone, template_ready(plan.zone, inventory) if plan.zone else None),
        up_to_date,
        *([window] if window is not None else []),
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
            ConditionType.TEMPLATE_READY,
            None,
            Reason.UNKNOWN,
            f"the system VM templates of zone {zone} are not known",
        )
    if ready:
        return Condition(
            ConditionType.TEMPLATE_READY,
            True,
            Reason.SYSTEM_TEMPLATE_READY,
            f"a system VM template for the hypervisor of zone {zone} is downloaded in an image store",
        )
    return Condition(
        ConditionType.TEMPLATE_READY,
        False,
        "SystemTemplateNotReady",
        f"no system VM template is Ready for the hypervisor of zone {zone} in any image store: CloudStack "
        "cannot create SSVMs there; register or re-download the systemvm template for that hypervisor",
    )


def rollout_request(rollout: Mapping[str, Any] | None) -> RolloutRequest | None:
    """The endpoint's SSVMSettings status, as the planner's rollout input."""
    return rollout_from_status(rollout).request()


def _export_metrics(
    namespace: str, name: str, spec: PoolSpec, plan: Plan, outcomes: Sequence[Outcome], outdated: int
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
        outdated,
    )


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
