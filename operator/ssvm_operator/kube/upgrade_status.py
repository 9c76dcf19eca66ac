"""What an SSVMPool's status says about CloudStack upgrades and maintenance windows.

- each status.ssvms row gains the agent's version, the template and whether both are current;
- status.outdatedReplicas and the UpToDate condition count the SSVMs left behind by an upgrade;
- status.upgrade.rolling marks the pool whose zone the endpoint's upgrade rolls now: every pool of the
  endpoint reads it (kube/handlers.py upgrade_turns) so only one zone rolls at a time, and it survives an
  operator restart because it lives in status;
- status.waitingForWindow and the MaintenanceWindow condition show work held for the next window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.reasons import ConditionType
from ssvm_operator.model.maintenance import Windows
from ssvm_operator.model.snapshot import Health, Inventory
from ssvm_operator.model.spec import PoolSpec, UpgradeStrategy
from ssvm_operator.plan.currency import currency, outdated
from ssvm_operator.plan.maintenance import waiting_for_window
from ssvm_operator.plan.replicas import kept_by_cloudstack
from ssvm_operator.plan.types import InFlight, Plan
from ssvm_operator.plan.upgrade import UPGRADE_ACTIONS, upgrade_turn

__all__ = [
    "UpgradeReason",
    "currency_columns",
    "rolling",
    "up_to_date",
    "upgrade_turn",
    "was_rolling",
    "window_status",
]


class UpgradeReason(StrEnum):
    """Reasons of the UpToDate and MaintenanceWindow conditions."""

    UP_TO_DATE = "UpToDate"
    OUTDATED = "OutdatedSSVMs"
    NO_SSVMS = "NoSSVMs"
    WINDOW_OPEN = "Open"
    WINDOW_CLOSED = "Closed"


def currency_columns(plan: Plan, inventory: Inventory) -> dict[str, dict[str, Any]]:
    """By SSVM id: the columns each status.ssvms row gains."""
    columns = {}
    for view in plan.vms:
        vm = view.vm
        found = currency(vm, inventory)
        row: dict[str, Any] = {
            "agentVersion": vm.agent_version,
            "templateId": vm.template_id,
            "templateName": vm.template_name,
            "upToDate": found.current,
        }
        columns[vm.id] = {k: v for k, v in row.items() if v is not None}
    return columns


def up_to_date(plan: Plan, inventory: Inventory, spec: PoolSpec) -> tuple[int, Condition]:
    behind = outdated((v.vm for v in plan.vms), inventory)
    version = inventory.management_server_version or "unknown"
    if not plan.vms:
        return 0, Condition(
            ConditionType.UP_TO_DATE, None, UpgradeReason.NO_SSVMS, "the zone has no SSVM to compare"
        )
    if not behind:
        return 0, Condition(
            ConditionType.UP_TO_DATE,
            True,
            UpgradeReason.UP_TO_DATE,
            f"every SSVM runs the management servers' release {version}",
        )
    names = "; ".join(f"{vm.name}: {found.reason(vm)}" for vm, found in behind)
    hint = (
        "spec.upgrade.strategy is None: patch or recreate them, or set a strategy"
        if spec.upgrade is UpgradeStrategy.NONE
        else f"spec.upgrade.strategy {spec.upgrade} rolls them"
    )
    return len(behind), Condition(
        ConditionType.UP_TO_DATE,
        False,
        UpgradeReason.OUTDATED,
        f"{len(behind)} SSVM(s) behind release {version} ({names}); {hint}",
    )


def window_status(
    spec: PoolSpec, rollout_windows: Windows, plan: Plan, now: datetime
) -> tuple[int, Condition | None]:
    """(actions waiting for a window, the MaintenanceWindow condition); no condition without windows."""
    waiting = waiting_for_window([a.blocked for a in plan.actions])
    windows = spec.maintenance_windows
    if not windows and not rollout_windows:
        return waiting, None
    if windows.is_open(now):
        ends = windows.closes_at(now)
        until = f" until {ends.isoformat(timespec='minutes')}" if ends else ""
        return waiting, Condition(
            ConditionType.MAINTENANCE_WINDOW,
            True,
            UpgradeReason.WINDOW_OPEN,
            f"voluntary work may run{until}",
        )
    opening = windows.next_opening(now)
    when = opening.isoformat(timespec="minutes") if opening else "never"
    message = f"{waiting} action(s) wait for the next window, which opens at {when}"
    return waiting, Condition(ConditionType.MAINTENANCE_WINDOW, False, UpgradeReason.WINDOW_CLOSED, message)


def rolling(
    spec: PoolSpec,
    plan: Plan,
    inventory: Inventory,
    in_flight: Sequence[InFlight],
    turn: str | None,
    was_rolling: bool,
) -> bool:
    """Whether this pool's zone holds the endpoint's upgrade turn: from its first upgrade action until every
    SSVM of the zone is Up on the new release."""
    if spec.upgrade is UpgradeStrategy.NONE or not spec.acts or plan.zone is None:
        return False
    if any(f.action in UPGRADE_ACTIONS for f in in_flight):
        return True
    behind = outdated((v.vm for v in plan.vms), inventory)
    if behind and turn in (None, spec.zone):
        # Claimed by the first upgrade action that would run (Observe mode aside: it acts on nothing).
        return was_rolling or any(a.kind in UPGRADE_ACTIONS and a.blocked is None for a in plan.actions)
    if not was_rolling:
        return False
    expected = kept_by_cloudstack(plan.zone, spec.replicas, inventory.standby_replicas)
    settled = len(plan.vms) >= expected and all(v.health is Health.HEALTHY for v in plan.vms)
    return not settled


def was_rolling(status: Mapping[str, Any]) -> bool:
    return bool((status.get("upgrade") or {}).get("rolling"))
