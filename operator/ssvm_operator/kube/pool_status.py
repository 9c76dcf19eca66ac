"""Renders an SSVMPool's status from a plan and what the actor did: what `kubectl describe` shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ssvm_operator.act.cycle import Backoff
from ssvm_operator.act.outcome import Outcome, Result
from ssvm_operator.kube.conditions import Condition, parse_timestamp, timestamp
from ssvm_operator.kube.names import RECENT_ACTIONS_KEPT
from ssvm_operator.kube.reasons import ConditionType, Reason
from ssvm_operator.model.snapshot import Health
from ssvm_operator.model.spec import PoolSpec
from ssvm_operator.plan.findings import Reason as PlanReason
from ssvm_operator.plan.types import (
    ActionKind,
    Finding,
    InFlight,
    Plan,
    PlannedAction,
    Scope,
    Severity,
    VmMemory,
    VmView,
)


def backoff_from_status(status: Mapping[str, Any]) -> Backoff:
    raw = status.get("remediation") or {}
    return Backoff(
        failures=int(raw.get("failures") or 0),
        last_failure=parse_timestamp(raw.get("lastFailureTime")),
        next_attempt_after=parse_timestamp(raw.get("nextAttemptAfter")),
    )


def render_backoff(backoff: Backoff) -> dict[str, Any]:
    # Unset times are written as null: a merge patch keeps whatever it omits, and a stale
    # nextAttemptAfter would read back as a pending backoff after a restart.
    return {
        "failures": backoff.failures,
        "lastFailureTime": timestamp(backoff.last_failure) if backoff.last_failure else None,
        "nextAttemptAfter": timestamp(backoff.next_attempt_after) if backoff.next_attempt_after else None,
    }


def memory_from_status(status: Mapping[str, Any]) -> dict[str, VmMemory]:
    memory = {}
    for row in status.get("ssvms") or ():
        if not row.get("id"):
            continue
        last = row.get("lastRemediation")
        memory[str(row["id"])] = VmMemory(
            unhealthy_since=parse_timestamp(row.get("unhealthySince")),
            last_remediation=ActionKind(last) if last in ActionKind.__members__.values() else None,
            last_remediation_at=parse_timestamp(row.get("lastRemediationTime")),
        )
    return memory


def in_flight_from_status(status: Mapping[str, Any]) -> tuple[InFlight, ...]:
    entries = []
    for row in status.get("inFlight") or ():
        try:
            action = ActionKind(row["action"])
        except (KeyError, ValueError):
            continue
        started = parse_timestamp(row.get("startedAt"))
        if started is None:
            continue
        entries.append(
            InFlight(action, row.get("vmId"), row.get("vmName"), row.get("jobId"), started, row.get("step"))
        )
    return tuple(entries)


def surplus_given_up(status: Mapping[str, Any]) -> tuple[datetime, ...]:
    """When the pool's recent surplus destroys were sent (status.recentActions), one time per SSVM."""
    first: dict[str, datetime] = {}
    for row in status.get("recentActions") or ():
        if row.get("action") != str(ActionKind.DESTROY_SURPLUS) or row.get("result") == "Failed":
            continue
        at = parse_timestamp(row.get("time"))
        if at is not None:
            key = str(row.get("vmName") or at)
            first[key] = min(at, first.get(key, at))
    return tuple(sorted(first.values()))


def reboots_sent(status: Mapping[str, Any]) -> dict[str, datetime]:
    """When a reboot was last sent to an SSVM whose agent was Up (status.recentActions), by SSVM name.

    A reboot sent to an agent already away (lost, or dropped by a management-server restart) is over when
    the agent is back Up: there is no leaving Up to wait for. Rows without `agentState` count as sent to Up.
    """
    sent: dict[str, datetime] = {}
    for row in status.get("recentActions") or ():
        # Started is the send; a Skipped reboot was never sent, and a job's end is not when it was sent.
        if row.get("action") not in ("Reboot", "RolloutReboot") or row.get("result") != "Started":
            continue
        if row.get("agentState", "Up") != "Up":
            sent.pop(str(row.get("vmName")), None)  # a later reboot to an away agent ends the wait
            continue
        at, name = parse_timestamp(row.get("time")), row.get("vmName")
        if at is not None and name:
            sent[str(name)] = max(at, sent.get(str(name), at))
    return sent


def render_in_flight(entries: Iterable[InFlight]) -> list[dict[str, Any]]:
    return [
        _compact(
            {
                "action": str(e.action),
                "vmId": e.vm_id,
                "vmName": e.vm_name,
                "jobId": e.job_id,
                "startedAt": timestamp(e.started_at),
                "step": e.step,
            }
        )
        for e in entries
    ]


def render_ssvms(views: Sequence[VmView], memory_updates: Mapping[str, VmMemory]) -> list[dict[str, Any]]:
    rows = []
    for view in views:
        vm = view.vm
        memory = memory_updates.get(vm.id, view.memory)
        rows.append(
            _compact(
                {
                    "name": vm.name,
                    "id": vm.id,
                    "state": vm.state,
                    "agentState": vm.agent_state,
                    "healthy": view.health is Health.HEALTHY,
                    "host": vm.hypervisor_host,
                    "publicIp": vm.public_ip,
                    "privateIp": vm.private_ip,
                    "linkLocalIp": vm.link_local_ip,
                    "offering": vm.offering_name or vm.offering_id,
                    "created": timestamp(vm.created) if vm.created else None,
                    "unhealthySince": timestamp(memory.unhealthy_since) if memory.unhealthy_since else None,
                    "lastRemediation": str(memory.last_remediation) if memory.last_remediation else None,
                    "lastRemediationTime": (
                        timestamp(memory.last_remediation_at) if memory.last_remediation_at else None
                    ),
                }
            )
        )
    return rows


def render_planned(actions: Iterable[PlannedAction]) -> list[dict[str, Any]]:
    return [
        _compact(
            {
                "action": str(a.kind),
                "vmId": a.vm_id,
                "vmName": a.vm_name,
                "reason": a.reason,
                "blocked": a.blocked,
            }
        )
        for a in actions
    ]


def render_recent(previous: Sequence[Mapping[str, Any]], outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    rows = [dict(r) for r in previous]
    for o in outcomes:
        rows.append(
            _compact(
                {
                    "time": timestamp(o.at),
                    "action": str(o.action),
                    "vmName": o.vm_name or o.vm_id,
                    "result": str(o.result),
                    "message": o.message,
                    "agentState": o.agent_state,
                }
            )
        )
    return rows[-RECENT_ACTIONS_KEPT:]


def pool_conditions(
    spec: PoolSpec,
    plan: Plan,
    in_flight: Sequence[InFlight],
    outcomes: Sequence[Outcome],
    backoff: Backoff,
) -> list[Condition]:
    stalled = [f for f in plan.findings if f.severity is Severity.STALLED]
    permanent = [o for o in outcomes if o.result is Result.FAILED and not o.retryable]
    degraded = [f for f in plan.findings if f.severity is Severity.DEGRADED]
    unhealthy = [v for v in plan.vms if v.health is Health.UNHEALTHY]
    started = [o for o in outcomes if o.result is Result.STARTED]
    working = bool(in_flight or started or plan.converging)

    conditions = []
    if stalled:
        conditions.append(
            Condition(ConditionType.STALLED, True, stalled[0].reason, _join(f.message for f in stalled))
        )
    elif permanent:
        conditions.append(
            Condition(
                ConditionType.STALLED, True, Reason.ACTION_REJECTED, _join(o.message for o in permanent)
            )
        )
    else:
        conditions.append(
            Condition(ConditionType.STALLED, False, Reason.PROGRESSING, "nothing blocks the declared state")
        )

    if in_flight or started:
        names = ", ".join(sorted({f"{e.action} {e.vm_name or e.vm_id}" for e in in_flight}))
        conditions.append(
            Condition(
                ConditionType.RECONCILING, True, Reason.ACTION_IN_PROGRESS, f"waiting for CloudStack: {names}"
            )
        )
    elif plan.converging:
        conditions.append(
            Condition(
                ConditionType.RECONCILING,
                True,
                Reason.WAITING_FOR_CLOUDSTACK,
                "SSVMs of the zone are starting or reconnecting",
            )
        )
    else:
        conditions.append(Condition(ConditionType.RECONCILING, False, Reason.IDLE, "no action in progress"))

    if spec.paused:
        conditions.append(
            Condition(
                ConditionType.PAUSED, True, Reason.PAUSED, "spec.paused or the paused annotation is set"
            )
        )
    else:
        conditions.append(
            Condition(ConditionType.PAUSED, False, Reason.ACTIVE, "the operator acts on this pool")
        )

    if degraded or unhealthy:
        messages = [f.message for f in degraded]
        messages += [
            f"{v.vm.name} is {v.vm.state} with agent {v.vm.agent_state or 'unknown'}" for v in unhealthy
        ]
        reason = degraded[0].reason if degraded else PlanReason.SSVM_UNHEALTHY
        conditions.append(Condition(ConditionType.DEGRADED, True, reason, _join(messages)))
    else:
        conditions.append(
            Condition(ConditionType.DEGRADED, False, Reason.AS_DECLARED, "the zone runs as declared")
        )

    cause = degraded[0] if degraded and degraded[0].scope is Scope.DEPENDENCY else None
    ready = _ready(spec, plan, stalled or permanent, working, unhealthy, backoff, cause)
    notes = [f.message for f in plan.findings if f.severity is Severity.INFO]
    if notes:  # e.g. more SSVMs than asked because the standby settings are global
        ready = Condition(ready.type, ready.status, ready.reason, _join([ready.message, *notes]))
    conditions.append(ready)
    return conditions


def _ready(
    spec: PoolSpec,
    plan: Plan,
    stalled: Sequence[object],
    working: bool,
    unhealthy: Sequence[VmView],
    backoff: Backoff,
    cause: Finding | None = None,
) -> Condition:
    """`cause` is a zone-wide fault (storage, management servers) that unhealthy SSVMs follow from: it names
    the reason, so Ready and Degraded agree on what to fix."""
    total = len(plan.vms)
    summary = f"{plan.ready_replicas} of {spec.replicas} SSVMs ready ({total} in the zone)"
    if stalled:
        return Condition(ConditionType.READY, False, Reason.STALLED, "see the Stalled condition; " + summary)
    if working:
        return Condition(ConditionType.READY, False, Reason.RECONCILING, summary)
    if unhealthy:
        hint = ""
        if backoff.next_attempt_after:
            hint = f"; next remediation attempt after {timestamp(backoff.next_attempt_after)}"
        reason = cause.reason if cause is not None else PlanReason.SSVM_UNHEALTHY
        return Condition(ConditionType.READY, False, reason, summary + hint)
    if spec.replicas == 0:
        if total == 0:
            return Condition(
                ConditionType.READY, True, Reason.SSVMS_DISABLED, "the zone keeps no SSVM, as declared"
            )
        return Condition(ConditionType.READY, False, Reason.SURPLUS_SSVMS, summary)
    if plan.ready_replicas < spec.replicas:
        return Condition(ConditionType.READY, False, Reason.TOO_FEW_SSVMS, summary)
    return Condition(ConditionType.READY, True, Reason.SSVMS_READY, summary)


def _join(messages: Iterable[str]) -> str:
    return "; ".join(dict.fromkeys(messages))


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}
