"""The deletion of an SSVMSettings: restore what deletionPolicy Restore promises, or hold the finalizer and
say why (plan/restore.py). kopf retries the handler for as long as it raises TemporaryError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf
import structlog

from ssvm_operator import logs
from ssvm_operator.cloud.errors import AuthError, CloudError
from ssvm_operator.kube import conditions, kubeapi
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import EndpointUnavailable, OperatorContext
from ssvm_operator.kube.names import SETTINGS
from ssvm_operator.kube.reasons import ConditionType, EventReason, Reason
from ssvm_operator.kube.settings_status import applied_from_status
from ssvm_operator.kube.ssvm_settings import restore_settings
from ssvm_operator.plan.restore import (
    RESTORE_ABANDONED,
    RESTORE_ABANDONED_ANNOTATION,
    RESTORE_PENDING,
    RestoreHold,
    abandoned,
    restore_due,
    restore_hold,
)

log = structlog.get_logger("ssvm_operator.settings")


async def delete_settings(
    ctx: OperatorContext,
    body: kopf.Body,
    endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]],
    retry_seconds: float,
) -> None:
    """Return when the finalizer may go; raise kopf.TemporaryError while the restore must be retried."""
    if not restore_due(body.get("spec") or {}):
        return
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    if abandoned(body.metadata.annotations):
        kopf.warn(
            body,
            reason=RESTORE_ABANDONED,
            message=f"{RESTORE_ABANDONED_ANNOTATION} is set: the previous settings are not restored and "
            "CloudStack keeps the values this SSVMSettings set",
        )
        log.warning("settings.restore_abandoned", settings=f"{namespace}/{name}")
        return
    try:
        left = await restore_settings(ctx, body, endpoint_specs)
    except EndpointUnavailable as error:
        await _hold(ctx, body, error.reason, str(error), needs_user=True)
    except CloudError as error:
        cause: str = Reason.UNAUTHORIZED if isinstance(error, AuthError) else Reason.CLOUDSTACK_UNREACHABLE
        if not error.retryable and cause != Reason.UNAUTHORIZED:
            cause = Reason.CLOUDSTACK_REFUSED
        await _hold(ctx, body, cause, logs.redact(str(error)), needs_user=not error.retryable)
    else:
        if left is not None:
            kopf.warn(body, reason=EventReason.SETTINGS_PARTLY_RESTORED, message=left)
            log.warning("settings.partly_restored", settings=f"{namespace}/{name}", left=left)
            return
        kopf.info(
            body, reason=EventReason.SETTINGS_RESTORED, message="the previous settings are back in CloudStack"
        )
        return
    raise kopf.TemporaryError("deletionPolicy Restore: the restore is pending", delay=retry_seconds)


async def _hold(ctx: OperatorContext, body: kopf.Body, cause: str, problem: str, *, needs_user: bool) -> None:
    """Say why the deletion waits: conditions on the object, and a Warning Event when the cause changes."""
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    status = ctx.status_of(body)
    pending = [r.name for r in applied_from_status(status).values() if r.applied_at is not None]
    hold = restore_hold(cause, problem, pending, namespace, name, needs_user=needs_user)
    previous = status.get("conditions")
    said = conditions.find(previous, ConditionType.READY) or {}
    cause_before = (
        conditions.find(previous, ConditionType.STALLED if needs_user else ConditionType.RECONCILING) or {}
    ).get("reason")
    if said.get("reason") != RESTORE_PENDING or cause_before != cause:
        kopf.warn(body, reason=RESTORE_PENDING, message=hold.message)
    log.warning("settings.restore_pending", settings=f"{namespace}/{name}", cause=cause, error=problem)
    changes = {
        "conditions": conditions.render(
            _conditions(hold), previous, body.metadata.get("generation"), ctx.clock()
        )
    }
    try:
        await kubeapi.patch_status(SETTINGS, namespace, name, changes)
    except Exception as error:  # the next retry writes it again
        log.warning("status.write_failed", kind="SSVMSettings", name=name, error=logs.redact(str(error)))
        return
    ctx.remember_status(str(body.metadata.uid), status, changes)


def _conditions(hold: RestoreHold) -> list[Condition]:
    return [
        Condition(ConditionType.READY, False, RESTORE_PENDING, hold.message),
        Condition(
            ConditionType.STALLED,
            hold.needs_user,
            hold.cause if hold.needs_user else Reason.RETRYING,
            hold.message,
        ),
        Condition(
            ConditionType.RECONCILING,
            not hold.needs_user,
            hold.cause if not hold.needs_user else "WaitingForUser",
            "restoring the previous settings"
            if not hold.needs_user
            else "waiting for the problem to be fixed",
        ),
    ]
