"""kstatus-style conditions (Ready, Reconciling, Stalled, ...) that Flux and Argo CD read without plugins.

lastTransitionTime moves only when a condition's status changes, so `kubectl describe` tells how long a
pool has been in its state.

Stalled, Reconciling, Degraded and Paused follow kstatus's "abnormal-true" polarity: they say something only
when True, and their absence means normal, so they are left out while False (cli-utils
pkg/kstatus/README.md). `kubectl describe` then shows the conditions that matter and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ABNORMAL_TRUE = frozenset({"Stalled", "Reconciling", "Degraded", "Paused"})
"""Condition types written only while True; absent means False."""


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool | None
    reason: str
    message: str

    @property
    def status_text(self) -> str:
        return "Unknown" if self.status is None else ("True" if self.status else "False")


def render(
    conditions: Iterable[Condition],
    previous: Iterable[Mapping[str, Any]] | None,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    earlier = {c.get("type"): c for c in previous or ()}
    rendered = []
    for condition in conditions:
        if condition.type in ABNORMAL_TRUE and condition.status is False:
            continue
        before = earlier.get(condition.type)
        status = condition.status_text
        transition = timestamp(now)
        if before is not None and before.get("status") == status and before.get("lastTransitionTime"):
            transition = str(before["lastTransitionTime"])
        item: dict[str, Any] = {
            "type": str(condition.type),
            "status": status,
            "reason": str(condition.reason),
            "message": condition.message,
            "lastTransitionTime": transition,
        }
        if generation is not None:
            item["observedGeneration"] = generation
        rendered.append(item)
    return rendered


def find(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type_), None)


def timestamp(value: datetime) -> str:
    """RFC 3339 in UTC, as Kubernetes writes times."""
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
