"""Reconciles an SSVMSettings object: apply declared global settings, say which need a management-server
restart, and publish which SSVMs must reboot so a boot-time setting reaches them.

The reboots themselves are done by each zone's SSVMPool, inside that zone's disruption budget, so one
actor per zone ever touches an SSVM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import kopf
import structlog

from ssvm_operator import logs
from ssvm_operator.act.settings import Applied, SettingsRefused, apply_settings
from ssvm_operator.act.settings import restore_settings as restore_applied
from ssvm_operator.cloud import versions
from ssvm_operator.cloud.errors import CloudError
from ssvm_operator.kube import conditions, kubeapi
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import EndpointUnavailable, OperatorContext
from ssvm_operator.kube.events import announce, said_before
from ssvm_operator.kube.names import RESTART_CONFIRMED_ANNOTATION
from ssvm_operator.kube.reasons import ConditionType, EventReason, Reason
from ssvm_operator.kube.reconciliation import Reconciliation
from ssvm_operator.kube.settings_status import (
    applied_from_status,
    not_applied,
    refused_from_status,
    render_applied,
    render_pending,
    render_refused,
    render_rollout,
    rollout_from_status,
    settings_conditions,
)
from ssvm_operator.model import identity
from ssvm_operator.model.config import ManagementServer
from ssvm_operator.model.settings import CAPACITY_STANDBY_KEY, SESSION_MAX_KEY, DeletionPolicy, SettingsSpec
from ssvm_operator.model.spec import Mode, SpecError
from ssvm_operator.model.standby import SESSION_MAX_DEFAULT
from ssvm_operator.plan.rollout_scope import ZonePool, newly_left
from ssvm_operator.plan.running_servers import down_note, running
from ssvm_operator.plan.settings_plan import (
    AppliedRecord,
    Refusal,
    SettingsContext,
    SettingsProblem,
    plan_settings,
)

log = structlog.get_logger("ssvm_operator.settings")


async def reconcile_settings(
    ctx: OperatorContext,
    body: kopf.Body,
    patch: kopf.Patch,
    endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]],
    owners: Mapping[tuple[str, str], Sequence[tuple[str, str]]],
    pool_replicas: Mapping[tuple[str, str], Sequence[int]],
    pool_scopes: Mapping[tuple[str, str], Sequence[Sequence[Any]]] | None = None,
) -> None:
    """`pool_scopes`: the SSVMPools by endpoint, as ZonePool.from_index reads them."""
    run = Reconciliation.begin(ctx, body, patch)
    namespace, name, status, now = run.namespace, run.name, run.status, run.now
    report = run.report

    def stalled(reason: str, message: str) -> None:
        run.stalled(reason, message, waiting="nothing is applied until this is fixed")

    try:
        spec = SettingsSpec.parse(body.get("spec") or {})
    except SpecError as error:
        stalled(Reason.INVALID_SPEC, f"spec.{error.field}: {error.message}")
        return
    # Claims and pool replicas count per CloudStack, whichever endpoint object they go through.
    same = identity.same_cloudstack(endpoint_specs, (namespace, spec.endpoint))
    first = identity.owner(
        (c, ns, n) for (ns, ep), found in owners.items() if (ns, ep) in same for c, n in found
    )
    if first is not None and first[1:] != (namespace, name):
        stalled(
            Reason.CONFLICT,
            f"SSVMSettings {identity.describe(first, namespace)} already manages the global settings of this "
            f"CloudStack (endpoint {spec.endpoint}); this one is not applied",
        )
        return
    pool_replicas = {(namespace, spec.endpoint): [r for k in sorted(same) for r in pool_replicas.get(k, ())]}
    try:
        connection = await ctx.connect(
            namespace, spec.endpoint, endpoint_specs.get((namespace, spec.endpoint))
        )
        verdict = await connection.read_release()
        if not verdict.supported:
            raise SettingsProblem(Reason.UNSUPPORTED_VERSION, f"{verdict.message}; no setting is applied")
        poll = connection.spec.poll_interval_seconds
        # The declared keys, the standby pair the computed standby needs, and what status says was applied.
        read = {*spec.keys, SESSION_MAX_KEY, CAPACITY_STANDBY_KEY, *applied_from_status(status)}
        configuration = await connection.config.get(connection.client, poll, read)
        catalogue, listed = configuration.settings, configuration.servers
        servers = running(listed)  # a server listed Down neither blocks nor confirms a restart
        # Before 4.17 CloudStack does not report when its management servers started (versions.py).
        # Read from every listed server: mid-restart all of them can be listed Down, and the condition must
        # still give the way to confirm the restart.
        starts_unreported = any(s.last_start is None for s in listed)
        servers, confirmation_problem = confirmed_starts(servers, body.metadata.annotations or {}, now)
        inventory = await connection.inventory.get(
            connection.client, poll, declared_offering=spec.service_offering
        )
        # Before auto scale-down could be turned off, a standby count above one churns (versions.py).
        replicas = pool_replicas.get((namespace, spec.endpoint), ())
        if not connection.feature(versions.STABLE_STANDBY_REPLICAS):
            replicas = ()
        pools = None
        if pool_scopes is not None:
            pools = [ZonePool.from_index(e) for k in sorted(same) for e in pool_scopes.get(k, ())]
        previous_rollout = rollout_from_status(status.get("rollout"))
        applied = applied_from_status(status)
        context = SettingsContext(
            spec=spec,
            catalogue=catalogue,
            inventory=inventory,
            servers=servers,
            applied=applied,
            previous_rollout=previous_rollout,
            secrets=await _secrets(namespace, spec),
            pool_replicas=replicas,
            pools=pools,
            now=now,
            refused=refused_from_status(status),
            generation=run.generation if isinstance(run.generation, int) else None,
        )
        plan = plan_settings(context)
    except EndpointUnavailable as error:
        stalled(error.reason, str(error))
        return
    except SettingsProblem as problem:
        stalled(problem.reason, str(problem))
        return
    except CloudError as error:
        run.unreachable(error)
        return

    if plan.invalid:
        stalled(
            Reason.INVALID_SETTING,
            "; ".join(f"spec.{p.field}: {p.message}" for p in plan.invalid) + "; nothing applied",
        )
        return

    todo, drifted = plan.todo, plan.drifted
    if spec.mode is Mode.ENFORCE:
        try:
            outcome = await apply_settings(
                connection.client, todo, catalogue, applied, drifted, now, context.generation
            )
        except SettingsRefused as refused:
            _announce_applied(body, refused.done)
            _announce_refused(body, refused.refused)
            connection.config.invalidate()
            # CloudStack's error may quote the value: secret values are masked before anyone sees it.
            applied.update({a.setting.name: a.record for a in refused.done})
            patch.status["applied"] = render_applied(applied)
            patch.status["refused"] = render_refused([*plan.refused, *_masked(refused.refused)])
            message = logs.redact(str(refused))
            log.warning("setting.failed", settings=f"{namespace}/{name}", error=message)
            # Not a refusal of the value: it may pass, so not Stalled; tried again at the next poll.
            run.warn_once(ConditionType.READY, Reason.SETTING_REJECTED, message, status="False")
            run.report(
                Condition(ConditionType.STALLED, False, Reason.RETRYING, "retried every poll"),
                Condition(ConditionType.RECONCILING, True, Reason.SETTING_REJECTED, message),
                Condition(ConditionType.READY, False, Reason.SETTING_REJECTED, message),
            )
            return
        _announce_applied(body, outcome.done)
        if outcome.refused:
            _announce_refused(body, outcome.refused)
            # Planned again without the values CloudStack refused: status.applied, the restart asked for
            # and the rollout are about what CloudStack took.
            refusals = {r.name: r for r in (*plan.refused, *_masked(outcome.refused))}
            plan = plan_settings(replace(context, refused=refusals))
        if todo:
            connection.config.invalidate()  # the next poll judges drift on what CloudStack holds now
    elif todo and not said_before(status, ConditionType.READY, containing=not_applied(todo, drifted)):
        names = ", ".join(s.name for s in todo)
        kopf.info(body, reason=EventReason.WOULD_APPLY, message=f"Observe mode: would set {names}")

    pending = plan.pending
    announce_restart(body, status, pending, servers, down_note(listed))
    if (
        pending
        and confirmation_problem
        and not said_before(status, ConditionType.READY, containing=confirmation_problem)
    ):
        kopf.warn(body, reason=EventReason.INVALID_ANNOTATION, message=confirmation_problem)
    rollout = plan.rollout
    left = newly_left(previous_rollout.left, rollout.left)
    if left:
        kopf.warn(
            body, reason=Reason.ROLLOUT_LEFT_ZONES, message="the settings rollout does not reach " + left
        )

    patch.status["applied"] = render_applied(plan.applied)
    patch.status["pendingManagementServerRestart"] = render_pending(pending)
    patch.status["rollout"] = render_rollout(rollout)
    patch.status["refused"] = render_refused(plan.refused)
    standby = next((d for d in plan.desired if d.name == CAPACITY_STANDBY_KEY), None)
    if standby is not None:
        patch.status["standby"] = {
            "capacityStandby": int(standby.value or 0),
            "sessionMax": int(catalogue[SESSION_MAX_KEY].value or SESSION_MAX_DEFAULT),
            "replicas": max(pool_replicas.get((namespace, spec.endpoint), (1,)) or (1,)),
        }
    confirm = (f"-n {namespace} ssvmsettings {name}", confirmation_problem) if starts_unreported else None
    report(*settings_conditions(spec, drifted, pending, rollout, todo, confirm, plan.refused))


async def _secrets(namespace: str, spec: SettingsSpec) -> dict[str, str]:
    """The values of spec.secretSettings, read from their Secrets and registered for masking."""
    values = {}
    for key, ref in sorted(spec.secret_settings.items()):
        try:
            value = await kubeapi.read_secret_key(namespace, ref.name, ref.key)
        except kubeapi.SecretError as error:
            raise SettingsProblem(Reason.SECRET_MISSING, f"spec.secretSettings.{key}: {error}") from None
        logs.register_secret(value)
        values[key] = value
    return values


def _announce_applied(body: kopf.Body, done: Sequence[Applied]) -> None:
    for applied in done:
        setting = applied.setting
        shown = "a new secret value" if setting.secret else repr(setting.value)
        if applied.drifted:
            kopf.warn(
                body,
                reason=Reason.DRIFTED,
                message=f"{setting.name} was changed outside Git; put back to {shown}",
            )
        else:
            kopf.info(body, reason=EventReason.SETTING_APPLIED, message=f"{setting.name} set to {shown}")


def _masked(refused: Sequence[Refusal]) -> list[Refusal]:
    """CloudStack's text may quote a secret value: masked before status or an Event shows it."""
    return [replace(r, message=logs.redact(r.message)) for r in refused]


def _announce_refused(body: kopf.Body, refused: Sequence[Refusal]) -> None:
    """Once per refusal: the value is not sent again until the spec changes."""
    for refusal in _masked(refused):
        announce(
            body,
            Reason.SETTING_REFUSED,
            f"{refusal.message}; not sent again until the spec changes",
            warning=True,
        )


def confirmed_starts(
    servers: Sequence[ManagementServer], annotations: Mapping[str, str], now: datetime
) -> tuple[list[ManagementServer], str | None]:
    """The management servers, with the admin's confirmed restart time for those CloudStack gives none.

    Before 4.17 listManagementServers has no `lastserverstart`, so the operator cannot see a restart by
    itself; the annotation stands in for the start times CloudStack does not report, never for one it does.
    Returns the servers and, for an annotation that cannot be used, why.
    """
    raw = annotations.get(RESTART_CONFIRMED_ANNOTATION)
    if raw is None:
        return list(servers), None
    at = conditions.parse_timestamp(raw)
    if at is None or at.tzinfo is None:
        return list(servers), (
            f"annotation {RESTART_CONFIRMED_ANNOTATION}: {raw!r} is not a time with its zone, "
            "like 2026-11-27T10:00:00Z; the restart is not confirmed"
        )
    if at > now:
        return list(servers), (
            f"annotation {RESTART_CONFIRMED_ANNOTATION}: {raw} is in the future; the restart is not confirmed"
        )
    return [s if s.last_start is not None else replace(s, last_start=at) for s in servers], None


def announce_restart(
    body: kopf.Body,
    status: Mapping[str, Any],
    pending: Sequence[AppliedRecord],
    servers: Sequence[ManagementServer],
    note: str = "",
) -> None:
    before = {p.get("name") for p in status.get("pendingManagementServerRestart") or ()}
    new = sorted(r.name for r in pending if r.name not in before)
    if new:
        names = ", ".join(s.name for s in servers) or "every management server"
        kopf.warn(
            body,
            reason=Reason.MANAGEMENT_SERVER_RESTART_REQUIRED,
            message=f"{', '.join(new)} take effect only after a restart of {names} "
            f"(systemctl restart cloudstack-management on each){note}",
        )
    if before and not pending:
        kopf.info(
            body,
            reason=EventReason.MANAGEMENT_SERVER_RESTARTED,
            message="every management server read the new settings",
        )


async def restore_settings(
    ctx: OperatorContext, body: kopf.Body, endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]]
) -> str | None:
    """deletionPolicy Restore: put back the values the operator replaced. Secret settings, whose previous
    values were never kept, go back to CloudStack's default. Returns what could not be put back, with why
    (the release), or None when everything is back."""
    try:
        spec = SettingsSpec.parse(body.get("spec") or {})
    except SpecError:
        return None
    if spec.deletion_policy is not DeletionPolicy.RESTORE or spec.mode is Mode.OBSERVE:
        return None
    namespace = str(body.metadata.namespace)
    connection = await ctx.connect(namespace, spec.endpoint, endpoint_specs.get((namespace, spec.endpoint)))
    verdict = await connection.read_release()
    applied = applied_from_status(ctx.status_of(body))
    can_reset = connection.feature(versions.RESET_CONFIGURATION)
    left = await restore_applied(connection.client, applied, can_reset)
    if not left:
        return None
    why = versions.reason(verdict, versions.RESET_CONFIGURATION).split(": ", 1)[0]
    return (
        f"{', '.join(sorted(left))} keep the value this SSVMSettings set: their previous values were "
        f"secret and never kept, and {why}; the other settings are back. Set them by hand "
        "(cloudmonkey update configuration name=<setting> value=<value>)"
    )
