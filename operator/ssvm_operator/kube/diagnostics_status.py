"""Status pieces of the pool's diagnostics: status.diagnostics (the latest check per SSVM and target) and
status.diagnosticsRun (when the last round ran, which request it served), rendered and parsed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ssvm_operator.kube import conditions
from ssvm_operator.model.diagnostics import PING, Check, Target, TargetRole
from ssvm_operator.model.spec import PoolSpec
from ssvm_operator.plan.diagnostics_schedule import next_round


@dataclass(frozen=True)
class RoundRecord:
    """status.diagnosticsRun: when the last round ran and which diagnose request it served."""

    last_run: datetime | None = None
    served_request: str | None = None
    error: str | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> RoundRecord:
        raw = status.get("diagnosticsRun") or {}
        return cls(
            last_run=conditions.parse_timestamp(raw.get("lastRunTime")),
            served_request=raw.get("servedRequest"),
            error=raw.get("lastError"),
        )

    def faulty(self, checks: Iterable[Check]) -> bool:
        return self.error is not None or any(c.reachable is not True for c in checks)

    def render(self, spec: PoolSpec, checks: Sequence[Check]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.last_run is not None:
            out["lastRunTime"] = conditions.timestamp(self.last_run)
            upcoming = next_round(spec.diagnostics, self.last_run, self.faulty(checks))
            out["nextRunAfter"] = conditions.timestamp(upcoming)
        if self.served_request is not None:
            out["servedRequest"] = self.served_request
        if self.error is not None:
            out["lastError"] = self.error
        return out


def render_checks(checks: Iterable[Check]) -> list[dict[str, Any]]:
    rows = []
    for check in checks:
        row: dict[str, Any] = {
            "ssvm": check.ssvm_name,
            "ssvmId": check.ssvm_id,
            "target": check.target.address,
            "targetName": check.target.name,
            "role": check.target.role.value,
            "kind": check.kind,
            "reachable": check.reachable,
            "latencyMs": check.latency_ms,
            "error": check.error,
            "checkedAt": conditions.timestamp(check.checked_at),
            "unreachableSince": (
                conditions.timestamp(check.unreachable_since) if check.unreachable_since else None
            ),
        }
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


def checks_from_status(status: Mapping[str, Any]) -> list[Check]:
    checks = []
    for row in status.get("diagnostics") or ():
        checked_at = conditions.parse_timestamp(row.get("checkedAt"))
        try:
            role = TargetRole(row.get("role"))
        except ValueError:
            continue
        if checked_at is None or not row.get("ssvmId") or not row.get("target"):
            continue
        latency = row.get("latencyMs")
        checks.append(
            Check(
                ssvm_id=str(row["ssvmId"]),
                ssvm_name=str(row.get("ssvm") or row["ssvmId"]),
                target=Target(str(row["target"]), role, row.get("targetName")),
                checked_at=checked_at,
                reachable=row.get("reachable") if isinstance(row.get("reachable"), bool) else None,
                latency_ms=float(latency) if isinstance(latency, int | float) else None,
                error=row.get("error"),
                unreachable_since=conditions.parse_timestamp(row.get("unreachableSince")),
                kind=str(row.get("kind") or PING),
            )
        )
    return checks
