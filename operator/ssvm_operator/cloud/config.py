"""Global settings and management servers: listConfigurations, updateConfiguration, listManagementServers."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from ssvm_operator.cloud.client import CloudClient
from ssvm_operator.model.config import ConfigEntry, ManagementServer


async def list_settings(client: CloudClient) -> dict[str, ConfigEntry]:
    """Every Global setting by name (Hidden ones are never listed by CloudStack)."""
    rows = await client.list("listConfigurations")
    return {entry.name: entry for entry in (ConfigEntry.from_api(r) for r in rows if "name" in r)}


async def update_setting(client: CloudClient, name: str, value: str | None) -> None:
    # At Global scope CloudStack stores "" as NULL (ConfigurationManagerImpl, getNormalizedEmptyValue...).
    await client.call("updateConfiguration", name=name, value="" if value is None else value)


async def list_management_servers(client: CloudClient) -> list[ManagementServer]:
    return [ManagementServer.from_api(row) for row in await client.list("listManagementServers")]


async def reset_setting(client: CloudClient, name: str) -> None:
    """resetConfiguration (4.16+): back to the default CloudStack ships."""
    await client.call("resetConfiguration", name=name)


@dataclass(frozen=True)
class ConfigSnapshot:
    settings: dict[str, ConfigEntry]
    servers: list[ManagementServer]


class ConfigCache:
    """Every Global setting and the management servers, asked once per poll interval, not once per tick.

    Invalidated after the operator changed a setting, so drift is judged on what CloudStack holds now.
    """

    def __init__(self) -> None:
        self._snapshot: ConfigSnapshot | None = None
        self._fetched_at = -math.inf
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._fetched_at = -math.inf

    async def get(self, client: CloudClient, max_age: float) -> ConfigSnapshot:
        async with self._lock:
            if self._snapshot is None or time.monotonic() - self._fetched_at >= max_age:
                settings, servers = await asyncio.gather(
                    list_settings(client), list_management_servers(client)
                )
                self._snapshot = ConfigSnapshot(settings, servers)
                self._fetched_at = time.monotonic()
            return self._snapshot
