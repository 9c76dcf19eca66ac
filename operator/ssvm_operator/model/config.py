"""CloudStack's view of its own configuration: settings rows and management servers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ssvm_operator.model.snapshot import ManagementServer, parse_cloudstack_time

__all__ = ["ConfigEntry", "ManagementServer", "parse_cloudstack_time"]


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
