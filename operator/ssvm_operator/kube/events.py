"""Events go with a change of what the conditions say, not with every poll that finds the same thing.

The condition as last written in status is the record of what was already announced: an Event is posted
only when the condition does not already stand as it would now (`said_before`). Pools' refusals compare
with status.plannedActions the same way (kube/pools._announce).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from ssvm_operator.kube import conditions


def said_before(
    status: Mapping[str, Any],
    condition_type: str,
    *,
    status_text: str | None = None,
    reason: str | None = None,
    containing: str | None = None,
) -> bool:
    """Whether the condition as last written already stands at `status_text` with `reason`, or its
    message already contains `containing` (each only when given)."""
    before = conditions.find(status.get("conditions"), condition_type)
    if before is None:
        return False
    if status_text is not None and before.get("status") != status_text:
        return False
    if reason is not None and before.get("reason") != reason:
        return False
    return containing is None or containing in str(before.get("message") or "")


def announce(body: kopf.Body, reason: str, message: str, *, warning: bool = False) -> None:
    """One Event: a Warning when something needs attention, Normal otherwise."""
    if warning:
        kopf.warn(body, reason=reason, message=message)
    else:
        kopf.info(body, reason=reason, message=message)
