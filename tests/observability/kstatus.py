"""kstatus's `Compute`, the health Flux (kustomize-controller `wait`/`healthChecks`, helm-controller) gives a
custom resource, ported line by line from kubernetes-sigs/cli-utils `pkg/kstatus/status` (status.go
`Compute` and `checkReadyCondition`, generic.go `checkGenericProperties` and `checkGeneration`).

Only the path a custom resource takes is ported: `GetLegacyConditionsFn` (core.go) knows built-in kinds only
and returns nothing for ours, so Compute goes from the generic checks straight to the Ready fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IN_PROGRESS = "InProgress"
FAILED = "Failed"
CURRENT = "Current"
TERMINATING = "Terminating"


@dataclass(frozen=True)
class Result:
    status: str
    message: str


class NotAnInteger(ValueError):
    """unstructured.NestedInt64 fails when the field holds something other than an integer."""


def _nested_int(obj: Mapping[str, Any], *path: str) -> int | None:
    value: Any = obj
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotAnInteger(f"{'.'.join(path)} is {value!r}")
    return value


def _conditions(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((obj.get("status") or {}).get("conditions") or ())


def compute(obj: Mapping[str, Any]) -> Result:
    """status.Compute for a kind kstatus has no built-in rules for."""
    result = check_generic_properties(obj)
    if result is not None:
        return result
    # GetLegacyConditionsFn(u) is nil for every custom resource.
    result = check_ready_condition(obj)
    if result is not None:
        return result
    return Result(CURRENT, "Resource is current")


def check_generic_properties(obj: Mapping[str, Any]) -> Result | None:
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return Result(TERMINATING, "Resource scheduled for deletion")
    result = check_generation(obj)
    if result is not None:
        return result
    # The first Reconciling=True or Stalled=True in list order decides.
    for condition in _conditions(obj):
        if condition.get("type") == "Reconciling" and condition.get("status") == "True":
            return Result(IN_PROGRESS, str(condition.get("message") or ""))
        if condition.get("type") == "Stalled" and condition.get("status") == "True":
            return Result(FAILED, str(condition.get("message") or ""))
    return None


def check_generation(obj: Mapping[str, Any]) -> Result | None:
    generation = _nested_int(obj, "metadata", "generation")
    if generation is None:
        return None
    observed = _nested_int(obj, "status", "observedGeneration")
    if observed is not None and observed != generation:
        kind = obj.get("kind", "")
        return Result(
            IN_PROGRESS, f"{kind} generation is {generation}, but latest observed generation is {observed}"
        )
    return None


def check_ready_condition(obj: Mapping[str, Any]) -> Result | None:
    for condition in _conditions(obj):
        if condition.get("type") != "Ready":
            continue
        status = condition.get("status")
        if status == "True":
            return Result(CURRENT, "Resource is Ready")
        if status in ("False", "Unknown"):
            return Result(IN_PROGRESS, str(condition.get("message") or ""))
    return None
