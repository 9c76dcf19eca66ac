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
from ssvm_operator.cloud import config, versions
from ssvm_operator.cloud.endpoints import EndpointConnection
from ssvm_operator.cloud.errors import CloudError
from ssvm_operator.kube import conditions, kubeapi
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import EndpointUnavailable, OperatorContext
from ssvm_operator.kube.names import RESTART_CONFIRMED_ANNOTATION
from ssvm_operator.kube.reconciliation import Reconciliation
from ssvm_operator.kube.settings_status import AppliedRecord, applied_from_status, render_pending
from ssvm_operator.model import identity
from ssvm_operator.model.config import ConfigEntry, ManagementServer
from ssvm_operator.model.settings import (
    ALLOWED_SITES_KEY,
    CAPACITY_STANDBY_KEY,
    SERVICE_OFFERING_KEY,
    SESSION_MAX_KEY,
    DeletionPolicy,
    RolloutStrategy,
    SettingsSpec,
)
from ssvm_operator.model.snapshot import Health, Inventory
from ssvm_operator.model.spec import Mode, SpecError
from ssvm_operator.plan.offering import resolve_offering
from ssvm_operator.plan.rollout_scope import ZonePool, describe_left, newly_left, rollout_zones
from ssvm_operator.plan.settings import (
    BOOT_TIME_KEYS,
    DesiredSetting,
    changes,
    in_force_since,
    needs_rollout,
    same_value,
    standby_settings,
    validate,
)

log = structlog.get_logger("ssvm_operator.settings")


class SettingsProblem(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


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
        stalled("InvalidSpec", f"spec.{error.field}: {error.message}")
        return
    # Claims and pool replicas count per CloudStack, whichever endpoint object they go through.
    same = identity.same_cloudstack(endpoint_specs, (namespace, spec.endpoint))
    first = identity.owner(
        (c, ns, n) for (ns, ep), found in owners.items() if (ns, ep) in same for c, n in found
    )
    if first is not None and first[1:] != (namespace, name):
        stalled(
            "Conflict",
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
            raise SettingsProblem("UnsupportedVersion", f"{verdict.message}; no setting is applied")
        poll = connection.spec.poll_interval_seconds
        # The declared keys, the standby pair the computed standby needs, and what status says was applied.
        read = {*spec.keys, SESSION_MAX_KEY, CAPACITY_STANDBY_KEY, *applied_from_status(status)}
        configuration = await connection.config.get(connection.client, poll, read)
        catalogue, servers = configuration.settings, configuration.servers
        # Before 4.17 CloudStack does not report when its management servers started (versions.py).
        starts_unreported = any(s.last_start is None for s in servers)
        servers, confirmation_problem = confirmed_starts(servers, body.metadata.annotations or {}, now)
        inventory = await connection.inventory.get(
            connection.client, poll, declared_offering=spec.service_offering
        )
        # Before auto scale-down could be turned off, a standby count above one churns (versions.py).
        replicas = pool_replicas.get((namespace, spec.endpoint), ())
        if not connection.feature(versions.STABLE_STANDBY_REPLICAS):
            replicas = ()
        desired = await _desired(namespace, spec, inventory, catalogue, replicas)
    except EndpointUnavailable as error:
        stalled(error.reason, str(error))
        return
    except SettingsProblem as problem:
        stalled(problem.reason, str(problem))
        return
    except CloudError as error:
        report(
            Condition("Stalled", False, "Retrying", "CloudStack is unreachable; retrying every poll"),
            Condition("Reconciling", True, "CloudStackUnreachable", str(error)),
            Condition("Ready", False, "CloudStackUnreachable", str(error)),
        )
        return

    invalid = validate(desired, catalogue)
    if invalid:
        stalled(
            "InvalidSetting", "; ".join(f"spec.{p.field}: {p.message}" for p in invalid) + "; nothing applied"
        )
        return

    applied = applied_from_status(status)
    drifted = [
        record.name
        for record in applied.values()
        if record.name in catalogue
        and not record.holds(catalogue[record.name].value)
        and any(d.name == record.name for d in desired)
    ]
    todo = changes(desired, catalogue)
    if spec.mode is Mode.ENFORCE:
        try:
            await _apply(connection, body, todo, catalogue, applied, drifted, now)
        except (CloudError, SettingsProblem) as error:
            connection.config.invalidate()
            # CloudStack's refusal may quote the value: secret values are masked before anyone sees it.
            patch.status["applied"] = [r.render() for r in sorted(applied.values(), key=lambda r: r.name)]
            message = logs.redact(str(error))
            log.warning("setting.refused", settings=f"{namespace}/{name}", error=message)
            stalled("SettingRejected", message)
            return
        if todo:
            connection.config.invalidate()  # the next poll judges drift on what CloudStack holds now
    elif todo and not _said_before(status, "Ready", _not_applied(todo, drifted)):
        names = ", ".join(s.name for s in todo)
        kopf.info(body, reason="WouldApply", message=f"Observe mode: would set {names}")
    for setting in desired:  # values already in place are recorded too, so drift is noticed later
        if setting.name not in applied:
            entry = catalogue[setting.name]
            if same_value(entry.value, setting.value):
                applied[setting.name] = AppliedRecord.of(setting, entry.value, None, entry.is_dynamic)

    pending = [r for r in applied.values() if _pending_restart(r, servers)]
    announce_restart(body, status, pending, servers)
    if pending and confirmation_problem and not _said_before(status, "Ready", confirmation_problem):
        kopf.warn(body, reason="InvalidAnnotation", message=confirmation_problem)
    pools = None
    if pool_scopes is not None:
        pools = [ZonePool.from_index(e) for k in sorted(same) for e in pool_scopes.get(k, ())]
    previous_rollout = status.get("rollout") or {}
    rollout = _rollout(spec, applied, servers, inventory, previous_rollout.get("activeZone"), pools)
    left = newly_left(previous_rollout.get("left") or (), rollout.get("left") or ())
    if left:
        kopf.warn(body, reason="RolloutLeftZones", message="the settings rollout does not reach " + left)

    patch.status["applied"] = [r.render() for r in sorted(applied.values(), key=lambda r: r.name)]
    patch.status["pendingManagementServerRestart"] = render_pending(pending)
    patch.status["rollout"] = rollout
    standby = next((d for d in desired if d.name == CAPACITY_STANDBY_KEY), None)
    if standby is not None:
        patch.status["standby"] = {
            "capacityStandby": int(standby.value or 0),
            "sessionMax": int(catalogue[SESSION_MAX_KEY].value or 50),
            "replicas": max(pool_replicas.get((namespace, spec.endpoint), (1,)) or (1,)),
        }
    confirm = (f"-n {namespace} ssvmsettings {name}", confirmation_problem) if starts_unreported else None
    report(*_conditions(spec, drifted, pending, rollout, todo, confirm))


async def _desired(
    namespace: str,
    spec: SettingsSpec,
    inventory: Inventory,
    catalogue: Mapping[str, ConfigEntry],
    replicas: Sequence[int],
) -> list[DesiredSetting]:
    desired = []
    if spec.allowed_internal_sites is not None:
        desired.append(
            DesiredSetting(
                ALLOWED_SITES_KEY, ",".join(spec.allowed_internal_sites) or None, field="allowedInternalSites"
            )
        )
    if spec.service_offering is not None:
        offering, problems = resolve_offering(spec.service_offering, inventory)
        if offering is None:
            raise SettingsProblem(str(problems[0].reason), problems[0].message)
        desired.append(DesiredSetting(SERVICE_OFFERING_KEY, offering.id, field="serviceOffering"))
    desired += [DesiredSetting(k, v, field=f"settings.{k}") for k, v in sorted(spec.settings.items())]
    for key, ref in sorted(spec.secret_settings.items()):
        try:
            value = await kubeapi.read_secret_key(namespace, ref.name, ref.key)
        except kubeapi.SecretError as error:
            raise SettingsProblem("SecretMissing", f"spec.secretSettings.{key}: {error}") from None
        logs.register_secret(value)
        desired.append(DesiredSetting(key, value, secret=True, field=f"secretSettings.{key}"))
    if CAPACITY_STANDBY_KEY not in spec.settings:
        computed = standby_settings(replicas, catalogue)
        if computed is not None:
            desired.append(computed[0])
    return desired


async def _apply(
    connection: EndpointConnection,
    body: kopf.Body,
    todo: Sequence[DesiredSetting],
    catalogue: Mapping[str, ConfigEntry],
    applied: dict[str, AppliedRecord],
    drifted: Sequence[str],
    now: datetime,
) -> None:
    for setting in todo:
        entry = catalogue[setting.name]
        before = applied.get(setting.name)
        previous = before.previous_value if before is not None else entry.value
        try:
            await config.update_setting(connection.client, setting.name, setting.value)
        except CloudError as error:
            raise SettingsProblem(
                "SettingRejected", f"spec.{setting.field}: CloudStack refused it: {error}"
            ) from None
        applied[setting.name] = AppliedRecord.of(setting, previous, now, entry.is_dynamic)
        shown = "a new secret value" if setting.secret else repr(setting.value)
        if setting.name in drifted:
            kopf.warn(
                body,
                reason="Drifted",
                message=f"{setting.name} was changed outside Git; put back to {shown}",
            )
        else:
            kopf.info(body, reason="SettingApplied", message=f"{setting.name} set to {shown}")
        log.info("setting.applied", setting=setting.name, secret=setting.secret)


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


def _pending_restart(record: AppliedRecord, servers: Sequence[ManagementServer]) -> bool:
    if record.dynamic or record.applied_at is None:
        return False
    return in_force_since(record.applied_at, [s.last_start for s in servers]) is None


def announce_restart(
    body: kopf.Body,
    status: Mapping[str, Any],
    pending: Sequence[AppliedRecord],
    servers: Sequence[ManagementServer],
) -> None:
    before = {p.get("name") for p in status.get("pendingManagementServerRestart") or ()}
    new = sorted(r.name for r in pending if r.name not in before)
    if new:
        names = ", ".join(s.name for s in servers) or "every management server"
        kopf.warn(
            body,
            reason="ManagementServerRestartRequired",
            message=f"{', '.join(new)} take effect only after a restart of {names} "
            "(systemctl restart cloudstack-management on each)",
        )
    if before and not pending:
        kopf.info(
            body, reason="ManagementServerRestarted", message="every management server read the new settings"
        )


def _rollout(
    spec: SettingsSpec,
    applied: Mapping[str, AppliedRecord],
    servers: Sequence[ManagementServer],
    inventory: Inventory,
    active_zone: str | None,
    pools: Sequence[ZonePool] | None = None,
) -> dict[str, Any]:
    """`pools`: the SSVMPools of the endpoint's CloudStack; None when not known (every zone is rolled)."""
    keys = [r for r in applied.values() if r.name in BOOT_TIME_KEYS and r.applied_at is not None]
    since_times = [
        in_force_since(r.applied_at, [s.last_start for s in servers]) for r in keys if r.applied_at
    ]
    in_force = [t for t in since_times if t is not None]
    if not keys or not in_force or spec.rollout.strategy is RolloutStrategy.NONE:
        return {
            "phase": "Idle"
            if not keys or spec.rollout.strategy is RolloutStrategy.NONE
            else "WaitingForRestart"
        }
    since = max(in_force)
    stale = [vm for vm in inventory.ssvms if needs_rollout(vm, since)]
    needs_recreate = any(BOOT_TIME_KEYS[r.name] == "Recreate" for r in keys)
    strategy = RolloutStrategy.RECREATE if needs_recreate else spec.rollout.strategy
    zone_names = {z.id: z.name for z in inventory.zones}
    stale_by_zone: dict[str, list[str]] = {}
    for vm in stale:
        stale_by_zone.setdefault(zone_names.get(vm.zone_id, vm.zone_id), []).append(vm.name)
    settling = any(
        zone_names.get(vm.zone_id) == active_zone and vm.health is not Health.HEALTHY
        for vm in inventory.ssvms
    )
    zones, left = rollout_zones(stale_by_zone, pools, active_zone, settling)
    return {
        "phase": "Rolling" if zones else ("PartlyDone" if left else "Done"),
        "left": [z.render() for z in left],
        "strategy": str(strategy),
        "maxUnavailable": spec.rollout.max_unavailable,
        "startedAt": conditions.timestamp(since),
        "total": len(inventory.ssvms),
        "done": len(inventory.ssvms) - len(stale),
        "pending": sorted(vm.name for vm in stale),
        "activeZone": zones[0] if zones else None,
        "settings": sorted(r.name for r in keys),
        "maintenanceWindows": [dict(w) for w in spec.rollout.maintenance_windows],
    }


def _conditions(
    spec: SettingsSpec,
    drifted: Sequence[str],
    pending: Sequence[AppliedRecord],
    rollout: Mapping[str, Any],
    todo: Sequence[DesiredSetting],
    confirm: tuple[str, str | None] | None = None,
) -> list[Condition]:
    """`confirm`: when CloudStack does not report management-server starts, how kubectl names this object
    and what is wrong with the annotation confirming a restart, if anything."""
    conds = [Condition("Stalled", False, "Applied", "every declared setting is valid")]
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
            Condition("Stalled", True, "ManagementServerRestartRequired", message),
            Condition("Ready", False, "ManagementServerRestartRequired", message),
        ]
    elif rollout.get("phase") == "Rolling":
        message = (
            f"{rollout['done']} of {rollout['total']} SSVMs run with the new settings; "
            f"rolling zone {rollout['activeZone']}" + describe_left(rollout.get("left") or ())
        )
        conds += [
            Condition("Reconciling", True, "RollingSSVMs", message),
            Condition("Ready", False, "RollingSSVMs", message),
        ]
    elif rollout.get("phase") == "PartlyDone":
        message = (
            f"{rollout['done']} of {rollout['total']} SSVMs run with the new settings; every zone the "
            "operator may roll is done" + describe_left(rollout.get("left") or ())
        )
        conds += [
            Condition("Reconciling", False, "RolloutLeftZones", message),
            Condition("Ready", True, "RolloutLeftZones", message),
        ]
    elif spec.mode is Mode.OBSERVE and (todo or drifted):
        conds += [
            Condition("Ready", False, "Drifted" if drifted else "NotApplied", _not_applied(todo, drifted))
        ]
    else:
        reason = "Drifted" if drifted else "InSync"
        message = (
            f"put back after drift: {', '.join(drifted)}"
            if drifted
            else "CloudStack holds every declared setting"
        )
        conds += [Condition("Reconciling", False, reason, message), Condition("Ready", True, reason, message)]
    return conds


def _not_applied(todo: Sequence[DesiredSetting], drifted: Sequence[str]) -> str:
    names = ", ".join(sorted({s.name for s in todo} | set(drifted)))
    return f"CloudStack differs from the declaration; Observe mode, not applied: {names}"


def _said_before(status: Mapping[str, Any], condition_type: str, text: str) -> bool:
    """Whether the condition as last written already says `text`, so its Event was posted then.

    Events go with a change of what the conditions say, not with every tick that finds the same thing.
    """
    before = conditions.find(status.get("conditions"), condition_type) or {}
    return text in str(before.get("message") or "")


async def restore_settings(
    ctx: OperatorContext, body: kopf.Body, endpoint_specs: Mapping[tuple[str, str], Mapping[str, Any]]
) -> None:
    """deletionPolicy Restore: put back the values the operator replaced. Secret settings, whose previous
    values were never kept, go back to CloudStack's default."""
    try:
        spec = SettingsSpec.parse(body.get("spec") or {})
    except SpecError:
        return
    if spec.deletion_policy is not DeletionPolicy.RESTORE or spec.mode is Mode.OBSERVE:
        return
    namespace = str(body.metadata.namespace)
    connection = await ctx.connect(namespace, spec.endpoint, endpoint_specs.get((namespace, spec.endpoint)))
    await connection.read_release()
    applied = applied_from_status(ctx.status_of(body))
    catalogue = await config.read_settings(connection.client, applied)
    for record in applied.values():
        if record.applied_at is None or record.name not in catalogue:
            continue  # the operator never changed it
        if record.secret:
            # The previous secret value was never kept: back to CloudStack's default where it can say it.
            if connection.feature(versions.RESET_CONFIGURATION):
                await config.reset_setting(connection.client, record.name)
            elif catalogue[record.name].default is not None:
                await config.update_setting(connection.client, record.name, catalogue[record.name].default)
            else:
                log.warning(
                    "setting.not_restored", setting=record.name, why="no resetConfiguration before 4.16"
                )
                continue
        else:
            await config.update_setting(connection.client, record.name, record.previous_value)
        log.info("setting.restored", setting=record.name)
