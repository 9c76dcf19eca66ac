"""Maintenance-window stage: voluntary disruptions of serving SSVMs wait for an open window.

Voluntary means a candidate of Purpose.VOLUNTARY: offering changes, settings rollouts, surplus removal of a
healthy SSVM, upgrade rolls. Repairs (Purpose.REMEDIATION) and zone toggles never wait: an SSVM that is
already broken serves nobody, and waiting for the night would only keep the zone without it longer.
The pool's windows gate every voluntary action; an SSVMSettings' rollout windows gate its rollout actions
as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ssvm_operator.model.maintenance import Windows
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.types import TRAITS

OUTSIDE_WINDOW = "outside the maintenance window"
"""How every held action's `blocked` sentence starts (kube/pool_status counts them by it)."""


def hold_outside_windows(
    candidates: Sequence[Candidate], pool: Windows, rollout: Windows, now: datetime
) -> list[Candidate]:
    pool_hold = pool.blocked(now)
    rollout_hold = rollout.blocked(now)
    held = []
    for candidate in candidates:
        if candidate.purpose is not Purpose.VOLUNTARY:
            held.append(candidate)
            continue
        reason = pool_hold
        if reason is None and TRAITS[candidate.action.kind].rollout:
            reason = rollout_hold
        held.append(replace(candidate, held=reason) if reason else candidate)
    return held


def waiting_for_window(blocked: Sequence[str | None]) -> int:
    """How many planned actions wait for a window (a closed window is named before any other hold)."""
    return sum(1 for b in blocked if b is not None and OUTSIDE_WINDOW in b)
