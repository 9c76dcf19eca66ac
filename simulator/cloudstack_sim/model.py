"""The simulated CloudStack database: zones, hosts, offerings, system VMs and their agents.

Plain data; behaviour lives in lifecycle.py and scanner.py. Every entity has CloudStack's pair of
identities: an internal numeric id (used in names such as `s-12-VM` and for ordering) and a uuid (the
`id` every API response shows).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class VmState(StrEnum):
    """VirtualMachine.State (api/src/main/java/com/cloud/vm/VirtualMachine.java L50-146)."""

    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    DESTROYED = "Destroyed"
    EXPUNGING = "Expunging"
    MIGRATING = "Migrating"
    ERROR = "Error"
    UNKNOWN = "Unknown"
    SHUTDOWN = "Shutdown"
    RESTORING = "Restoring"


ACTIVE_STATES = frozenset({VmState.RUNNING, VmState.MIGRATING, VmState.STARTING})
"""What the scanner counts as an SSVM serving the zone (PremiumSecondaryStorageManagerImpl L132-133, L158)."""
STOPPED_POOL_STATES = frozenset({VmState.STOPPED, VmState.STOPPING})


class AgentState(StrEnum):
    """Host Status of the SSVM's own agent (api/src/main/java/com/cloud/host/Status.java L25-35)."""

    CREATING = "Creating"
    CONNECTING = "Connecting"
    UP = "Up"
    DOWN = "Down"
    DISCONNECTED = "Disconnected"
    ALERT = "Alert"
    REMOVED = "Removed"
    ERROR = "Error"
    REBALANCING = "Rebalancing"
    UNKNOWN = "Unknown"

    @property
    def reachable_by_system_vm_agent(self) -> bool:
        """The statuses CloudStack gives a system VM's agent (Status.java transitions, AgentManagerImpl):
        no path leads an SSVM or console-proxy agent to Down, Error, Creating or Rebalancing."""
        return self in (AgentState.CONNECTING, AgentState.UP, AgentState.ALERT, AgentState.DISCONNECTED)

    @property
    def lost_connection(self) -> bool:
        return self in (
            AgentState.DOWN,
            AgentState.DISCONNECTED,
            AgentState.ALERT,
            AgentState.REMOVED,
            AgentState.ERROR,
        )


class Role(StrEnum):
    """Never exposed by the API (api/src/main/java/com/cloud/vm/SecondaryStorageVm.java)."""

    TEMPLATE_PROCESSOR = "templateProcessor"
    COMMAND_EXECUTOR = "commandExecutor"


class VmType(StrEnum):
    SECONDARY_STORAGE = "SecondaryStorageVm"
    CONSOLE_PROXY = "ConsoleProxy"

    @property
    def api_name(self) -> str:
        """`systemvmtype` in responses: the type's name lower-cased."""
        return self.value.lower()

    @property
    def name_prefix(self) -> str:
        return "s" if self is VmType.SECONDARY_STORAGE else "v"

    @property
    def host_type(self) -> str:
        """Host.Type of the VM's agent row (api/src/main/java/com/cloud/host/Host.java L33-37)."""
        return "SecondaryStorageVM" if self is VmType.SECONDARY_STORAGE else "ConsoleProxy"


@dataclass
class Account:
    uuid: str
    name: str
    domain_uuid: str
    domain_path: str
    user_uuid: str


@dataclass
class ManagementServer:
    uuid: str
    internal_id: int
    name: str
    ip: str
    version: str
    last_server_start: datetime
    last_boot: datetime
    in_force: dict[str, str | None] = field(default_factory=dict)
    """Global setting values this server read at its last start (what non-dynamic keys obey)."""
    last_server_stop: datetime | None = None
    state: str = "Up"
    decommissioned: bool = False
    """Shut down for good: listed as Down forever (listManagementServers filters nothing by state, and
    removeManagementServer only arrived in 4.22), never restarted."""


@dataclass
class HypervisorHost:
    """A Routing host: where system VMs run."""

    uuid: str
    internal_id: int
    name: str
    zone_uuid: str
    ip: str
    created: datetime
    hypervisor: str = "KVM"
    arch: str = "x86_64"
    state: str = "Up"
    resource_state: str = "Enabled"
    tags: frozenset[str] = frozenset()
    """Host tags: a system VM whose offering names host tags runs only on a host that has them all."""
    cpu_number: int = 16
    cpu_speed: int = 2400
    memory: int = 65536
    """MB; with cpu_number x cpu_speed, the most one system VM on this host may ask for."""


@dataclass(frozen=True)
class StoredFile:
    """A file the simulator wrote to secondary storage (getDiagnosticsData's zips)."""

    written: datetime
    source_vm_uuid: str
    contents: tuple[str, ...]
    """The files and outputs asked for, as fileinfo.txt inside the zip lists them."""


@dataclass
class ImageStore:
    uuid: str
    internal_id: int
    name: str
    zone_uuid: str
    url: str
    protocol: str = "nfs"
    provider: str = "NFS"
    readonly: bool = False
    size_total: int = 2 * 1024**4
    size_used: int = 300 * 1024**3
    files: dict[str, StoredFile] = field(default_factory=dict)
    """Files written to the store by path, e.g. diagnostics_data/diagnostics_files_20250101-120000.tar."""


@dataclass
class Template:
    uuid: str
    internal_id: int
    name: str
    created: datetime
    hypervisor: str = "KVM"
    arch: str = "x86_64"
    ready_in_zones: set[str] = field(default_factory=set)
    """Zone uuids where the template is downloaded to an image store (listTemplates shows it ready there).
    CloudStack's readiness check only asks that it is downloaded somewhere (cloud.py: zone_ready)."""


@dataclass
class Offering:
    uuid: str
    internal_id: int
    name: str
    display_text: str
    cpu_number: int
    cpu_speed: int
    memory: int
    created: datetime
    is_system: bool = True
    vm_type: str | None = "secondarystoragevm"
    unique_name: str | None = None
    state: str = "Active"
    offer_ha: bool = False
    limit_cpu_use: bool = False
    storage_type: str = "shared"
    default_use: bool = False
    dynamic_scaling: bool = True
    storage_tags: tuple[str, ...] = ()
    """Tags of the offering's disk offering (`storagetags`)."""
    host_tags: tuple[str, ...] = ()


@dataclass
class ZoneBehaviour:
    """How the simulated infrastructure of a zone misbehaves (set by scenarios and the admin path)."""

    boot_fails: bool = False
    """Every VM start in this zone fails: the scanner then churns through new SSVMs."""
    agent_connects_as: AgentState | None = None
    """The state an SSVM agent ends in after it connects, instead of Up: Connecting (startup never
    completes), Alert (the link closes again) or Disconnected (it stops answering pings)."""
    agent_connects: bool = True
    """False: agents in this zone never reach the management server (port 8250 blocked). A new SSVM then has
    no host row at all; an existing one keeps the status it had."""
    command_load: int = 0
    """A: active command-execution sessions in the zone (VMware delegation, data migration)."""
    vm_capacity: int = 10
    """How many system VMs the zone's hosts can run; starting more fails for lack of capacity."""


@dataclass
class Zone:
    uuid: str
    internal_id: int
    name: str
    created: datetime
    pod_uuid: str
    pod_name: str
    allocation_state: str = "Enabled"
    type: str = "Core"
    network_type: str = "Advanced"
    dns1: str | None = "8.8.8.8"
    dns2: str | None = None
    internal_dns1: str | None = None
    internal_dns2: str | None = None
    domain: str | None = None
    local_storage_enabled: bool = False
    security_groups_enabled: bool = False
    details: dict[str, str] = field(default_factory=dict)
    behaviour: ZoneBehaviour = field(default_factory=ZoneBehaviour)
    subnet: int = 1
    """Second octet of the zone's simulated address plans."""
    token: str = ""
    """data_center.zone_token, a random UUID set at creation (ConfigurationManagerImpl.createZone)."""

    @property
    def ssvm_required(self) -> bool:
        """isSecondaryStorageVmRequired: Boolean.parseBoolean of the zone detail, true when unset
        (SecondaryStorageManagerImpl.java L506-514): any value but "true" disables SSVMs."""
        value = self.details.get("enable.secstorage.vm")
        return value is None or value.lower() == "true"

    @property
    def scanned(self) -> bool:
        """listEnabledNonEdgeZoneIds (DataCenterDaoImpl.java L386-395)."""
        return self.allocation_state == "Enabled" and self.type != "Edge"


@dataclass
class Agent:
    """The VM's own host row (type SecondaryStorageVM, name = VM name)."""

    uuid: str
    internal_id: int
    name: str
    state: AgentState
    created: datetime
    version: str
    management_server_uuid: str
    disconnected: datetime | None = None
    last_pinged: datetime | None = None
    resource_state: str = "Enabled"


@dataclass
class BootRecord:
    """What a VM got when it last started: the settings a rollout has to wait for."""

    started_at: datetime
    offering_uuid: str
    settings: dict[str, str | None]
    """Values in force on the management server that started it (boot arguments)."""
    agent_connected_at: datetime | None = None
    connect_settings: dict[str, str | None] = field(default_factory=dict)
    """Set on each agent connect, so a reboot refreshes them (SecondaryStorageListener.processConnect)."""
    boot_count: int = 1
    boot_args: bool = True
    """False when no image store of the zone had free capacity at the start: finalizeVirtualMachineProfile
    returns before it appends the SSVM boot arguments, and orchestrateStart ignores that result."""


@dataclass
class SystemVm:
    uuid: str
    internal_id: int
    name: str
    type: VmType
    zone_uuid: str
    offering_uuid: str
    template_uuid: str
    created: datetime
    private_ip: str
    private_mac: str
    public_ip: str
    public_mac: str
    version: str
    role: Role = Role.TEMPLATE_PROCESSOR
    state: VmState = VmState.STOPPED
    host_uuid: str | None = None
    link_local_ip: str | None = None
    link_local_mac: str | None = None
    removed: datetime | None = None
    agent: Agent | None = None
    boot: BootRecord | None = None
    dynamically_scalable: bool = False
    root_on_local: bool = False
    """Its ROOT volume sits on host-local storage (it was created with a local-storage offering)."""
    agent_stuck_as: AgentState | None = None
    """Set by the admin path: the agent comes back in this state after every boot or reboot."""
    guest_hung: bool = False
    """Set by the admin path: the guest ignores ACPI and SSH and its agent stops pinging, until a stop."""
    guest_ssh: bool = True
    """Whether the host reaches the guest's SSH on the link-local address (runDiagnostics needs it)."""
    guest_booting: bool = False
    """Between the link drop of a reboot and the guest being up again: nothing runs inside it."""
    reachability: dict[str, bool] = field(default_factory=dict)
    """runDiagnostics targets by address; "*" is the default. Unlisted targets are reachable."""
    generation: int = 0
    """Bumped by every lifecycle step so timers started by an earlier step know they are stale."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)
    """CloudStack serialises work on one VM (VM work-job queue); so do we."""

    @property
    def is_ssvm(self) -> bool:
        return self.type is VmType.SECONDARY_STORAGE

    @property
    def live(self) -> bool:
        return self.removed is None
