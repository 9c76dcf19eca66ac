"""CloudStack's view of its own configuration: settings rows and management servers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ssvm_operator.model.snapshot import parse_cloudstack_time


@dataclass(frozen=True)
class ConfigEntry:
    """One row of listConfigurations."""

    name: str
    value: str | None
    type: str | None = None
    is_dynamic: bool = False
    default: str | None = None

    @classmethod
    def from_api(cls, row: Mapping[str, object]) -> ConfigEntry:
        value = row.get("value")
        default = row.get("defaultvalue")
        return cls(
            name=str(row["name"]),
            value=None if value is None else str(value),
            type=str(row["type"]) if row.get("type") else None,
            is_dynamic=bool(row.get("isdynamic", False)),
            default=None if default is None else str(default),
        )


@dataclass(frozen=True)
class ManagementServer:
    """One row of listManagementServers; `last_start` tells which settings it has read (§11)."""

    id: str
    name: str
    state: str | None
    last_start: datetime | None
    service_ip: str | None = None

    @classmethod
    def from_api(cls, row: Mapping[str, object]) -> ManagementServer:
        return cls(
            id=str(row.get("id", "")),
            name=str(row.get("name", row.get("id", ""))),
            state=str(row["state"]) if row.get("state") else None,
            last_start=parse_cloudstack_time(row.get("lastserverstart")),
            service_ip=str(row["serviceip"]) if row.get("serviceip") else None,
        )
