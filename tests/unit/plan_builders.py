"""Builders for planner tests: a zone, its SSVMs, a pool spec and a planning context, one line each."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ssvm_operator.model.snapshot import Inventory, Offering, SystemVm, Zone
from ssvm_operator.model.spec import HealthPolicy, Mode, PoolSpec, Remediation
from ssvm_operator.plan import plan_pool
from ssvm_operator.plan.types import ActionKind, InFlight, Plan, PlannedAction, PoolContext, VmMemory

NOW = datetime(2025, 10, 30, 12, 0, tzinfo=UTC)
ZONE_ID = "zone-1-id"
ZONE_NAME = "zone1"

STANDARD = Offering("off-std", "System Offering For Secondary Storage VM", True, "secondarystoragevm")
LARGE = Offering("off-large", "SSVM Large", True, "secondarystoragevm")
ROUTER = Offering("off-router", "System Offering For Software Router", True, "domainrouter")
USER_SMALL = Offering("off-small", "Small Instance", False, None)
OFFERINGS = (STANDARD, LARGE, ROUTER, USER_SMALL)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def zone(**overrides: Any) -> Zone:
    delivered = {
        key: as_delivered(value) if isinstance(value, str) else value for key, value in overrides.items()
    }
    return replace(Zone(id=ZONE_ID, name=ZONE_NAME), **delivered)


def as_delivered(text: str | None) -> str | None:
    """A string as CloudStack's JSON delivers it: a new object, not the interned literal, so comparing by
    identity (`state is "Running"`) fails here as it does in the operator."""
    return None if text is None else str(json.loads(json.dumps(text)))


def ssvm(
    number: int,
    state: str = "Running",
    agent: str | None = "Up",
    *,
    zone_id: str = ZONE_ID,
    offering: str | None = STANDARD.id,
    created_ago: float | None = None,
    job: str | None = None,
) -> SystemVm:
    """SSVM number n is s-n-VM with id vm-n; by default created n hours before NOW (higher n = newer)."""
    created = ago(created_ago if created_ago is not None else 3600 * (100 - number))
    return SystemVm(
        id=f"vm-{number}",
        name=f"s-{number}-VM",
        zone_id=zone_id,
        state=as_delivered(state),
        agent_state=as_delivered(agent),
        offering_id=offering,
        offering_name=next((o.name for o in OFFERINGS if o.id == offering), None),
        created=created,
        pending_job_id=job,
    )


def inventory(*vms: SystemVm, zones: tuple[Zone, ...] | None = None, standby: int = 1) -> Inventory:
    return Inventory(
        observed_at=NOW,
        zones=zones if zones is not None else (zone(),),
        ssvms=vms,
        offerings=OFFERINGS,
        standby_replicas=standby,
    )


def spec(
    *,
    replicas: int = 1,
    offering: str | None = None,
    remediation: Remediation = Remediation.RECREATE,
    max_unavailable: int = 1,
    grace: float = 300,
    reboot_timeout: float = 600,
    paused: bool = False,
    mode: Mode = Mode.ENFORCE,
    zone_name: str = ZONE_NAME,
) -> PoolSpec:
    return PoolSpec(
        endpoint="cloud",
        zone=zone_name,
        replicas=replicas,
        service_offering=offering,
        health=HealthPolicy(
            unhealthy_after_seconds=grace,
            remediation=remediation,
            max_unavailable=max_unavailable,
            reboot_timeout_seconds=reboot_timeout,
        ),
        paused=paused,
        mode=mode,
    )


def flight(kind: ActionKind, number: int | None, started_ago: float = 10) -> InFlight:
    return InFlight(
        action=kind,
        vm_id=f"vm-{number}" if number is not None else None,
        vm_name=f"s-{number}-VM" if number is not None else None,
        job_id=f"job-{kind.value}-{number}",
        started_at=ago(started_ago),
    )


def unhealthy_for(seconds: float) -> VmMemory:
    return VmMemory(unhealthy_since=ago(seconds))


def remediated(kind: ActionKind, seconds_ago: float, unhealthy_seconds: float | None = None) -> VmMemory:
    since = unhealthy_seconds if unhealthy_seconds is not None else seconds_ago + 300
    return VmMemory(unhealthy_since=ago(since), last_remediation=kind, last_remediation_at=ago(seconds_ago))


def context(
    inv: Inventory,
    pool: PoolSpec | None = None,
    *,
    memory: Mapping[int, VmMemory] | None = None,
    in_flight: tuple[InFlight, ...] = (),
    **fields: Any,
) -> PoolContext:
    """A planning context at NOW, with memory given by SSVM number."""
    return PoolContext(
        spec=pool or spec(),
        inventory=inv,
        now=NOW,
        in_flight=in_flight,
        memory={f"vm-{n}": m for n, m in (memory or {}).items()},
        **fields,
    )


def plan(
    inv: Inventory,
    pool: PoolSpec | None = None,
    *,
    memory: Mapping[int, VmMemory] | None = None,
    in_flight: tuple[InFlight, ...] = (),
    **fields: Any,
) -> Plan:
    """Plan with memory given by SSVM number."""
    return plan_pool(context(inv, pool, memory=memory, in_flight=in_flight, **fields))


def only(plan: Plan) -> PlannedAction:
    assert len(plan.actions) == 1, plan.actions
    return plan.actions[0]


def kinds(plan: Plan) -> list[tuple[ActionKind, str | None]]:
    """The planned actions as (kind, SSVM name), blocked or not."""
    return [(a.kind, a.vm_name) for a in plan.actions]


def runnable(plan: Plan) -> list[tuple[ActionKind, str | None]]:
    return [(a.kind, a.vm_name) for a in plan.runnable]


def reasons(plan: Plan) -> dict[str, str]:
    return {f.reason: f.message for f in plan.findings}
