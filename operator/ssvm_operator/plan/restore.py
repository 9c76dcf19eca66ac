"""deletionPolicy Restore held to its word: what the deletion of an SSVMSettings waits for, and what it says.

The finalizer keeps the object until the previous values are back in CloudStack, however long CloudStack is
unavailable or its endpoint missing: a GitOps prune during a management-server upgrade must not lose
settings silently. Only the user ends the wait without a restore: with the give-up annotation, or by
removing the finalizer by hand.

Pure: the failure and the object's names in, the condition and the command to give up out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ssvm_operator.model.settings import DeletionPolicy, SettingsSpec
from ssvm_operator.model.spec import Mode, SpecError

RESTORE_ABANDONED_ANNOTATION = "ssvm.cloudstack.io/skip-restore"
"""Set to "true" on an SSVMSettings being deleted: give the restore up and let the deletion finish."""
RESTORE_PENDING = "RestorePending"
RESTORE_ABANDONED = "RestoreAbandoned"


def restore_due(spec: Mapping[str, Any]) -> bool:
    """Whether deleting the object must put previous values back: deletionPolicy Restore, in Enforce mode
    (Observe never changed anything). A spec that does not parse was never applied either."""
    try:
        parsed = SettingsSpec.parse(spec)
    except SpecError:
        return False
    return parsed.deletion_policy is DeletionPolicy.RESTORE and parsed.mode is Mode.ENFORCE


def abandoned(annotations: Mapping[str, str] | None) -> bool:
    """Whether the user gave the restore up (the annotation set to "true")."""
    return str((annotations or {}).get(RESTORE_ABANDONED_ANNOTATION, "")).strip().lower() == "true"


@dataclass(frozen=True)
class RestoreHold:
    """Why the deletion waits, as the Ready condition and a Warning Event say it."""

    cause: str
    """The failure's condition reason (e.g. CloudStackUnreachable, EndpointNotFound)."""
    message: str
    needs_user: bool
    """Nothing changes by itself (the endpoint is gone, the keys are refused): Stalled=True."""


def restore_hold(
    cause: str,
    problem: str,
    settings: Iterable[str],
    namespace: str,
    name: str,
    *,
    needs_user: bool,
) -> RestoreHold:
    names = ", ".join(sorted(settings)) or "the settings this object changed"
    then = (
        "fix that and the restore runs" if needs_user else "the restore is retried until CloudStack answers"
    )
    message = (
        f"deletionPolicy Restore: {names} not restored yet ({problem}); the finalizer keeps this "
        f"SSVMSettings until they are: {then}. To give up and leave CloudStack as it is: kubectl annotate -n "
        f"{namespace} ssvmsettings {name} {RESTORE_ABANDONED_ANNOTATION}=true"
    )
    return RestoreHold(cause, message, needs_user)
