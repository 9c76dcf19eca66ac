"""Image stores (secondary storage) and how full they are: listImageStores `disksizetotal`/`disksizeused`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CAPACITY_THRESHOLD_KEY = "secondary.storage.capacity.threshold"
DEFAULT_CAPACITY_THRESHOLD = 0.90
"""CapacityManager.SecondaryStorageCapacityThreshold: Global, dynamic, 0.90."""


@dataclass(frozen=True)
class ImageStore:
    id: str
    name: str
    zone_id: str | None
    total: int | None
    used: int | None
    readonly: bool = False

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> ImageStore:
        return cls(
            id=str(row.get("id", "")),
            name=str(row.get("name", row.get("id", ""))),
            zone_id=str(row["zoneid"]) if row.get("zoneid") else None,
            total=_int(row.get("disksizetotal")),
            used=_int(row.get("disksizeused")),
            readonly=str(row.get("readonly", "false")).lower() == "true",
        )

    def usage(self) -> float | None:
        if self.total is None or self.used is None or self.total <= 0:
            return None
        return self.used / self.total

    def takes_new_ssvms(self, threshold: float) -> bool | None:
        """StatsCollector.imageStoreHasEnoughCapacity on a writable store; None when the size is unknown."""
        usage = self.usage()
        if usage is None:
            return None
        return not self.readonly and usage <= threshold


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def threshold(settings: Mapping[str, str | None]) -> float:
    try:
        return float(str(settings.get(CAPACITY_THRESHOLD_KEY)))
    except ValueError:
        return DEFAULT_CAPACITY_THRESHOLD
