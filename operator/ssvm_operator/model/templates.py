"""System VM templates as listTemplates templatefilter=system shows them (one row per template and zone)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SystemTemplate:
    id: str
    name: str
    zone_id: str | None
    ready: bool
    hypervisor: str | None = None
    arch: str | None = None
    """`arch` (4.20+); None where CloudStack does not say."""
    created: datetime | None = None

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> SystemTemplate:
        return cls(
            id=str(row["id"]),
            name=str(row.get("name", row["id"])),
            zone_id=str(row["zoneid"]) if row.get("zoneid") else None,
            ready=str(row.get("isready")).lower() == "true",
            hypervisor=row.get("hypervisor"),
            arch=row.get("arch"),
            created=parse_cloudstack_time(row.get("created")),
        )


def newest_for(
    templates: Iterable[SystemTemplate], hypervisor: str | None, arch: str | None
) -> SystemTemplate | None:
    """The newest system template for a hypervisor (and arch, where both sides say): the one CloudStack gives
    a new SSVM once it is Ready (VMTemplateDaoImpl.findSystemVMReadyTemplate takes the highest id; the API
    shows no numeric id, so the newest `created` stands for it, the name breaking ties)."""
    matching = [
        t
        for t in templates
        if (hypervisor is None or t.hypervisor is None or t.hypervisor.lower() == hypervisor.lower())
        and (arch is None or t.arch is None or t.arch == arch)
    ]
    if not matching:
        return None
    return max(matching, key=lambda t: (t.created.timestamp() if t.created else 0.0, t.name, t.id))


def parse_cloudstack_time(value: Any) -> datetime | None:
    """CloudStack dates look like 2025-10-30T12:00:00+0000 (Gson, yyyy-MM-dd'T'HH:mm:ssZ)."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
