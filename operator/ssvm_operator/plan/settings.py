"""Pure decisions for SSVMSettings: validate, diff, standby capacity, pending restarts, rollout scope.

Facts used (cloudstack-contract.md §1.4, §4, §5): most secstorage.* keys are Global and non-dynamic, read when
a management server starts, and reach an SSVM only when its agent connects after a (re)boot.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ssvm_operator.model.config import ConfigEntry
from ssvm_operator.model.settings import CAPACITY_STANDBY_KEY, SESSION_MAX_KEY, RolloutStrategy
from ssvm_operator.model.snapshot import SystemVm
from ssvm_operator.model.standby import (
    CAPACITY_STANDBY_DEFAULT,
    SESSION_MAX_DEFAULT,
    ssvms_per_zone,
    standby_for,
)


@dataclass(frozen=True)
class BootTimeKey:
    rollout: RolloutStrategy
    """The least disruptive way to make a running SSVM pick the new value up."""
    source: str
    """Where CloudStack hands the value to the SSVM."""


# Keys an SSVM picks up only at boot or agent connect, that the operator rolls out
# (cloudstack-contract.md §4.1, checked by tests/unit/test_boot_time_settings.py).
BOOT_TIME_KEYS: Mapping[str, BootTimeKey] = {
    # Sent on every agent connect (SecondaryStorageListener.processConnect -> generateVMSetupCommand) from the
    # copy the server read at its start (SecondaryStorageManagerImpl.configure). Every agent reconnects when
    # its server stops (AgentManagerImpl.stop), and an agent Up now is connected to a running server, since
    # that server's start: once every running server started after the change, an Up agent has the value.
    "secstorage.allowed.internal.sites": BootTimeKey(
        RolloutStrategy.RECONNECT, "SecondaryStorageManagerImpl.generateVMSetupCommand, on agent connect"
    ),
    # Boot arguments are built only when the VM starts (finalizeVirtualMachineProfile, from orchestrateStart);
    # RebootCommand carries none, so only a stop and a start applies them.
    "secstorage.vm.mtu.size": BootTimeKey(
        RolloutStrategy.STOP_START,
        "SecondaryStorageManagerImpl.finalizeVirtualMachineProfile, boot argument mtu=",
    ),
    "secstorage.nfs.version": BootTimeKey(
        RolloutStrategy.STOP_START, "setup command on agent connect and boot argument nfsVersion="
    ),
    "secstorage.encrypt.copy": BootTimeKey(
        RolloutStrategy.RECREATE, "SecondaryStorageManagerImpl.configure, boot argument sslcopy="
    ),
    "secstorage.service.offering": BootTimeKey(
        RolloutStrategy.RECREATE, "SecondaryStorageManagerImpl.configure, the offering of a new SSVM"
    ),
}


@dataclass(frozen=True)
class DesiredSetting:
    name: str
    value: str | None
    secret: bool = False
    field: str = "settings"
    """Where in the spec the value comes from, for error messages."""

    @property
    def shown(self) -> str | None:
        """What status may show: the value, or a hash for secrets."""
        return value_hash(self.value) if self.secret else self.value


@dataclass(frozen=True)
class Invalid:
    field: str
    message: str


def value_hash(value: str | None) -> str:
    return "sha256:" + hashlib.sha256((value or "").encode()).hexdigest()[:16]


def validate(desired: Iterable[DesiredSetting], catalogue: Mapping[str, ConfigEntry]) -> list[Invalid]:
    """Unknown keys and values of the wrong type, checked like updateConfiguration checks them."""
    problems = []
    for setting in desired:
        entry = catalogue.get(setting.name)
        if entry is None:
            problems.append(
                Invalid(
                    setting.field, f"{setting.name} does not exist in this CloudStack (listConfigurations)"
                )
            )
            continue
        type_problem = _type_problem(entry.type, setting.value)
        if type_problem:
            shown = "<secret>" if setting.secret else repr(setting.value)
            problems.append(Invalid(setting.field, f"{setting.name}: value {shown} {type_problem}"))
    return problems


def _type_problem(kind: str | None, value: str | None) -> str | None:
    if value is None or kind is None:
        return None
    if kind in ("Number", "Integer", "Long", "Short"):
        try:
            int(value)
        except ValueError:
            return "is not a whole number"
    elif kind in ("Decimal", "Float", "Double"):
        try:
            if math.isinf(float(value)):
                return "is not a finite number"
        except ValueError:
            return "is not a number"
    elif kind == "Boolean" and value.lower() not in ("true", "false"):
        return "is not true or false"
    return None


def same_value(current: str | None, wanted: str | None) -> bool:
    """CloudStack stores "" and "null" at Global scope as NULL (ConfigurationManagerImpl)."""
    return _normal(current) == _normal(wanted)


def _normal(value: str | None) -> str | None:
    if value is None or value.strip() in ("", "null"):
        return None
    return value.strip()


def changes(desired: Iterable[DesiredSetting], catalogue: Mapping[str, ConfigEntry]) -> list[DesiredSetting]:
    return [s for s in desired if s.name in catalogue and not same_value(catalogue[s.name].value, s.value)]


def standby_settings(
    pool_replicas: Iterable[int], catalogue: Mapping[str, ConfigEntry]
) -> tuple[DesiredSetting, int] | None:
    """The standby setting every pool of the endpoint needs, or None when no pool asks for more than one."""
    wanted = max((r for r in pool_replicas), default=1)
    session_max = _int(catalogue.get(SESSION_MAX_KEY), SESSION_MAX_DEFAULT)
    current = _int(catalogue.get(CAPACITY_STANDBY_KEY), CAPACITY_STANDBY_DEFAULT)
    if wanted <= 1 and ssvms_per_zone(session_max, current) <= 1:
        return None
    value = standby_for(wanted, session_max, current)
    return DesiredSetting(CAPACITY_STANDBY_KEY, str(value), field="(computed from SSVMPool replicas)"), wanted


def _int(entry: ConfigEntry | None, default: int) -> int:
    try:
        return int(entry.value) if entry and entry.value is not None else default
    except ValueError:
        return default


def in_force_since(changed_at: datetime, server_starts: Sequence[datetime | None]) -> datetime | None:
    """When a non-dynamic change made at `changed_at` is in force everywhere: once every management server
    has started after it (each holds its own copy, read at its own start), at the latest of those starts."""
    if not server_starts or any(start is None or start <= changed_at for start in server_starts):
        return None
    return max(start for start in server_starts if start is not None)


def booted_at(vm: SystemVm) -> datetime | None:
    """The last time the SSVM's agent (re)connected and received the settings in force: its creation, or
    its last disconnect (a reboot disconnects the agent, and the reconnect sends the setup command)."""
    candidates = [t for t in (vm.created, vm.last_disconnected) if t is not None]
    return max(candidates) if candidates else None


def needs_rollout(vm: SystemVm, since: datetime) -> bool:
    booted = booted_at(vm)
    return booted is None or booted < since


def awaits_reconnect(vm: SystemVm, since: datetime) -> bool:
    """A value sent at agent connect has not reached the SSVM yet: it existed before the value took effect and
    its agent is not Up, so it is not connected to a server holding the value (its next connect delivers it).
    An Up agent is connected to a running server since after that server's start, and by `since` every running
    server started after the change. An SSVM created later gets the value at its first connect."""
    created_before = vm.created is None or vm.created < since
    return created_before and vm.agent_state != "Up"
