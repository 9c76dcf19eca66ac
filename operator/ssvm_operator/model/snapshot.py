"""The observed state of one CloudStack endpoint, as one inventory refresh saw it.

Field names follow CloudStack's responses (cloudstack-contract.md §2.3, §2.4, §2.6); parsing tolerates missing
fields because older releases omit some (e.g. `agentstate` before 4.13.1, `serviceofferingid` before 4.19).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssvm_operator.model.image_store import ImageStore
    from ssvm_operator.model.standby import StandbyInForce

from ssvm_operator.model.templates import SystemTemplate, parse_cloudstack_time

__all__ = ["Health", "Inventory", "Offering", "SystemTemplate", "SystemVm", "Zone", "parse_cloudstack_time"]


class Health(StrEnum):
    HEALTHY = "Healthy"
    CONVERGING = "Converging"
    UNHEALTHY = "Unhealthy"


SSVM_VM_TYPE = "secondarystoragevm"
"""listSystemVms systemvmtype and a system offering's systemvmtype for SSVMs (VirtualMachine.Type)."""
SSVM_HOST_TYPE = "SecondaryStorageVM"
"""listHosts type of an SSVM's agent (Host.Type)."""
SSVM_ENABLED_DETAIL = "enable.secstorage.vm"
"""The zone detail that lets CloudStack's scanner keep SSVMs in the zone (ZoneConfig.java)."""

# VirtualMachine.State values that are on their way somewhere (api/.../vm/VirtualMachine.java).
TRANSITIONAL_VM_STATES = frozenset({"Starting", "Stopping", "Migrating", "Expunging", "Restoring"})
FAILED_VM_STATES = frozenset({"Stopped", "Error", "Unknown", "Shutdown", "Destroyed"})
# Host Status values for which Status.lostConnection() is true (api/.../host/Status.java).
LOST_AGENT_STATES = frozenset({"Down", "Disconnected", "Alert", "Removed", "Error"})


@dataclass(frozen=True)
class SystemVm:
    id: str
    name: str
    zone_id: str
    state: str
    agent_state: str | None = None
    hypervisor_host: str | None = None
    public_ip: str | None = None
    private_ip: str | None = None
    link_local_ip: str | None = None
    offering_id: str | None = None
    offering_name: str | None = None
    created: datetime | None = None
    pending_job_id: str | None = None
    """Set while CloudStack runs an async job on this VM (its `jobid` marker in listSystemVms)."""
    last_disconnected: datetime | None = None
    """The agent's last disconnect (`disconnected`, 4.13.1+): a reboot disconnects and reconnects it."""
    agent_overdue: bool = False
    """Running, with no host row or one stuck connecting, past the grace after it started: set by the
    planner (plan/agent_connect.py), as it depends on the pool's health policy and the time."""
    agent_version: str | None = None
    """`version`: the release of the SSVM's agent, from its host row."""
    template_id: str | None = None
    template_name: str | None = None
    hypervisor: str | None = None
    arch: str | None = None

    @property
    def health(self) -> Health:
        """Health as cloudstack-contract.md §3.3 defines it, before any grace period is applied."""
        if self.state in TRANSITIONAL_VM_STATES:
            return Health.CONVERGING
        if self.state in FAILED_VM_STATES:
            return Health.UNHEALTHY
        if self.state != "Running":
            return Health.UNHEALTHY
        if self.agent_state is None or self.agent_state in ("Connecting", "Creating", "Rebalancing"):
            return Health.UNHEALTHY if self.agent_overdue else Health.CONVERGING
        if self.agent_state == "Up":
            return Health.HEALTHY
        return Health.UNHEALTHY

    @classmethod
    def from_api(cls, vm: Mapping[str, Any], agent_state: str | None = None) -> SystemVm:
        return cls(
            id=str(vm["id"]),
            name=str(vm.get("name", vm["id"])),
            zone_id=str(vm.get("zoneid", "")),
            state=str(vm.get("state", "Unknown")),
            agent_state=agent_state if agent_state is not None else vm.get("agentstate"),
            hypervisor_host=vm.get("hostname"),
            public_ip=vm.get("publicip"),
            private_ip=vm.get("privateip"),
            link_local_ip=vm.get("linklocalip"),
            offering_id=vm.get("serviceofferingid"),
            offering_name=vm.get("serviceofferingname"),
            created=parse_cloudstack_time(vm.get("created")),
            pending_job_id=vm.get("jobid"),
            last_disconnected=parse_cloudstack_time(vm.get("disconnected")),
            agent_version=vm.get("version"),
            template_id=vm.get("templateid"),
            template_name=vm.get("templatename"),
            hypervisor=vm.get("hypervisor"),
            arch=vm.get("arch"),
        )


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    allocation_state: str = "Enabled"
    zone_type: str = "Core"
    ssvm_enabled: bool = True
    """The zone detail `enable.secstorage.vm`; false stops CloudStack creating SSVMs there."""
    internal_dns: tuple[str, ...] = ()

    @property
    def scanned_by_cloudstack(self) -> bool:
        """Whether CloudStack's SSVM scanner keeps an SSVM here (cloudstack-contract.md §9.1)."""
        return self.allocation_state == "Enabled" and self.zone_type != "Edge" and self.ssvm_enabled

    @classmethod
    def from_api(cls, zone: Mapping[str, Any]) -> Zone:
        details = zone.get("resourcedetails") or {}
        dns = tuple(str(zone[k]) for k in ("internaldns1", "internaldns2") if zone.get(k))
        return cls(
            id=str(zone["id"]),
            name=str(zone.get("name", zone["id"])),
            allocation_state=str(zone.get("allocationstate", "Enabled")),
            zone_type=str(zone.get("type", "Core")),
            ssvm_enabled=ssvm_required(details.get(SSVM_ENABLED_DETAIL)),
            internal_dns=dns,
        )


@dataclass(frozen=True)
class Offering:
    id: str
    name: str
    is_system: bool
    system_vm_type: str | None
    storage_type: str = "shared"
    """`storagetype`: where the ROOT volume of a VM deployed with it lives, "shared" or "local"."""
    storage_tags: frozenset[str] = frozenset()
    """`storagetags`, the tags of its disk offering (comma-separated in the API)."""
    host_tags: frozenset[str] = frozenset()

    @property
    def fits_ssvm(self) -> bool:
        return self.is_system and self.system_vm_type == SSVM_VM_TYPE

    @classmethod
    def from_api(cls, offering: Mapping[str, Any]) -> Offering:
        return cls(
            id=str(offering["id"]),
            name=str(offering.get("name", offering["id"])),
            is_system=bool(offering.get("issystem", False)),
            system_vm_type=offering.get("systemvmtype"),
            storage_type=str(offering.get("storagetype") or "shared").lower(),
            storage_tags=_tags(offering.get("storagetags")),
            host_tags=_tags(offering.get("hosttags")),
        )


def _tags(value: object) -> frozenset[str]:
    return frozenset(t.strip() for t in str(value or "").split(",") if t.strip())


@dataclass(frozen=True)
class Inventory:
    """Everything one poll learned about an endpoint; shared by every pool of that endpoint."""

    observed_at: datetime
    zones: tuple[Zone, ...] = ()
    ssvms: tuple[SystemVm, ...] = ()
    offerings: tuple[Offering, ...] = ()
    standby_replicas: int = 1
    """SSVMs per zone that CloudStack itself keeps, from the standby settings in force (§1.4)."""
    standby: StandbyInForce | None = None
    """The standby values in force beside the database ones; None without a history (one-off reads)."""
    management_servers: tuple[ManagementServer, ...] = ()
    zone_hypervisors: Mapping[str, frozenset[tuple[str, str | None]]] | None = None
    """(hypervisor, arch) of the Routing hosts of each zone, by zone id; None when not read."""
    image_stores: tuple[ImageStore, ...] | None = None
    """listImageStores, with usage; None when not read."""
    scan_interval_seconds: float = 30.0
    """secstorage.capacityscan.interval: how long CloudStack's scanner may take to restart or recreate."""
    settings: Mapping[str, str | None] = field(default_factory=dict)
    """Global values of the settings the inventory reads (cloud/inventory.py INVENTORY_SETTINGS), by name."""
    cloudstack_version: str | None = None
    ready_template_zones: frozenset[str] | None = None
    """Zones with a system VM template Ready (listTemplates templatefilter=system); None when not known."""
    system_templates: tuple[SystemTemplate, ...] = ()
    """Every row of listTemplates templatefilter=system (one per template and zone)."""
    management_server_version: str | None = None
    """The newest `version` of the Up management servers (listManagementServers), read on every poll."""
    host_tags: Mapping[str, tuple[frozenset[str], ...]] | None = None
    """Host tags of each Up, Enabled Routing host, by zone id (listHosts type=Routing); read only while an
    SSVM offering names host tags, None otherwise."""

    def zone_named(self, name: str) -> Zone | None:
        return self._zones_by_name.get(name)

    def ssvms_in(self, zone_id: str) -> tuple[SystemVm, ...]:
        return self._ssvms_by_zone.get(zone_id, ())

    # Every pool of the endpoint looks up its zone in the one shared inventory on every tick: scanning all
    # zones each time made a tick interval cost O(pools x zones). Built once per inventory, on first use.
    @cached_property
    def _zones_by_name(self) -> Mapping[str, Zone]:
        found: dict[str, Zone] = {}
        for zone in self.zones:
            found.setdefault(zone.name, zone)  # the first of a name, as a scan would find
        return found

    @cached_property
    def _ssvms_by_zone(self) -> Mapping[str, tuple[SystemVm, ...]]:
        grouped: dict[str, list[SystemVm]] = {}
        for vm in self.ssvms:
            grouped.setdefault(vm.zone_id, []).append(vm)
        return {zone_id: tuple(vms) for zone_id, vms in grouped.items()}

    def offering_named(self, name: str) -> Offering | None:
        matches = [o for o in self.offerings if o.name == name or o.id == name]
        return next((o for o in matches if o.fits_ssvm), matches[0] if matches else None)


def ssvm_required(detail: Any) -> bool:
    """SecondaryStorageManagerImpl.isSecondaryStorageVmRequired: no detail means true, else
    Boolean.parseBoolean, so anything but "true" in any case (e.g. "no", "0", "") disables SSVMs."""
    if detail is None:
        return True
    return str(detail).lower() == "true"


@dataclass(frozen=True)
class ManagementServer:
    """One row of listManagementServers; `last_start` tells which settings it has read (§11).

    Here rather than in config.py because the inventory holds them (config.py re-exports it)."""

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
