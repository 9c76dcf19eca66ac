"""Reconciles a CloudStackEndpoint: can we reach and authenticate to CloudStack, and what do we see there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf
import structlog

from ssvm_operator import metrics
from ssvm_operator.cloud import versions
from ssvm_operator.cloud.breaker import CircuitBreaker
from ssvm_operator.cloud.errors import AuthError, CloudError
from ssvm_operator.kube import conditions
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import EndpointUnavailable, OperatorContext
from ssvm_operator.kube.reasons import ConditionType, Reason
from ssvm_operator.kube.reconciliation import Reconciliation
from ssvm_operator.model import identity

log = structlog.get_logger("ssvm_operator.endpoints")


async def reconcile_endpoint(
    ctx: OperatorContext,
    body: kopf.Body,
    patch: kopf.Patch,
    endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> None:
    run = Reconciliation.begin(ctx, body, patch)
    namespace, name, status = run.namespace, run.name, run.status
    duplicate = duplicate_condition(endpoint_specs or {}, namespace, name, body.get("spec") or {})
    if duplicate.status:
        run.warn_once(duplicate.type, duplicate.reason, duplicate.message)

    def report(*found: Condition) -> None:
        run.report(*found, duplicate)

    def warn_once(reason: str, message: str) -> None:
        run.warn_once(ConditionType.READY, reason, message, status="False")

    try:
        connection = await ctx.connect(namespace, name, body.get("spec") or {})
    except EndpointUnavailable as error:
        warn_once(error.reason, str(error))
        report(
            Condition(ConditionType.READY, False, error.reason, str(error)),
            Condition(ConditionType.STALLED, True, error.reason, str(error)),
            Condition(ConditionType.RECONCILING, False, error.reason, "waiting for the problem to be fixed"),
        )
        return

    try:
        inventory = await connection.inventory.get(connection.client, connection.spec.poll_interval_seconds)
        connection.notice_servers(inventory.management_server_version)
        verdict = await connection.read_release()
    except CloudError as error:
        opened = connection.breaker.tripped and _breaker_state(status) != "Open"
        metrics.export_endpoint(
            namespace,
            name,
            breaker_open=connection.breaker.tripped,
            poll_interval=connection.spec.poll_interval_seconds,
        )
        patch.status["circuitBreaker"] = _breaker(connection.breaker)
        if isinstance(error, AuthError):
            message = f"CloudStack refused the API keys ({error.detail}); check spec.credentialsSecretRef"
            warn_once(Reason.UNAUTHORIZED, message)
            report(
                Condition(ConditionType.READY, False, Reason.UNAUTHORIZED, message),
                Condition(ConditionType.STALLED, True, Reason.UNAUTHORIZED, message),
                Condition(
                    ConditionType.RECONCILING, False, Reason.UNAUTHORIZED, "waiting for valid API keys"
                ),
            )
        elif not error.retryable:
            reason = Reason.TLS_FAILURE if "TLS" in error.detail else Reason.ENDPOINT_REJECTED
            message = f"spec.url {connection.spec.url}: {error}"
            warn_once(reason, message)
            report(
                Condition(ConditionType.READY, False, reason, message),
                Condition(ConditionType.STALLED, True, reason, message),
                Condition(ConditionType.RECONCILING, False, reason, "waiting for the endpoint to be fixed"),
            )
        else:
            message = (
                f"spec.url {connection.spec.url}: {error}; "
                f"retrying every {int(connection.spec.poll_interval_seconds)}s"
            )
            warn_once(Reason.UNREACHABLE, message)
            if opened:
                kopf.warn(
                    body,
                    reason=Reason.CIRCUIT_OPEN,
                    message=f"{connection.breaker.failures} failures in a row: no remediation on this "
                    "endpoint until CloudStack answers again",
                )
            report(
                Condition(ConditionType.READY, False, Reason.UNREACHABLE, message),
                Condition(ConditionType.STALLED, False, Reason.RETRYING, "the failure may be temporary"),
                Condition(ConditionType.RECONCILING, True, Reason.UNREACHABLE, message),
                _breaker_condition(connection.breaker),
            )
        log.warning("endpoint.unreachable", endpoint=f"{namespace}/{name}", error=str(error))
        return

    patch.status["cloudstackVersion"] = connection.cloudstack_version
    patch.status["managementServerVersion"] = inventory.management_server_version
    if not verdict.supported:
        warn_once(Reason.UNSUPPORTED_VERSION, verdict.message)
        report(
            Condition(ConditionType.READY, False, Reason.UNSUPPORTED_VERSION, verdict.message),
            Condition(ConditionType.STALLED, True, Reason.UNSUPPORTED_VERSION, verdict.message),
            Condition(
                ConditionType.RECONCILING,
                False,
                Reason.UNSUPPORTED_VERSION,
                "nothing is managed on this endpoint",
            ),
        )
        return
    assert verdict.version is not None
    found = versions.features(verdict.version)
    patch.status["features"] = [{"name": f.name, "enabled": f.enabled, "reason": f.reason} for f in found]
    off = [f for f in found if not f.enabled]
    features_condition = (
        Condition(
            ConditionType.FEATURES_AVAILABLE, False, Reason.OLDER_CLOUDSTACK, "; ".join(f.reason for f in off)
        )
        if off
        else Condition(
            ConditionType.FEATURES_AVAILABLE,
            True,
            Reason.ALL_FEATURES,
            f"CloudStack {verdict.version} has every feature",
        )
    )
    if _breaker_state(status) == "Open":
        kopf.info(body, reason=Reason.CIRCUIT_CLOSED, message="CloudStack answers again; remediation resumes")
    patch.status["zones"] = sorted(zone.name for zone in inventory.zones)
    patch.status["circuitBreaker"] = _breaker(connection.breaker)
    metrics.export_endpoint(
        namespace,
        name,
        breaker_open=False,
        poll_interval=connection.spec.poll_interval_seconds,
        contact=inventory.observed_at.timestamp(),
    )
    message = (
        f"CloudStack {connection.cloudstack_version} at {connection.spec.url}: "
        f"{len(inventory.zones)} zones, {len(inventory.ssvms)} SSVMs"
    )
    report(
        Condition(ConditionType.READY, True, Reason.CONNECTED, message),
        Condition(ConditionType.STALLED, False, Reason.CONNECTED, "nothing blocks the connection"),
        Condition(ConditionType.RECONCILING, False, Reason.CONNECTED, "connected"),
        features_condition,
        _breaker_condition(connection.breaker),
    )


def duplicate_condition(
    endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]],
    namespace: str,
    name: str,
    spec: Mapping[str, Any],
) -> Condition:
    """DuplicateEndpoint: whether another CloudStackEndpoint points at the same CloudStack (same normalised
    URL). Both objects say so, each naming the other."""
    specs = {**endpoint_specs, (namespace, name): spec}
    others = identity.twins(specs, (namespace, name))
    if not others:
        return Condition(
            ConditionType.DUPLICATE_ENDPOINT,
            False,
            Reason.UNIQUE,
            "no other CloudStackEndpoint names this CloudStack",
        )
    named = ", ".join(f"{ns}/{n}" for ns, n in others)
    return Condition(
        ConditionType.DUPLICATE_ENDPOINT,
        True,
        Reason.SAME_CLOUDSTACK,
        f"CloudStackEndpoint {named} points at the same CloudStack "
        f"({identity.identity_of(specs, (namespace, name))}): both share one rate limit (the lower "
        "requestsPerSecond), one inventory and one circuit breaker, and each zone and the global settings "
        "are managed only by the oldest SSVMPool or SSVMSettings that claims them through either; keep one "
        "endpoint and point every object at it",
    )


def _breaker_state(status: Mapping[str, Any]) -> str | None:
    """The breaker state last shown, so an Event marks each change once, whichever handler saw it."""
    return (status.get("circuitBreaker") or {}).get("state")


def _breaker_condition(breaker: CircuitBreaker) -> Condition:
    if breaker.tripped:
        return Condition(
            ConditionType.REMEDIATION_ALLOWED,
            False,
            Reason.CIRCUIT_OPEN,
            f"{breaker.failures} failed inventories in a row: no SSVM of this endpoint is repaired until "
            "CloudStack answers again",
        )
    return Condition(
        ConditionType.REMEDIATION_ALLOWED, True, Reason.CIRCUIT_CLOSED, "CloudStack answers; repairs may run"
    )


def _breaker(breaker: CircuitBreaker) -> dict[str, Any]:
    out: dict[str, Any] = {"state": str(breaker.state), "failures": breaker.failures}
    if breaker.opened_at is not None:
        out["openedAt"] = conditions.timestamp(breaker.opened_at)
    return out
