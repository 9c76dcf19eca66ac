"""Status pieces of an SSVMSettings object: applied values, pending restarts, rollout progress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ssvm_operator.kube.conditions import parse_timestamp, timestamp
from ssvm_operator.plan.settings import DesiredSetting, value_hash


@dataclass(frozen=True)
class AppliedRecord:
    """What the operator did to one setting; the previous value is what Restore puts back."""

    name: str
    value: str | None
    """Shown value: None for secrets, whose hash is in value_hash."""
    value_hash: str
    secret: bool
    previous_value: str | None
    applied_at: datetime | None
    """When the operator changed it; None when CloudStack already held the declared value."""
    dynamic: bool = False

    @classmethod
    def from_status(cls, row: Mapping[str, Any]) -> AppliedRecord:
        return cls(
            name=str(row["name"]),
            value=row.get("value"),
            value_hash=str(row.get("valueHash", "")),
            secret=bool(row.get("secret", False)),
            previous_value=row.get("previousValue"),
            applied_at=parse_timestamp(row.get("appliedAt")),
            dynamic=bool(row.get("dynamic", False)),
        )

    @classmethod
    def of(
        cls, setting: DesiredSetting, previous: str | None, applied_at: datetime | None, dynamic: bool
    ) -> AppliedRecord:
        return cls(
            name=setting.name,
            value=None if setting.secret else setting.value,
            value_hash=value_hash(setting.value),
            secret=setting.secret,
            previous_value=None if setting.secret else previous,
            applied_at=applied_at,
            dynamic=dynamic,
        )

    def holds(self, current: str | None) -> bool:
        """Whether CloudStack still holds what the operator applied."""
        return value_hash(current) == self.value_hash or (not self.secret and current == self.value)

    def render(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "valueHash": self.value_hash, "secret": self.secret}
        if self.value is not None:
            row["value"] = self.value
        if self.previous_value is not None:
            row["previousValue"] = self.previous_value
        if self.applied_at is not None:
            row["appliedAt"] = timestamp(self.applied_at)
        row["dynamic"] = self.dynamic
        return row


def applied_from_status(status: Mapping[str, Any]) -> dict[str, AppliedRecord]:
    return {
        str(r["name"]): AppliedRecord.from_status(r) for r in status.get("applied") or () if r.get("name")
    }


def render_pending(pending: Sequence[AppliedRecord]) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "changedAt": timestamp(r.applied_at)} for r in pending if r.applied_at is not None
    ]
