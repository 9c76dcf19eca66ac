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


HostKind = tuple[str | None, str | None]
"""A hypervisor and an architecture of a zone's hosts; None where CloudStack does not say (any)."""


def _matches(template: SystemTemplate, hypervisor: str | None, arch: str | None) -> bool:
    return (
        hypervisor is None or template.hypervisor is None or template.hypervisor.lower() == hypervisor.lower()
    ) and (arch is None or template.arch is None or template.arch == arch)


def _newest(templates: Iterable[SystemTemplate]) -> SystemTemplate | None:
    # The API shows no numeric id, so the newest `created` stands for the highest id, the name breaking ties.
    return max(
        templates, key=lambda t: (t.created.timestamp() if t.created else 0.0, t.name, t.id), default=None
    )


def newest_for(
    templates: Iterable[SystemTemplate], hypervisor: str | None, arch: str | None
) -> SystemTemplate | None:
    """The newest system template for a hypervisor (and arch, where both sides say): the one CloudStack gives
    a new SSVM once it is Ready (VMTemplateDaoImpl.findSystemVMReadyTemplate takes the highest id)."""
    return _newest(t for t in templates if _matches(t, hypervisor, arch))


def ready_system_templates(
    templates: Iterable[SystemTemplate], kinds: Iterable[HostKind]
) -> list[SystemTemplate]:
    """CloudStack's rule for "a system VM template is ready" for a zone (VMTemplateDaoImpl
    .findSystemVMReadyTemplates, called by SecondaryStorageManagerImpl.isZoneReady and
    createSecStorageVmInstance): a SYSTEM template whose hypervisor and arch match those of a host of the
    zone (`kinds`), downloaded in any image store: its join on template_store_ref is not limited to the
    zone's stores, so a row Ready in any zone counts. One entry per template, newest first. The only rule
    the operator uses: for the TemplateReady condition, the recreation hold and the upgrade's replacement."""
    wanted = list(kinds)
    downloaded = {t.id for t in templates if t.ready}
    by_id: dict[str, SystemTemplate] = {}
    for t in templates:
        if t.id in downloaded and t.id not in by_id and any(_matches(t, h, a) for h, a in wanted):
            by_id[t.id] = t
    return sorted(
        by_id.values(),
        key=lambda t: (t.created.timestamp() if t.created else 0.0, t.name, t.id),
        reverse=True,
    )


def parse_cloudstack_time(value: Any) -> datetime | None:
    """CloudStack dates look like 2025-10-30T12:00:00+0000 (Gson, yyyy-MM-dd'T'HH:mm:ssZ)."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
