"""The pool's diagnostics stage: run the connectivity checks when due, keep them in status, tell changes.

Called from the pool reconcile, under its lock and before planning, so the planner judges the zone with
the latest checks and one status write serves both. A round is due every spec.diagnostics.intervalSeconds,
when the annotation ssvm.cloudstack.io/diagnose gets a new value, when a Running SSVM has never been
checked, when an agent was lost (or its SSVM rebooted for it) since the last round, at most every 10 s, and
every minute while something is unreachable. Between rounds the checks in status.diagnostics
are what the planner reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import kopf
import structlog

from ssvm_operator.cloud.diagnostics import run_round, zone_targets
from ssvm_operator.cloud.endpoints import EndpointConnection
from ssvm_operator.cloud.errors import CloudError
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import OperatorContext
from ssvm_operator.kube.diagnostics_status import RoundRecord, checks_from_status, render_checks
from ssvm_operator.kube.events import announce, said_before
from ssvm_operator.kube.names import DIAGNOSE_ANNOTATION
from ssvm_operator.kube.pool_status import memory_from_status
from ssvm_operator.kube.reasons import ConditionType, EventReason, Reason
from ssvm_operator.model.diagnostics import Check, Connectivity
from ssvm_operator.model.snapshot import Inventory
from ssvm_operator.model.spec import PoolSpec
from ssvm_operator.plan.connectivity import ConnectivityReason, diagnose
from ssvm_operator.plan.diagnostics_schedule import (
    agent_trouble_unchecked,
    diagnosable,
    merge,
    round_due,
)
from ssvm_operator.plan.types import InFlight

log = structlog.get_logger("ssvm_operator.diagnostics")

CONDITION = ConditionType.CONNECTIVITY
NO_TARGETS = (
    "the zone has no image store, internal DNS server or management server address to check, and "
    "spec.diagnostics.targets is empty"
)


@dataclass(frozen=True)
class Diagnostics:
    """What the stage hands the reconcile: the planner's input and the Connectivity condition."""

    connectivity: Connectivity | None
    condition: Condition


async def diagnostics_stage(
    ctx: OperatorContext,
    body: kopf.Body,
    status: Mapping[str, Any],
    patch: kopf.Patch,
    spec: PoolSpec,
    inventory: Inventory,
    in_flight: Sequence[InFlight],
    connection: EndpointConnection,
    *,
    manages_zone: bool = True,
) -> Diagnostics:
    """Run a round if one is due and allowed; write status.diagnostics and status.diagnosticsRun."""
    zone = inventory.zone_named(spec.zone)
    if zone is None:
        return Diagnostics(
            None, Condition(CONDITION, None, ConnectivityReason.NOT_CHECKED, f"zone {spec.zone} not found")
        )
    pool = f"{body.metadata.namespace}/{body.metadata.name}"
    vms = inventory.ssvms_in(zone.id)
    present = {vm.id for vm in vms}
    previous = [c for c in checks_from_status(status) if c.ssvm_id in present]  # forget removed SSVMs
    record = RoundRecord.from_status(status)
    eligible, skipped = diagnosable(vms, in_flight)
    request = (body.metadata.annotations or {}).get(DIAGNOSE_ANNOTATION)
    now = ctx.clock()
    due = round_due(
        spec.diagnostics,
        now,
        record.last_run,
        request,
        record.served_request,
        eligible,
        previous,
        record.faulty(previous),
        agent_trouble_unchecked(vms, memory_from_status(status), record.last_run),
    )
    waits = _why_not_now(spec, connection, manages_zone, eligible, skipped)
    checks = previous
    if due is not None and waits is None:
        error = None
        try:
            targets = await zone_targets(connection.client, zone, spec.diagnostics.targets)
            fresh = await run_round(connection.client, eligible, targets, ctx.clock)
            if not targets:
                error = NO_TARGETS
        except CloudError as failure:
            fresh, error = [], f"listing the zone's targets failed: {failure}"
            log.warning("diagnostics.failed", pool=pool, zone=zone.name, error=str(failure))
        checks = merge(previous, fresh)
        record = RoundRecord(now, request if request else record.served_request, error)
        _announce_changes(body, previous, checks)
        log.info(
            "diagnostics.round",
            pool=pool,
            zone=zone.name,
            why=due,
            ssvms=len(eligible),
            checks=len(fresh),
            unreachable=sum(1 for c in fresh if c.reachable is False),
        )
    patch.status["diagnostics"] = render_checks(checks)
    patch.status["diagnosticsRun"] = record.render(spec, checks)

    connectivity = Connectivity(tuple(checks)) if record.last_run is not None else None
    diagnosis = diagnose(connectivity, vms)
    healthy, reason, message = diagnosis.summary(zone.name)
    if not diagnosis.checks:
        if record.error is not None:
            reason, message = Reason.DIAGNOSTICS_FAILED, record.error
        elif due is not None and waits is not None:
            message = f"{message}; waiting: {waits}"
    condition = Condition(CONDITION, healthy, reason, message)
    _announce_condition(body, status, condition)
    return Diagnostics(connectivity, condition)


def _why_not_now(
    spec: PoolSpec,
    connection: EndpointConnection,
    manages_zone: bool,
    eligible: Sequence[object],
    skipped: str | None,
) -> str | None:
    """Why a due round must wait, or None."""
    if not manages_zone:
        return "another SSVMPool manages the zone"
    if spec.paused:
        return "the pool is paused"
    if connection.breaker.tripped:
        return "the endpoint's circuit breaker is open"
    if not eligible:
        return skipped or "no SSVM can be checked"
    return None


def _announce_changes(body: kopf.Body, previous: Sequence[Check], checks: Sequence[Check]) -> None:
    """An Event when an SSVM loses or regains a target; checks that could not run change nothing."""
    before = {(c.ssvm_id, c.target.address): c.reachable for c in previous}
    for check in checks:
        if check.reachable is None:
            continue
        was = before.get((check.ssvm_id, check.target.address))
        if check.reachable is False and was is not False:
            kopf.warn(
                body,
                reason=EventReason.CONNECTIVITY_LOST,
                message=f"{check.ssvm_name} cannot reach {check.target.describe()}: {check.error}",
            )
        elif check.reachable and was is False:
            kopf.info(
                body,
                reason=EventReason.CONNECTIVITY_RESTORED,
                message=f"{check.ssvm_name} reaches {check.target.describe()} again",
            )


def _announce_condition(body: kopf.Body, status: Mapping[str, Any], condition: Condition) -> None:
    """One Event when the zone's classification changes, with the troubleshooting hint."""
    if condition.status is None or said_before(status, CONDITION, reason=condition.reason):
        return
    if condition.status is False:
        announce(body, condition.reason, condition.message, warning=True)
    elif said_before(status, CONDITION, status_text="False"):
        announce(body, ConnectivityReason.REACHABLE, condition.message)
