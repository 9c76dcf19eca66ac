"""The last check before an upgrade action: the SSVM re-read right before the call may be done already."""

from __future__ import annotations

from ssvm_operator.model.snapshot import SystemVm
from ssvm_operator.plan.types import ActionKind, PlannedAction


def upgraded_already(action: PlannedAction, current: SystemVm) -> str | None:
    """Why the re-read SSVM no longer needs its patch, or None. A patch whose job ended while the operator
    was down is seen here as an agent already on the target release: it is never sent a second time."""
    if action.kind is not ActionKind.UPGRADE_PATCH or action.target_version is None:
        return None
    if current.agent_version == action.target_version:
        return f"its agent already runs {action.target_version}"
    return None
