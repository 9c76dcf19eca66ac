"""The SSVMSettings plan: from the declaration and what CloudStack holds to what to apply, what waits for a
management-server restart, and how far the rollout of boot-time settings has come.

The same shape as the pool's plan (docs/design/2026-12-05-settings-through-plan-and-act.md): kube/ reads
(the object, its Secrets, CloudStack through cloud/), this module decides, act/settings.py applies, kube/
writes status and Events. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ssvm_operator.model.config import ConfigEntry, ManagementServer
from ssvm_operator.model.settings import (
    ALLOWED_SITES_KEY,
    CAPACITY_STANDBY_KEY,
    SERVICE_OFFERING_KEY,
    RolloutStrategy,
    SettingsSpec,
)
from ssvm_operator.model.snapshot import Health, Inventory
from ssvm_operator.model.spec import Mode
from ssvm_operator.plan.offering import resolve_offering
from ssvm_operator.plan.rollout_scope import ZonePool, rollout_zones
from ssvm_operator.plan.rollout_status import RolloutPhase, RolloutStatus
from ssvm_operator.plan.settings import (
    BOOT_TIME_KEYS,
    DesiredSetting,
    Invalid,
    awaits_reconnect,
    changes,
    in_force_since,
    needs_rollout,
    same_value,
    standby_settings,
    validate,
    value_hash,
)
from ssvm_operator.plan.stored_values import as_stored


@dataclass(frozen=True)
class AppliedRecord:
    """What the operator did to one setting; the previous value is what Restore puts back. Persisted as a
    row of status.applied (kube/settings_status.py)."""

    name: str
    value: str | None
    """Shown value: None for secrets, whose hash is in value_hash."""
    value_hash: str
    secret: bool
    previous_value: str | None
    applied_at: datetime | None
    """When the operator changed it; None when CloudStack already held the declared value."""
    dynamic: bool = False

    @classmethod
    def of(
        cls, setting: DesiredSetting, previous: str | None, applied_at: datetime | None, dynamic: bool
    ) -> AppliedRecord:
        return cls(
            name=setting.name,
            value=None if setting.secret else setting.value,
            value_hash=value_hash(setting.value),
            secret=setting.secret,
            previous_value=None if setting.secret else previous,
            applied_at=applied_at,
            dynamic=dynamic,
        )

    def holds(self, current: str | None) -> bool:
        """Whether CloudStack still holds what the operator applied."""
        return value_hash(current) == self.value_hash or (not self.secret and current == self.value)


@dataclass(frozen=True)
class Refusal:
    """A value CloudStack refuses for good (permanent_refusal): not sent again while the spec stays at the
    generation it was refused at. Persisted as a row of status.refused (kube/settings_status.py)."""

    name: str
    field: str
    value_hash: str
    message: str
    """Names spec.<field> and quotes CloudStack's text."""
    generation: int | None
    """metadata.generation when CloudStack refused it; any spec change tries the value once more."""

    @classmethod
    def of(cls, setting: DesiredSetting, message: str, generation: int | None) -> Refusal:
        return cls(setting.name, setting.field, value_hash(setting.value), message, generation)

    def holds(self, setting: DesiredSetting, generation: int | None) -> bool:
        """Whether this refusal still stands for `setting` as declared at `generation`."""
        return (
            self.name == setting.name
            and self.value_hash == value_hash(setting.value)
            and self.generation == generation
        )


PARAM_ERROR = 431
"""InvalidParameterValueException (ApiErrorCode.PARAM_ERROR): updateConfiguration's own validation refusals,
e.g. validateConfigurationValue's `Value [x] is not a valid [class java.lang.Integer].`"""
INTERNAL_ERROR = 530

_REFUSED_VALUE_530 = re.compile(
    # ConfigurationManagerImpl.validateValueRange (4.19.2.0, 4.20.0.0) calls NetUtils.getCleanIp4Cidr on each
    # entry of secstorage.allowed.internal.sites, which throws CloudRuntimeException("Invalid CIDR: " + cidr)
    # for one that is not an IPv4 CIDR: uncaught, so a 530, but about the value and nothing else.
    r"Invalid CIDR: .*"
)
_CLEARED_BOOLEAN_530 = re.compile(
    # ConfigurationManagerImpl.updateConfiguration(userId, name, ...) lower-cases a Boolean value after
    # getNormalizedEmptyValueForConfig made an empty one null: the NullPointerException's own message
    # (Java 17), which ApiServer.handleRequest shows a root admin.
    r'Cannot invoke "String\.toLowerCase\(\)" because "value" is null'
)


def permanent_refusal(code: int | None, text: str, value: str | None) -> bool:
    """Whether updateConfiguration's error refuses the value itself, so sending it again is refused again.

    A 431 is CloudStack's validation (InvalidParameterValueException). A 530 is an internal error that may
    pass (a database failure: "Failed to update configuration value. Please contact Cloud Support.") unless
    its text is one of the validation failures CloudStack reports as 530; only those are permanent.
    """
    if code == PARAM_ERROR:
        return True
    if code != INTERNAL_ERROR:
        return False
    text = text.strip()
    if _REFUSED_VALUE_530.fullmatch(text):
        return True
    return value in (None, "") and _CLEARED_BOOLEAN_530.fullmatch(text) is not None


@dataclass(frozen=True)
class SettingsContext:
    """Everything one SSVMSettings decision depends on; read by kube/ssvm_settings.py."""

    spec: SettingsSpec
    catalogue: Mapping[str, ConfigEntry]
    """The declared keys, the standby pair and what status says was applied, from listConfigurations."""
    inventory: Inventory
    servers: Sequence[ManagementServer]
    """The management servers, with a confirmed restart time where CloudStack reports none."""
    applied: Mapping[str, AppliedRecord]
    """status.applied as last written."""
    previous_rollout: RolloutStatus
    secrets: Mapping[str, str]
    """The values of spec.secretSettings by setting name, read from their Secrets."""
    pool_replicas: Sequence[int]
    """The replicas of every SSVMPool of this CloudStack that may ask for a standby count (empty before
    auto scale-down could be turned off: versions.STABLE_STANDBY_REPLICAS)."""
    pools: Sequence[ZonePool] | None
    """The SSVMPools of this CloudStack; None when not known (every zone is rolled)."""
    now: datetime
    refused: Mapping[str, Refusal] = field(default_factory=dict)
    """status.refused as last written."""
    generation: int | None = None
    """metadata.generation of the SSVMSettings."""


@dataclass(frozen=True)
class SettingsPlan:
    invalid: tuple[Invalid, ...] = ()
    """Nothing is applied while any declared setting is invalid."""
    desired: tuple[DesiredSetting, ...] = ()
    todo: tuple[DesiredSetting, ...] = ()
    """The settings CloudStack does not hold as declared; applied in Enforce mode."""
    drifted: tuple[str, ...] = ()
    """Settings the operator applied and someone changed since."""
    applied: Mapping[str, AppliedRecord] = field(default_factory=dict)
    """status.applied once `todo` is applied (in Enforce mode)."""
    pending: tuple[AppliedRecord, ...] = ()
    """Applied settings that take effect only after every management server restarts."""
    rollout: RolloutStatus = field(default_factory=lambda: RolloutStatus(RolloutPhase.IDLE))
    refused: tuple[Refusal, ...] = ()
    """Values CloudStack refused for good at this generation of the spec: left out of `todo`."""


class SettingsProblem(Exception):
    """The declaration cannot be applied until a user fixes something; `reason` names the condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def desired_settings(
    spec: SettingsSpec,
    inventory: Inventory,
    catalogue: Mapping[str, ConfigEntry],
    replicas: Sequence[int],
    secrets: Mapping[str, str],
) -> list[DesiredSetting]:
    """The declared settings in CloudStack's terms, and the standby count the pools need; raises
    SettingsProblem for an offering that cannot be resolved."""
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
    for key in sorted(spec.secret_settings):
        desired.append(DesiredSetting(key, secrets[key], secret=True, field=f"secretSettings.{key}"))
    if CAPACITY_STANDBY_KEY not in spec.settings:
        computed = standby_settings(replicas, catalogue)
        if computed is not None:
            desired.append(computed[0])
    return desired


def plan_settings(ctx: SettingsContext) -> SettingsPlan:
    """What to apply, what waits for a restart and the rollout, for one SSVMSettings. Raises
    SettingsProblem when the declaration cannot be resolved."""
    spec, catalogue = ctx.spec, ctx.catalogue
    desired = desired_settings(spec, ctx.inventory, catalogue, ctx.pool_replicas, ctx.secrets)
    invalid = validate(desired, catalogue)
    desired = [as_stored(setting, catalogue) for setting in desired]
    if invalid:
        return SettingsPlan(invalid=tuple(invalid), desired=tuple(desired))
    applied = dict(ctx.applied)
    drifted = tuple(
        record.name
        for record in applied.values()
        if record.name in catalogue
        and not record.holds(catalogue[record.name].value)
        and any(d.name == record.name for d in desired)
    )
    todo = tuple(changes(desired, catalogue))
    refused: tuple[Refusal, ...] = ()
    if spec.mode is Mode.ENFORCE:
        refused = tuple(
            ctx.refused[s.name]
            for s in todo
            if s.name in ctx.refused and ctx.refused[s.name].holds(s, ctx.generation)
        )
        todo = tuple(s for s in todo if s.name not in {r.name for r in refused})
        applied.update(applied_by(todo, catalogue, ctx.applied, ctx.now))
    for setting in desired:  # values already in place are recorded too, so drift is noticed later
        if setting.name not in applied:
            entry = catalogue[setting.name]
            if same_value(entry.value, setting.value):
                applied[setting.name] = AppliedRecord.of(setting, entry.value, None, entry.is_dynamic)
    pending = tuple(r for r in applied.values() if pending_restart(r, ctx.servers))
    rollout = plan_rollout(
        spec, applied, ctx.servers, ctx.inventory, ctx.previous_rollout.active_zone, ctx.pools
    )
    return SettingsPlan(
        desired=tuple(desired),
        todo=todo,
        drifted=drifted,
        applied=applied,
        pending=pending,
        rollout=rollout,
        refused=refused,
    )


def applied_by(
    todo: Sequence[DesiredSetting],
    catalogue: Mapping[str, ConfigEntry],
    applied: Mapping[str, AppliedRecord],
    now: datetime,
) -> dict[str, AppliedRecord]:
    """The status.applied rows for `todo` once applied at `now`: the value before the operator's first
    change is kept, so Restore puts back what was there before the operator."""
    records = {}
    for setting in todo:
        entry = catalogue[setting.name]
        before = applied.get(setting.name)
        previous = before.previous_value if before is not None else entry.value
        records[setting.name] = AppliedRecord.of(setting, previous, now, entry.is_dynamic)
    return records


def pending_restart(record: AppliedRecord, servers: Sequence[ManagementServer]) -> bool:
    if record.dynamic or record.applied_at is None:
        return False
    return in_force_since(record.applied_at, [s.last_start for s in servers]) is None


_STRENGTH = (
    RolloutStrategy.RECONNECT,
    RolloutStrategy.REBOOT,
    RolloutStrategy.STOP_START,
    RolloutStrategy.RECREATE,
)
"""From least to most disruptive: each action applies what the ones before it apply."""


def least_disruptive(declared: RolloutStrategy, needed: Sequence[RolloutStrategy]) -> RolloutStrategy:
    """The least disruptive action that really applies every change: the strongest any changed key needs
    (nothing beyond the restart for a value sent at agent connect, a stop and start for a boot argument, a
    recreation for what is read only at creation), and never less than a declared Reboot or Recreate."""
    floor = [declared] if declared in _STRENGTH else []
    return max([*needed, *floor], key=_STRENGTH.index, default=RolloutStrategy.RECONNECT)


def plan_rollout(
    spec: SettingsSpec,
    applied: Mapping[str, AppliedRecord],
    servers: Sequence[ManagementServer],
    inventory: Inventory,
    active_zone: str | None,
    pools: Sequence[ZonePool] | None = None,
) -> RolloutStatus:
    """`pools`: the SSVMPools of the endpoint's CloudStack; None when not known (every zone is rolled)."""
    keys = [r for r in applied.values() if r.name in BOOT_TIME_KEYS and r.applied_at is not None]
    since_times = [
        in_force_since(r.applied_at, [s.last_start for s in servers]) for r in keys if r.applied_at
    ]
    in_force = [t for t in since_times if t is not None]
    if not keys or spec.rollout.strategy is RolloutStrategy.NONE:
        return RolloutStatus(RolloutPhase.IDLE)
    if not in_force:
        return RolloutStatus(RolloutPhase.WAITING_FOR_RESTART)
    since = max(in_force)
    strategy = least_disruptive(spec.rollout.strategy, [BOOT_TIME_KEYS[r.name].rollout for r in keys])
    settings = tuple(sorted(r.name for r in keys))
    if strategy is RolloutStrategy.RECONNECT:
        return _awaiting_agents(inventory, since, settings)
    stale = [vm for vm in inventory.ssvms if needs_rollout(vm, since)]
    zone_names = {z.id: z.name for z in inventory.zones}
    stale_by_zone: dict[str, list[str]] = {}
    for vm in stale:
        stale_by_zone.setdefault(zone_names.get(vm.zone_id, vm.zone_id), []).append(vm.name)
    settling = any(
        zone_names.get(vm.zone_id) == active_zone and vm.health is not Health.HEALTHY
        for vm in inventory.ssvms
    )
    zones, left = rollout_zones(stale_by_zone, pools, active_zone, settling)
    phase = RolloutPhase.ROLLING if zones else (RolloutPhase.PARTLY_DONE if left else RolloutPhase.DONE)
    return RolloutStatus(
        phase=phase,
        left=tuple(z.render() for z in left),
        strategy=strategy,
        max_unavailable=spec.rollout.max_unavailable,
        started_at=since,
        total=len(inventory.ssvms),
        done=len(inventory.ssvms) - len(stale),
        pending=tuple(sorted(vm.name for vm in stale)),
        active_zone=zones[0] if zones else None,
        settings=settings,
        maintenance_windows=spec.rollout.maintenance_windows,
    )


def _awaiting_agents(inventory: Inventory, since: datetime, settings: tuple[str, ...]) -> RolloutStatus:
    """Settings sent at agent connect: the restart that put them in force reconnected every agent, so no SSVM
    is rolled; the ones whose agent is not Up get them at their next connect (their pool repairs an agent
    that stays away). The inventory lists the SSVMs and the servers in one poll, and a restart takes far
    longer than one, so an agent shown Up with a server's new start is one that connected to it."""
    waiting = [vm for vm in inventory.ssvms if awaits_reconnect(vm, since)]
    return RolloutStatus(
        phase=RolloutPhase.WAITING_FOR_AGENTS if waiting else RolloutPhase.DONE,
        strategy=RolloutStrategy.RECONNECT,
        started_at=since,
        total=len(inventory.ssvms),
        done=len(inventory.ssvms) - len(waiting),
        pending=tuple(sorted(vm.name for vm in waiting)),
        settings=settings,
    )
