"""Status pieces of an SSVMSettings object: applied values, pending restarts, rollout progress, conditions.

status.rollout is written here for the settings and parsed here for the pools that read it
(kube/pools.py), so its keys and values exist once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ssvm_operator.kube.conditions import Condition, parse_timestamp, timestamp
from ssvm_operator.kube.names import RESTART_CONFIRMED_ANNOTATION
from ssvm_operator.kube.reasons import ConditionType, Reason
from ssvm_operator.model.settings import RolloutStrategy, SettingsSpec
from ssvm_operator.model.spec import Mode
from ssvm_operator.plan.rollout_scope import describe_left
from ssvm_operator.plan.rollout_status import RolloutPhase, RolloutStatus
from ssvm_operator.plan.settings import DesiredSetting
from ssvm_operator.plan.settings_plan import AppliedRecord, Refusal

__all__ = ["AppliedRecord", "applied_from_status", "render_applied", "render_rollout", "rollout_from_status"]


def applied_record(row: Mapping[str, Any]) -> AppliedRecord:
    return AppliedRecord(
        name=str(row["name"]),
        value=row.get("value"),
        value_hash=str(row.get("valueHash", "")),
        secret=bool(row.get("secret", False)),
        previous_value=row.get("previousValue"),
        applied_at=parse_timestamp(row.get("appliedAt")),
        dynamic=bool(row.get("dynamic", False)),
    )


def render_record(record: AppliedRecord) -> dict[str, Any]:
    row: dict[str, Any] = {"name": record.name, "valueHash": record.value_hash, "secret": record.secret}
    if record.value is not None:
        row["value"] = record.value
    if record.previous_value is not None:
        row["previousValue"] = record.previous_value
    if record.applied_at is not None:
        row["appliedAt"] = timestamp(record.applied_at)
    row["dynamic"] = record.dynamic
    return row


def applied_from_status(status: Mapping[str, Any]) -> dict[str, AppliedRecord]:
    return {str(r["name"]): applied_record(r) for r in status.get("applied") or () if r.get("name")}


def render_applied(applied: Mapping[str, AppliedRecord]) -> list[dict[str, Any]]:
    return [render_record(r) for r in sorted(applied.values(), key=lambda r: r.name)]


def refused_from_status(status: Mapping[str, Any]) -> dict[str, Refusal]:
    """status.refused as render_refused writes it; a row that does not read is dropped (tried again)."""
    found = {}
    for row in status.get("refused") or ():
        if not isinstance(row, Mapping) or not row.get("name"):
            continue
        generation = row.get("generation")
        found[str(row["name"])] = Refusal(
            name=str(row["name"]),
            field=str(row.get("field", "")),
            value_hash=str(row.get("valueHash", "")),
            message=str(row.get("message", "")),
            generation=generation if isinstance(generation, int) else None,
        )
    return found


def render_refused(refused: Sequence[Refusal]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "field": r.field,
            "valueHash": r.value_hash,
            "message": r.message,
            "generation": r.generation,
        }
        for r in sorted(refused, key=lambda r: r.name)
    ]


def render_pending(pending: Sequence[AppliedRecord]) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "changedAt": timestamp(r.applied_at)} for r in pending if r.applied_at is not None
    ]


def render_rollout(rollout: RolloutStatus) -> dict[str, Any]:
    if rollout.phase in (RolloutPhase.IDLE, RolloutPhase.WAITING_FOR_RESTART):
        return {"phase": str(rollout.phase)}
    return {
        "phase": str(rollout.phase),
        "left": [dict(z) for z in rollout.left],
        "strategy": str(rollout.strategy),
        "maxUnavailable": rollout.max_unavailable,
        "startedAt": timestamp(rollout.started_at) if rollout.started_at is not None else None,
        "total": rollout.total,
        "done": rollout.done,
        "pending": list(rollout.pending),
        "activeZone": rollout.active_zone,
        "settings": list(rollout.settings),
        "maintenanceWindows": [dict(w) for w in rollout.maintenance_windows],
    }


def rollout_from_status(raw: Mapping[str, Any] | None) -> RolloutStatus:
    """status.rollout as written by render_rollout; anything unreadable reads as Idle."""
    raw = raw or {}
    try:
        phase = RolloutPhase(str(raw.get("phase")))
    except ValueError:
        phase = RolloutPhase.IDLE
    try:
        strategy: RolloutStrategy | None = RolloutStrategy(str(raw.get("strategy")))
    except ValueError:
        strategy = None
    return RolloutStatus(
        phase=phase,
        left=tuple(raw.get("left") or ()),
        strategy=strategy,
        max_unavailable=int(raw.get("maxUnavailable") or 1),
        started_at=parse_timestamp(raw.get("startedAt")),
        total=int(raw.get("total") or 0),
        done=int(raw.get("done") or 0),
        pending=tuple(raw.get("pending") or ()),
        active_zone=raw.get("activeZone"),
        settings=tuple(raw.get("settings") or ()),
        maintenance_windows=tuple(
            dict(w) for w in raw.get("maintenanceWindows") or () if isinstance(w, Mapping)
        ),
    )


def settings_conditions(
    spec: SettingsSpec,
    drifted: Sequence[str],
    pending: Sequence[AppliedRecord],
    rollout: RolloutStatus,
    todo: Sequence[DesiredSetting],
    confirm: tuple[str, str | None] | None = None,
    refused: Sequence[Refusal] = (),
) -> list[Condition]:
    """`confirm`: when CloudStack does not report management-server starts, how kubectl names this object
    and what is wrong with the annotation confirming a restart, if anything. `refused`: values CloudStack
    refuses for good; only a change of the spec moves them."""
    if refused:
        message = (
            "; ".join(r.message for r in refused)
            + "; not sent again until the spec changes, the other settings are applied"
        )
        return [
            Condition(ConditionType.STALLED, True, Reason.SETTING_REFUSED, message),
            Condition(ConditionType.RECONCILING, False, Reason.SETTING_REFUSED, "fix the value in the spec"),
            Condition(ConditionType.READY, False, Reason.SETTING_REFUSED, message),
        ]
    conds = [Condition(ConditionType.STALLED, False, Reason.APPLIED, "every declared setting is valid")]
    if pending:
        names = ", ".join(r.name for r in pending)
        message = f"restart every management server so that {names} take effect"
        if confirm is not None:
            confirm_as, problem = confirm
            message += (
                "; this CloudStack does not report when its management servers started, so confirm the "
                f"restart: kubectl annotate --overwrite {confirm_as} "
                f"{RESTART_CONFIRMED_ANNOTATION}=<time of the restart, e.g. 2026-11-27T10:00:00Z>"
            )
            if problem is not None:
                message += f" ({problem})"
        # Only a person can take it further: Stalled, so Flux fails with the action to take at once and
        # Argo CD shows it as Degraded, instead of both waiting for a timeout (see docs/gitops.md).
        conds = [
            Condition(ConditionType.STALLED, True, Reason.MANAGEMENT_SERVER_RESTART_REQUIRED, message),
            Condition(ConditionType.READY, False, Reason.MANAGEMENT_SERVER_RESTART_REQUIRED, message),
        ]
    elif rollout.phase is RolloutPhase.ROLLING:
        message = (
            f"{rollout.done} of {rollout.total} SSVMs run with the new settings; "
            f"rolling zone {rollout.active_zone}" + describe_left(rollout.left)
        )
        conds += [
            Condition(ConditionType.RECONCILING, True, Reason.ROLLING_SSVMS, message),
            Condition(ConditionType.READY, False, Reason.ROLLING_SSVMS, message),
        ]
    elif rollout.phase is RolloutPhase.WAITING_FOR_AGENTS:
        message = (
            f"{rollout.done} of {rollout.total} SSVMs run with the new settings, sent to each agent when it "
            "reconnected after the restart: nothing to reboot; the agents of these SSVMs have not "
            f"connected since, and get them when they do: {', '.join(rollout.pending)} (their SSVMPool "
            "repairs an agent that stays away)"
        )
        conds += [
            Condition(ConditionType.RECONCILING, True, Reason.WAITING_FOR_AGENTS, message),
            Condition(ConditionType.READY, False, Reason.WAITING_FOR_AGENTS, message),
        ]
    elif rollout.phase is RolloutPhase.PARTLY_DONE:
        message = (
            f"{rollout.done} of {rollout.total} SSVMs run with the new settings; every zone the "
            "operator may roll is done" + describe_left(rollout.left)
        )
        conds += [
            Condition(ConditionType.RECONCILING, False, Reason.ROLLOUT_LEFT_ZONES, message),
            Condition(ConditionType.READY, True, Reason.ROLLOUT_LEFT_ZONES, message),
        ]
    elif spec.mode is Mode.OBSERVE and (todo or drifted):
        conds += [
            Condition(
                ConditionType.READY,
                False,
                Reason.DRIFTED if drifted else Reason.NOT_APPLIED,
                not_applied(todo, drifted),
            )
        ]
    else:
        reason = Reason.DRIFTED if drifted else Reason.IN_SYNC
        message = (
            f"put back after drift: {', '.join(drifted)}"
            if drifted
            else "CloudStack holds every declared setting"
        )
        conds += [
            Condition(ConditionType.RECONCILING, False, reason, message),
            Condition(ConditionType.READY, True, reason, message),
        ]
    return conds


def not_applied(todo: Sequence[DesiredSetting], drifted: Sequence[str]) -> str:
    names = ", ".join(sorted({s.name for s in todo} | set(drifted)))
    return f"CloudStack differs from the declaration; Observe mode, not applied: {names}"
