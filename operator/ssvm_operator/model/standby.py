"""How many SSVMs per zone CloudStack's scanner keeps: the values its management servers read at their start.

`secstorage.session.max` and `secstorage.capacity.standby` are read once, in
`PremiumSecondaryStorageManagerImpl.configure()`, so a change in the database rules only after every running
management server restarted; until then each server's scanner keeps the count from the values it started with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ssvm_operator.model.settings import CAPACITY_STANDBY_KEY, SESSION_MAX_KEY

# Defaults of the settings that decide how many SSVMs CloudStack keeps (Config.java).
DEFAULT_SESSION_MAX = 50
DEFAULT_CAPACITY_STANDBY = 10
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
    session_max = max(1, int_setting(settings, SESSION_MAX_KEY, DEFAULT_SESSION_MAX))
    standby = max(0, int_setting(settings, CAPACITY_STANDBY_KEY, DEFAULT_CAPACITY_STANDBY))
    return max(1, math.ceil(standby / session_max))


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
