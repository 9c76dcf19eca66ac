"""Global settings and management servers: listConfigurations, updateConfiguration, listManagementServers."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ssvm_operator.cloud.client import CloudApi
from ssvm_operator.model.config import ConfigEntry, ManagementServer


async def read_settings(client: CloudApi, names: Iterable[str]) -> dict[str, ConfigEntry]:
    """The named Global settings, one listConfigurations per name: rows in proportion to what is used.

    CloudStack's `name` filter is `LIKE '%name%'` (ConfigurationListingServiceImpl.searchForConfigurations,
    in ManagementServerImpl before it), so an answer may hold longer names as well: only the exact name is
    kept. A name missing from the result does not exist in this CloudStack, or is Hidden (never listed).
    """
    wanted = sorted(set(names))
    answers = await asyncio.gather(*(client.list("listConfigurations", name=name) for name in wanted))
    return {
        name: ConfigEntry.from_api(row)
        for name, rows in zip(wanted, answers, strict=True)
        for row in rows
        if row.get("name") == name
    }


async def update_setting(client: CloudApi, name: str, value: str | None) -> None:
    # At Global scope CloudStack stores "" as NULL (ConfigurationManagerImpl, getNormalizedEmptyValue...).
    await client.call("updateConfiguration", name=name, value="" if value is None else value)


async def list_management_servers(client: CloudApi) -> list[ManagementServer]:
    return [ManagementServer.from_api(row) for row in await client.list("listManagementServers")]


async def reset_setting(client: CloudApi, name: str) -> None:
    """resetConfiguration (4.16.1+): back to the default CloudStack ships."""
    await client.call("resetConfiguration", name=name)


@dataclass(frozen=True)
class ConfigSnapshot:
    settings: dict[str, ConfigEntry]
    servers: list[ManagementServer]


class ConfigCache:
    """The settings an SSVMSettings object uses and the management servers, asked once per poll interval,
    not once per tick.

    Only the named settings are read (read_settings); a declared key CloudStack does not know is simply
    absent, which is how an unknown key is found without the whole catalogue. Asking for other names reads
    afresh. Invalidated after the operator changed a setting, so drift is judged on what CloudStack holds now.
    """

    def __init__(self) -> None:
        self._snapshot: ConfigSnapshot | None = None
        self._names: frozenset[str] = frozenset()
        self._fetched_at = -math.inf
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._fetched_at = -math.inf

    async def get(self, client: CloudApi, max_age: float, names: Iterable[str]) -> ConfigSnapshot:
        wanted = frozenset(names)
        async with self._lock:
            expired = time.monotonic() - self._fetched_at >= max_age
            if self._snapshot is None or expired or wanted != self._names:
                settings, servers = await asyncio.gather(
                    read_settings(client, wanted), list_management_servers(client)
                )
                self._snapshot = ConfigSnapshot(settings, servers)
                self._names = wanted
                self._fetched_at = time.monotonic()
            return self._snapshot
