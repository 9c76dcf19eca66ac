"""A proposed action, before the safety contract (budget.py) decides whether it may run now."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ssvm_operator.plan.types import PlannedAction


class Purpose(StrEnum):
    """Which part of the disruption budget an action draws on."""

    ZONE = "Zone"
    """Enables or disables SSVMs in the zone: touches no SSVM, needs no budget."""
    REMEDIATION = "Remediation"
    """Acts on an SSVM that is not serving: needs operator disruptions in use < maxUnavailable."""
    VOLUNTARY = "Voluntary"
    """Takes a serving SSVM out of service: needs disruptions plus unavailable SSVMs < maxUnavailable."""


@dataclass(frozen=True)
class Candidate:
    action: PlannedAction
    """Always unblocked here; the safety contract fills `blocked`."""
    purpose: Purpose
    held: str | None = None
    """Why the action cannot run whatever the budget (pool policy, rollout order), or None."""
