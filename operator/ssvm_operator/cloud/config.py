"""Global settings and management servers: listConfigurations, updateConfiguration, listManagementServers."""

from __future__ import annotations

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
