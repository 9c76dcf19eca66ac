"""The status of a settings rollout: how far boot-time settings have reached the SSVMs, written on the
SSVMSettings and read by every SSVMPool of the endpoint as its rollout request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ssvm_operator.model.maintenance import WindowError, Windows, parse_windows
from ssvm_operator.model.settings import RolloutStrategy
from ssvm_operator.plan.types import RolloutRequest


class RolloutPhase(StrEnum):
    """status.rollout.phase of an SSVMSettings."""

    IDLE = "Idle"
    """No boot-time setting was changed by the operator, or rollout.strategy is None."""
    WAITING_FOR_RESTART = "WaitingForRestart"
    """A boot-time setting changed, and not every management server has started since."""
    ROLLING = "Rolling"
    """SSVMs booted before the change are being rebooted or recreated by their SSVMPools."""
    WAITING_FOR_AGENTS = "WaitingForAgents"
    """Every changed setting is sent at agent connect and the restart delivered it to the agents that
    reconnected; the SSVMs whose agent is not Up get it when it connects. Nothing to roll."""
    PARTLY_DONE = "PartlyDone"
    """Every zone the operator may roll is done; some zones are left out (status.rollout.left)."""
    DONE = "Done"
    """Every SSVM runs with the settings in force."""


@dataclass(frozen=True)
class RolloutStatus:
    """status.rollout of an SSVMSettings: written by the settings reconcile, read by every SSVMPool of the
    endpoint as its rollout request. kube/settings_status.py renders and parses it."""

    phase: RolloutPhase
    left: tuple[Mapping[str, Any], ...] = ()
    """The zones left out, as rendered by plan/rollout_scope.LeftZone.render."""
    strategy: RolloutStrategy | None = None
    max_unavailable: int | None = None
    started_at: datetime | None = None
    """When the boot-time settings came into force on every management server."""
    total: int = 0
    done: int = 0
    pending: tuple[str, ...] = ()
    active_zone: str | None = None
    settings: tuple[str, ...] = ()
    maintenance_windows: tuple[Mapping[str, Any], ...] = ()
    """spec.rollout.maintenanceWindows as declared: the pools' rollout actions wait for them too."""

    def request(self) -> RolloutRequest | None:
        """The planner's rollout input for the endpoint's pools; None unless Rolling."""
        if self.phase is not RolloutPhase.ROLLING or self.started_at is None:
            return None
        return RolloutRequest(
            since=self.started_at,
            recreate=self.strategy is RolloutStrategy.RECREATE,
            restart=self.strategy is RolloutStrategy.STOP_START,
            max_unavailable=self.max_unavailable or 1,
            active_zone=self.active_zone,
            settings=self.settings,
            windows=rollout_windows(self.maintenance_windows),
        )


def rollout_windows(raw: Sequence[Mapping[str, Any]]) -> Windows:
    """Validated when the SSVMSettings was parsed; a window that no longer parses gates nothing."""
    try:
        return parse_windows(list(raw), "rollout.maintenanceWindows")
    except WindowError:
        return Windows()
