"""The simulated region: every entity, how to find it, and how new rows get their ids and addresses.

No timing and no asyncio here: lifecycle.py moves VMs through their states, scanner.py decides what
CloudStack's own load scanner would create or start.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Callable, Iterable
from datetime import datetime

from cloudstack_sim.catalogue import Scope, Setting
from cloudstack_sim.clock import utcnow
from cloudstack_sim.errors import invalid_parameter
from cloudstack_sim.model import (
    Account,
    AgentState,
    HypervisorHost,
    ImageStore,
    ManagementServer,
    Offering,
    Role,
    SystemVm,
    Template,
    VmState,
    VmType,
    Zone,
)
from cloudstack_sim.releases import Release
from cloudstack_sim.settings import SettingsStore

DEFAULT_SSVM_OFFERING = "Cloud.com-SecondaryStorage"
"""Unique name of the offering new SSVMs get when secstorage.service.offering is unset
(api/src/main/java/com/cloud/offering/ServiceOffering.java L30)."""
DEFAULT_CPVM_OFFERING = "Cloud.com-ConsoleProxy"


class Cloud:
    def __init__(self, rng: random.Random, version: str, now: Callable[[], datetime] = utcnow) -> None:
        self.rng = rng
        self.release = Release.of(version)
        """What the answering release serves (commands, parameters, fields, settings); releases.py."""
        self.version = self.release.name
        self.now = now
        self.settings = SettingsStore()
        self.account = Account(
            uuid=self.new_uuid(),
            name="admin",
            domain_uuid=self.new_uuid(),
            domain_path="ROOT",
            user_uuid=self.new_uuid(),
        )
        self.management_servers: list[ManagementServer] = []
        self.zones: dict[str, Zone] = {}
        self.hosts: dict[str, HypervisorHost] = {}
        self.image_stores: dict[str, ImageStore] = {}
        self.templates: dict[str, Template] = {}
        self.offerings: dict[str, Offering] = {}
        self.vms: dict[str, SystemVm] = {}
        """Every VM ever allocated, removed ones too (uuid lookups find removed rows, as in CloudStack)."""
        self._next_id: dict[str, int] = {}
        self._next_address: dict[str, int] = {}

    # ids and addresses

    def new_uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def next_id(self, table: str) -> int:
        self._next_id[table] = self._next_id.get(table, 0) + 1
        return self._next_id[table]

    def new_mac(self, first_octet: int) -> str:
        rest = [self.rng.randrange(256) for _ in range(4)]
        return ":".join(f"{octet:02x}" for octet in (first_octet, 0, *rest))

    def new_link_local_ip(self) -> str:
        return f"169.254.{self.rng.randrange(1, 255)}.{self.rng.randrange(1, 255)}"

    def _next_host_octet(self, zone: Zone, plan: str) -> int:
        key = f"{zone.uuid}/{plan}"
        value = self._next_address.get(key, 19) + 1
        self._next_address[key] = value if value < 250 else 20
        return self._next_address[key]

    def new_private_ip(self, zone: Zone) -> str:
        return f"10.{zone.subnet}.1.{self._next_host_octet(zone, 'private')}"

    def new_public_ip(self, zone: Zone) -> str:
        return f"172.16.{zone.subnet}.{self._next_host_octet(zone, 'public')}"

    # lookups

    def find_zone(self, ref: str) -> Zone | None:
        """By uuid or by name (admin path and scenarios)."""
        return self.zones.get(ref) or next((z for z in self.zones.values() if z.name == ref), None)

    def find_vm(self, ref: str) -> SystemVm | None:
        """A live VM by uuid or name (admin path)."""
        vm = self.vms.get(ref)
        if vm is not None and vm.live:
            return vm
        return next((v for v in self.vms.values() if v.live and v.name == ref), None)

    def find_offering(self, ref: str) -> Offering | None:
        """By uuid, name or unique name."""
        return self.offerings.get(ref) or next(
            (o for o in self.offerings.values() if ref in (o.name, o.unique_name)), None
        )

    def live_vms(self, zone_uuid: str | None = None, vm_type: VmType | None = None) -> list[SystemVm]:
        """Non-removed VMs ordered by internal id, as listSystemVms orders them."""
        return sorted(
            (
                vm
                for vm in self.vms.values()
                if vm.live
                and (zone_uuid is None or vm.zone_uuid == zone_uuid)
                and (vm_type is None or vm.type is vm_type)
            ),
            key=lambda vm: vm.internal_id,
        )

    def ssvms(self, zone_uuid: str | None = None) -> list[SystemVm]:
        return self.live_vms(zone_uuid, VmType.SECONDARY_STORAGE)

    def zone_hosts(self, zone_uuid: str) -> list[HypervisorHost]:
        return [h for h in self.hosts.values() if h.zone_uuid == zone_uuid]

    def zone_image_stores(self, zone_uuid: str) -> list[ImageStore]:
        return [s for s in self.image_stores.values() if s.zone_uuid == zone_uuid]

    def system_template(self) -> Template:
        return next(iter(self.templates.values()))

    @property
    def primary_ms(self) -> ManagementServer:
        """The management server that answers API calls."""
        return self.management_servers[0]

    # settings

    def setting(self, name: str) -> Setting | None:
        """The setting as this release declares it; None where the release does not know it."""
        return self.release.setting(name)

    def require_setting(self, name: str) -> Setting:
        """The setting, or CloudStack's 431 for a name this release does not know (ConfigurationManagerImpl
        L1023-1027)."""
        setting = self.setting(name)
        if setting is None:
            raise invalid_parameter(f"Config parameter with name {name} doesn't exist")
        return setting

    def in_force(self, name: str, ms: ManagementServer | None = None) -> str | None:
        """The value a management server obeys: the database value for dynamic keys, else its start copy."""
        setting = self.setting(name)
        if setting is None or setting.takes_effect_immediately:
            return self.settings.global_value(name)
        server = ms or self.primary_ms
        return server.in_force.get(name, setting.default)

    def zone_setting(self, name: str, zone: Zone) -> str | None:
        """A zone-scoped dynamic key read with valueIn(zone)."""
        return self.settings.effective(name, Scope.ZONE, zone.uuid)

    def pending_restart(self, ms: ManagementServer | None = None) -> list[str]:
        """Non-dynamic keys whose database value differs from what the server read at its start."""
        server = ms or self.primary_ms
        pending = []
        for name, value in self.settings.snapshot().items():
            setting = self.setting(name)
            if (
                setting is not None
                and not setting.takes_effect_immediately
                and server.in_force.get(name) != value
            ):
                pending.append(name)
        return sorted(pending)

    def start_management_server(self, ms: ManagementServer) -> None:
        """What `configure()` does at start: read every setting once."""
        ms.in_force = self.settings.snapshot()
        ms.last_server_start = self.now().replace(microsecond=0)
        ms.state = "Up"

    # readiness and allocation

    def zone_ready(self, zone: Zone) -> bool:
        """isZoneReady (SecondaryStorageManagerImpl.java L842-879): an Up host, a Ready system template and a
        writable image store. Primary storage is always there in the simulator."""
        has_host = any(h.state == "Up" and h.resource_state == "Enabled" for h in self.zone_hosts(zone.uuid))
        has_store = any(not s.readonly for s in self.zone_image_stores(zone.uuid))
        return has_host and self.ready_system_template(zone) is not None and has_store

    def ready_system_template(self, zone: Zone) -> Template | None:
        """VMTemplateDaoImpl.findSystemVMReadyTemplates: a SYSTEM template whose hypervisor and arch match
        a host of the zone (HostDao.listDistinctHypervisorArchTypes), downloaded (DOWNLOADED or BYPASSED)
        in any image store: the join on template_store_ref is not limited to the zone's stores. The newest
        such template wins: findSystemVMReadyTemplate lists them "by descending order of id", so after an
        upgrade registers a new system template, new SSVMs get it as soon as it is downloaded."""
        kinds = {(h.hypervisor, h.arch) for h in self.zone_hosts(zone.uuid)}
        return next(
            (
                t
                for t in sorted(self.templates.values(), key=lambda t: -t.internal_id)
                if t.ready_in_zones and (t.hypervisor, t.arch) in kinds
            ),
            None,
        )

    def stores_with_free_capacity(self, zone: Zone) -> list[ImageStore]:
        """ImageStoreProviderManagerImpl.listImageStoresWithFreeCapacity: the zone's writable stores that
        StatsCollector.imageStoreHasEnoughCapacity accepts, used/total <= secondary.storage.capacity.threshold
        (CapacityManager.SecondaryStorageCapacityThreshold, dynamic)."""
        threshold = float(self.settings.global_value("secondary.storage.capacity.threshold") or "0.90")
        return [
            s
            for s in self.zone_image_stores(zone.uuid)
            if not s.readonly and s.size_total > 0 and s.size_used / s.size_total <= threshold
        ]

    def ssvm_offering_for_new_vms(self, ms: ManagementServer) -> Offering:
        """secstorage.service.offering as read at the server's start: a uuid, or a numeric id as a fallback;
        unset or unknown means the default offering (SecondaryStorageManagerImpl.configure L946-962)."""
        wanted = self.in_force("secstorage.service.offering", ms)
        if wanted:
            by_uuid = self.offerings.get(wanted)
            if by_uuid is not None:
                return by_uuid
            if wanted.isdigit():
                by_id = next((o for o in self.offerings.values() if o.internal_id == int(wanted)), None)
                if by_id is not None:
                    return by_id
        return self.offering_by_unique_name(DEFAULT_SSVM_OFFERING)

    def offering_by_unique_name(self, unique_name: str) -> Offering:
        found = next((o for o in self.offerings.values() if o.unique_name == unique_name), None)
        if found is None:
            raise LookupError(f"no offering with unique name {unique_name}")
        return found

    def allocate_vm(
        self,
        zone: Zone,
        vm_type: VmType,
        role: Role,
        offering: Offering,
        ms: ManagementServer,
        version: str | None = None,
    ) -> SystemVm:
        """A new VM row, Stopped (VMInstanceVO L216), named `s-<id>-<instance.name>` (L651-652)."""
        internal_id = self.next_id("vm_instance")
        suffix = self.in_force("instance.name", ms) or "VM"
        vm = SystemVm(
            uuid=self.new_uuid(),
            internal_id=internal_id,
            name=f"{vm_type.name_prefix}-{internal_id}-{suffix}",
            type=vm_type,
            zone_uuid=zone.uuid,
            offering_uuid=offering.uuid,
            template_uuid=(self.ready_system_template(zone) or self.system_template()).uuid,
            created=self.now(),
            private_ip=self.new_private_ip(zone),
            private_mac=self.new_mac(0x1E),
            public_ip=self.new_public_ip(zone),
            public_mac=self.new_mac(0x1E),
            version=version or self.version,
            role=role,
            root_on_local=offering.storage_type == "local",
        )
        self.vms[vm.uuid] = vm
        return vm

    def choose_host(
        self, zone: Zone, exclude: str | None = None, offering: Offering | None = None
    ) -> HypervisorHost | None:
        """The Up host running the fewest system VMs (a stand-in for the deployment planner); with an
        offering, only hosts that have its host tags and room for its CPU and memory."""
        candidates = [
            h
            for h in self.zone_hosts(zone.uuid)
            if h.state == "Up" and h.uuid != exclude and (offering is None or _fits(h, offering))
        ]
        if not candidates:
            return None
        load = {h.uuid: 0 for h in candidates}
        for vm in self.live_vms(zone.uuid):
            if vm.host_uuid in load:
                load[vm.host_uuid] += 1
        return min(candidates, key=lambda h: (load[h.uuid], h.internal_id))

    def running_count(self, zone: Zone) -> int:
        return sum(1 for vm in self.live_vms(zone.uuid) if vm.host_uuid is not None)

    def agents(self) -> Iterable[SystemVm]:
        """Live VMs that have an agent host row."""
        return (vm for vm in self.live_vms() if vm.agent is not None)

    def any_tp_stopping(self) -> bool:
        # Not filtered by zone in CloudStack either (PremiumSecondaryStorageManagerImpl L140-144).
        return any(vm.role is Role.TEMPLATE_PROCESSOR and vm.state is VmState.STOPPING for vm in self.ssvms())

    def agent_state(self, vm: SystemVm) -> AgentState | None:
        return vm.agent.state if vm.agent is not None else None


def _fits(host: HypervisorHost, offering: Offering) -> bool:
    return (
        set(offering.host_tags) <= host.tags
        and offering.cpu_number * offering.cpu_speed <= host.cpu_number * host.cpu_speed
        and offering.memory <= host.memory
    )
