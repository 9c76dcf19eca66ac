"""How many SSVMs CloudStack keeps per zone, from its two global standby settings (one home for the
formula and the defaults; docs/cloudstack-contract.md, "How many SSVMs CloudStack keeps").

PremiumSecondaryStorageManagerImpl keeps, without command-execution load, the smallest R >= 1 with
R * secstorage.session.max >= secstorage.capacity.standby (defaults 50 and 10, Config.java).
"""

from __future__ import annotations

import math

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
