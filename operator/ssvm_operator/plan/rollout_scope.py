"""Which zones a settings rollout covers, in which order, and which it leaves and why.

The reboots of a rollout are done by each zone's SSVMPool (plan/rollout.py). A zone whose pool cannot act
(no pool, paused, Observe mode, a disruption budget of 0, replicas 0) would never finish its turn, and one
zone at a time would then hold every later zone for ever. Such a zone is left out of the rollout and named,
with its SSVMs and what would let the rollout reach them.

Pure: the stale SSVMs by zone and the pools' declarations in, the zone order and the zones left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class LeftReason(StrEnum):
    NO_POOL = "NoPool"
    PAUSED = "Paused"
    OBSERVE = "Observe"
    NO_BUDGET = "NoBudget"
    NO_REPLICAS = "NoReplicas"


@dataclass(frozen=True)
class ZonePool:
    """What an SSVMPool declares that decides whether it can roll its zone."""

    pool: str
    zone: str
    paused: bool = False
    observe: bool = False
    max_unavailable: int = 1
    replicas: int = 1

    @classmethod
    def from_index(cls, entry: Sequence[Any]) -> ZonePool:
        """From the pool index entry (name, zone, paused, mode, maxUnavailable, replicas)."""
        name, zone, paused, mode, max_unavailable, replicas = entry
        return cls(str(name), str(zone), bool(paused), mode == "Observe", int(max_unavailable), int(replicas))

    def blocker(self) -> tuple[LeftReason, str] | None:
        """Why this pool cannot roll its zone, with what to do about it; None when it can."""
        if self.paused:
            return LeftReason.PAUSED, f"SSVMPool {self.pool} is paused: unpause it to roll them"
        if self.observe:
            return (
                LeftReason.OBSERVE,
                f"SSVMPool {self.pool} is in Observe mode: set mode Enforce to roll them",
            )
        if self.replicas < 1:
            return LeftReason.NO_REPLICAS, f"SSVMPool {self.pool} has replicas 0: its SSVMs are being removed"
        if self.max_unavailable < 1:
            return (
                LeftReason.NO_BUDGET,
                f"SSVMPool {self.pool} has health.maxUnavailable 0: raise it to roll them",
            )
        return None


@dataclass(frozen=True)
class LeftZone:
    zone: str
    reason: LeftReason
    message: str
    ssvms: tuple[str, ...]

    def render(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "reason": self.reason.value,
            "message": self.message,
            "ssvms": list(self.ssvms),
        }


def why_left(zone: str, pools: Iterable[ZonePool]) -> tuple[LeftReason, str] | None:
    """Why no pool will roll `zone`, or None when one will."""
    blockers = []
    for pool in sorted((p for p in pools if p.zone == zone), key=lambda p: p.pool):
        blocker = pool.blocker()
        if blocker is None:
            return None
        blockers.append(blocker)
    if not blockers:
        return (
            LeftReason.NO_POOL,
            "no SSVMPool manages this zone: create one, or reboot these SSVMs by hand (rebootSystemVm)",
        )
    return blockers[0]


def rollout_zones(
    stale: Mapping[str, Sequence[str]],
    pools: Iterable[ZonePool] | None,
    active_zone: str | None,
    settling: bool,
) -> tuple[list[str], list[LeftZone]]:
    """The zones to roll, the active one first, and the zones left out.

    `stale`: the SSVMs still to restart, by zone name; `pools`: None when not known, and then every zone
    is rolled. The zone rolled last stays first while it is `settling` (its SSVMs not healthy again), so
    the next zone starts only once it is back in service.
    """
    declared = list(pools) if pools is not None else None
    rolled, left = [], []
    for zone in sorted(stale):
        why = why_left(zone, declared) if declared is not None else None
        if why is None:
            rolled.append(zone)
        else:
            left.append(LeftZone(zone, why[0], why[1], tuple(sorted(stale[zone]))))
    if active_zone is None:
        return rolled, left
    rollable = declared is None or why_left(active_zone, declared) is None
    if rollable and (active_zone in rolled or settling):
        rolled = [active_zone, *[z for z in rolled if z != active_zone]]
    return rolled, left


def describe_left(left: Iterable[Mapping[str, Any]]) -> str:
    """The zones a rollout leaves (status.rollout.left rows), each with its SSVMs and why, for a condition
    message; empty when none is left."""
    shown = [_shown(z) for z in left]
    return "; left: " + "; ".join(shown) if shown else ""


def newly_left(before: Iterable[Mapping[str, Any]], now: Iterable[Mapping[str, Any]]) -> str:
    """The zones left now that were not left (for that reason) before, described; empty when none."""
    earlier = {(z.get("zone"), z.get("reason")) for z in before}
    new = [z for z in now if (z["zone"], z["reason"]) not in earlier]
    return "; ".join(_shown(z) for z in new)


def _shown(row: Mapping[str, Any]) -> str:
    return f"zone {row['zone']} ({', '.join(row['ssvms'])}): {row['message']}"
