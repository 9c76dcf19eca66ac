"""Which standby values each management server runs with: the database values as they were at its start.

CloudStack has no API for "the value this server read", and `listConfigurations` shows the database. The
operator remembers, per endpoint, when it first saw each pair of values; a server that started before a pair
was first seen still runs with the pair before it (PremiumSecondaryStorageManagerImpl.configure reads them
once). A server that started before the operator first looked is taken to run with the first pair seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ssvm_operator.model.config import ManagementServer
from ssvm_operator.model.standby import STANDBY_KEYS, StandbyInForce, standby_replicas

DOWN = "Down"
"""A server listed Down is stopped or decommissioned (listed for ever before 4.22): it runs no scanner."""


@dataclass
class Seen:
    first: datetime
    """When these values were first seen: they changed between the reading before and this one."""
    last: datetime
    """When they were last seen."""
    values: Mapping[str, str | None]


class StandbyHistory:
    """The standby values seen on one endpoint, each with when it was first and last seen."""

    def __init__(self) -> None:
        self._seen: list[Seen] = []

    def observe(
        self, settings: Mapping[str, str | None], servers: Sequence[ManagementServer], now: datetime
    ) -> StandbyInForce:
        values = {name: settings.get(name) for name in STANDBY_KEYS}
        if self._seen and self._seen[-1].values == values:
            self._seen[-1].last = now
        else:
            self._seen.append(Seen(now, now, values))
        return in_force(self._seen, servers)


def read_at(seen: Sequence[Seen], start: datetime) -> list[Mapping[str, str | None]]:
    """The values a server that started at `start` may have read: the change is known only to within the
    readings either side of it, so a start between them may have read either pair."""
    options = [
        entry.values
        for index, entry in enumerate(seen)
        if (index == 0 or seen[index - 1].last < start)
        and (index + 1 == len(seen) or start <= seen[index + 1].first)
    ]
    return options or [seen[-1].values]


def in_force(seen: Sequence[Seen], servers: Sequence[ManagementServer]) -> StandbyInForce:
    current = seen[-1].values
    database = standby_replicas(current)
    # Mid-restart every server can be listed Down: then each may come back with what it read before, so all
    # of them count (a server listed Down for good has not started since, and counts only in that moment).
    up = [s for s in servers if s.state != DOWN] or list(servers)
    running = [s for s in up if s.last_start is not None]
    # Before 4.17 the start is not reported: nothing to go on, the database values are taken.
    read = {s.name: read_at(seen, s.last_start) for s in running if s.last_start is not None}
    stale = {name: options for name, options in read.items() if any(v != current for v in options)}
    if not stale:
        return StandbyInForce(in_force=database, database=database)
    counts = [standby_replicas(v) for options in read.values() for v in options]
    most = max(counts)
    old = max((v for options in stale.values() for v in options if v != current), key=standby_replicas)
    return StandbyInForce(
        in_force=most,
        database=database,
        waiting_for=tuple(sorted(stale)),
        changed=tuple(name for name in STANDBY_KEYS if old.get(name) != current.get(name)),
        in_force_values=dict(old),
    )
