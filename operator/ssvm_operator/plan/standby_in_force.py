"""Surplus SSVMs and the standby values in force: never give up an SSVM CloudStack's scanner would recreate.

Three rules, on top of `replicas.surplus_candidates`:

- **Restart pending.** The scanner keeps the count from the standby values each running management server
  read at its start (`PremiumSecondaryStorageManagerImpl.configure`). While a lower database count waits for
  those restarts, the surplus waits too, and the pool names the settings and the servers.
- **Template processor.** The API does not say which SSVM processes templates. After CloudStack replaced
  an SSVM the operator gave up, the replacement is the newest, and it is the template processor whenever the
  one given up was (`scanPool` recreates a template processor when none is active): such an SSVM is given up
  last.
- **Loop guard.** If CloudStack answered the last two give-ups in the zone with new SSVMs, its scanner keeps
  more than the operator computed: no more SSVMs are given up there until every running management server has
  restarted since, and the pool says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ssvm_operator.model.config import ManagementServer
from ssvm_operator.model.snapshot import Inventory, SystemVm, Zone
from ssvm_operator.model.standby import StandbyInForce
from ssvm_operator.plan.assessment import Assessment
from ssvm_operator.plan.candidate import Candidate
from ssvm_operator.plan.findings import Reason, degraded, info
from ssvm_operator.plan.replicas import STANDBY_SETTINGS, surplus_candidates
from ssvm_operator.plan.types import ActionKind, Finding

DOWN = "Down"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def created_after(vm: SystemVm, moment: datetime) -> bool:
    return vm.created is not None and _aware(vm.created) > _aware(moment)


def replacements(assessed: Sequence[Assessment], given_up: Sequence[datetime]) -> frozenset[str]:
    """SSVMs created after the operator last gave one up in the zone: given up last (template processor)."""
    if not given_up:
        return frozenset()
    latest = max(given_up)
    return frozenset(a.vm.id for a in assessed if created_after(a.vm, latest))


def restart_pending(
    assessed: Sequence[Assessment], zone: Zone, replicas: int, standby: StandbyInForce | None
) -> tuple[list[Candidate], list[Finding]]:
    """The surplus the database values would free, held until the management servers restarted."""
    if standby is None or not standby.restart_pending or replicas < 1 or replicas >= standby.in_force:
        return [], []
    waiting = surplus_candidates(assessed, zone, replicas, standby.database)
    if not waiting:
        return [], []
    why = f"waiting for a management-server restart: {standby.describe()}"
    held = [replace(c, held=why) for c in waiting]
    finding = info(
        Reason.STANDBY_RESTART_PENDING,
        f"replicas is {replicas} but {why}; giving up an SSVM before then would only make CloudStack's "
        f"scanner recreate it ({STANDBY_SETTINGS})",
    )
    return held, [finding]


def loop_guard(
    candidates: Sequence[Candidate],
    assessed: Sequence[Assessment],
    zone: Zone,
    given_up: Sequence[datetime],
    inventory: Inventory,
) -> tuple[list[Candidate], list[Finding]]:
    """Hold every surplus destroy in the zone while CloudStack keeps recreating what the operator gives up."""
    if len(given_up) < 2:
        return list(candidates), []
    before, last = sorted(given_up)[-2:]
    answered_before = any(created_after(a.vm, before) and not created_after(a.vm, last) for a in assessed)
    answered_last = any(created_after(a.vm, last) for a in assessed)
    if not (answered_before and answered_last) or _restarted_since(inventory.management_servers, last):
        return list(candidates), []
    message = (
        f"CloudStack recreated an SSVM in zone {zone.name} after each of the last two the operator gave "
        f"up as surplus (the last at {_aware(last).isoformat()}): its scanner keeps more SSVMs than the "
        f"standby values the operator sees ({STANDBY_SETTINGS}, read at each management server's start). "
        "No SSVM is given up there until every running management server has restarted"
    )
    held = [
        replace(c, held=c.held or message) if c.action.kind is ActionKind.DESTROY_SURPLUS else c
        for c in candidates
    ]
    return held, [degraded(Reason.SURPLUS_RECREATED, message)]


def _restarted_since(servers: Sequence[ManagementServer], moment: datetime) -> bool:
    running = [s for s in servers if s.state != DOWN]
    return bool(running) and all(
        s.last_start is not None and _aware(s.last_start) > _aware(moment) for s in running
    )
