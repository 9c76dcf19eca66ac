"""How many SSVMs CloudStack keeps per zone, from its two global standby settings (one home for the
formula and the defaults; docs/cloudstack-contract.md, "How many SSVMs CloudStack keeps").

PremiumSecondaryStorageManagerImpl keeps, without command-execution load, the smallest R >= 1 with
R * secstorage.session.max >= secstorage.capacity.standby (defaults 50 and 10, Config.java).

The values in force are those each management server read at its start (`PremiumSecondaryStorageManagerImpl
.configure()`), so a change in the database rules only once every running server restarted
(`StandbyInForce`, cloud/standby_history.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ssvm_operator.model.settings import CAPACITY_STANDBY_KEY, SESSION_MAX_KEY

SESSION_MAX_DEFAULT = 50
"""secstorage.session.max when CloudStack reports no value (Config.java)."""
CAPACITY_STANDBY_DEFAULT = 10
"""secstorage.capacity.standby when CloudStack reports no value (Config.java)."""


def ssvms_per_zone(session_max: int, standby: int) -> int:
    """Steady-state SSVMs per zone: the smallest R >= 1 with R * session_max >= standby."""
    return max(1, math.ceil(max(0, standby) / max(1, session_max)))


def standby_for(replicas: int, session_max: int, current_standby: int) -> int:
    """The secstorage.capacity.standby that makes CloudStack keep `replicas` SSVMs per zone: the current
    value when it already gives `replicas`, else the smallest that does, (replicas - 1) * S + 1."""
    session_max = max(1, session_max)
    replicas = max(1, replicas)
    if ssvms_per_zone(session_max, current_standby) == replicas:
        return current_standby
    if replicas == 1:
        return session_max
    return (replicas - 1) * session_max + 1


STANDBY_KEYS = (SESSION_MAX_KEY, CAPACITY_STANDBY_KEY)


def int_setting(settings: Mapping[str, str | None], name: str, default: int) -> int:
    try:
        return int(str(settings.get(name)))
    except ValueError:
        return default


def standby_replicas(settings: Mapping[str, str | None]) -> int:
    """Steady-state SSVMs per zone: the smallest R >= 1 with R * session.max >= capacity.standby (§1.4).

    Assumes no command-execution load (KVM/XenServer without data migration).
    """
    session_max = int_setting(settings, SESSION_MAX_KEY, SESSION_MAX_DEFAULT)
    standby = int_setting(settings, CAPACITY_STANDBY_KEY, CAPACITY_STANDBY_DEFAULT)
    return ssvms_per_zone(session_max, standby)


@dataclass(frozen=True)
class StandbyInForce:
    """The standby count the running management servers use, beside the one the database holds."""

    in_force: int
    """The most SSVMs per zone any running server's scanner keeps: what the operator plans with."""
    database: int
    """What the database values give: in force once every running server restarted."""
    waiting_for: tuple[str, ...] = ()
    """Running management servers that started before the database values changed."""
    changed: tuple[str, ...] = ()
    """The standby settings whose database value differs from what those servers read."""
    in_force_values: Mapping[str, str | None] | None = None
    """The values those servers read, by name; None when every server reads the database values."""

    @property
    def restart_pending(self) -> bool:
        return bool(self.waiting_for) and self.in_force != self.database

    def describe(self) -> str:
        """E.g. `secstorage.capacity.standby 51 → 50 ... until ms-1 restarts`."""
        old = self.in_force_values or {}
        changes = ", ".join(f"{name} is {old.get(name)} in force" for name in self.changed)
        servers = ", ".join(self.waiting_for)
        return (
            f"{changes} (read at each management server's start), so CloudStack keeps {self.in_force} "
            f"SSVM(s) per zone, not the {self.database} of the database values, until management "
            f"server(s) {servers} restart"
        )
