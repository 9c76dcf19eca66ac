"""What became of an action: the record behind every Event and every row of status.recentActions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ssvm_operator.plan.types import ActionKind


class Result(StrEnum):
    STARTED = "Started"
    """Submitted to CloudStack; its job is followed in status.inFlight."""
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    """Not needed any more when the target was re-read right before acting."""


@dataclass(frozen=True)
class Outcome:
    action: ActionKind
    result: Result
    message: str
    at: datetime
    vm_id: str | None = None
    vm_name: str | None = None
    job_id: str | None = None
    retryable: bool = True
    """For failures: whether trying again later may help (permanent errors stall the pool instead)."""
    agent_state: str | None = None
    """The SSVM's agent state CloudStack gave right before the action was sent: a reboot sent to an agent
    that was Up ends when the agent is seen leaving Up; one sent to an agent already away, when it is back."""
