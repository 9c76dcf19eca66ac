"""What the connectivity diagnostics observed: each check from one SSVM to one target.

Results of runDiagnostics type=ping run inside the SSVMs (RunDiagnosticsCmd.java), persisted in
status.diagnostics. Observations, like the inventory: cloud/diagnostics.py produces them, plan/connectivity.py
judges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

PING = "ping"


class TargetRole(StrEnum):
    """What a target is to the SSVM."""

    STORAGE = "Storage"
    """The host of an image store of the zone (listImageStores url): the SSVM mounts it over NFS."""
    DNS = "DNS"
    """An internal DNS server of the zone (listZones internaldns1/2): resolves template and ISO URLs."""
    MANAGEMENT_SERVER = "ManagementServer"
    """A management server (listManagementServers serviceip): the SSVM's agent connects to it on 8250."""
    EXTRA = "Extra"
    """An address from spec.diagnostics.targets, e.g. the template source host."""


_LABEL = {
    TargetRole.STORAGE: "storage host",
    TargetRole.DNS: "internal DNS",
    TargetRole.MANAGEMENT_SERVER: "management server",
    TargetRole.EXTRA: "target",
}


@dataclass(frozen=True)
class Target:
    address: str
    role: TargetRole
    name: str | None = None
    """Where the address came from: the image store, the management server, or the target as declared."""

    def describe(self) -> str:
        """E.g. "storage host 10.1.0.5 (nfs-zone-1-1)"."""
        named = f" ({self.name})" if self.name and self.name != self.address else ""
        return f"{_LABEL[self.role]} {self.address}{named}"


@dataclass(frozen=True)
class Check:
    """One check from one SSVM to one target; persisted as a row of status.diagnostics."""

    ssvm_id: str
    ssvm_name: str
    target: Target
    checked_at: datetime
    reachable: bool | None
    """None when the check could not run (the job failed); such a check proves nothing either way."""
    latency_ms: float | None = None
    error: str | None = None
    unreachable_since: datetime | None = None
    """When this SSVM first failed to reach this target, without a success since."""
    kind: str = PING


@dataclass(frozen=True)
class Connectivity:
    """The latest check per SSVM and target: the planner's view of the diagnostics."""

    checks: tuple[Check, ...] = ()
