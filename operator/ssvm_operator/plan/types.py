"""What the planner reads and what it returns. Plain frozen data, so plans are easy to test and to show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from ssvm_operator.model.diagnostics import Connectivity
from ssvm_operator.model.maintenance import Windows
from ssvm_operator.model.snapshot import Health, Inventory, SystemVm, Zone
from ssvm_operator.model.spec import PoolSpec


class ActionKind(StrEnum):
    START = "Start"
    """startSystemVm: the SSVM is Stopped and CloudStack's scanner has not restarted it within one scan."""
    REBOOT = "Reboot"
    """rebootSystemVm: the VM runs but its agent lost the management server."""
    RECREATE = "Recreate"
    """destroySystemVm: CloudStack's scanner creates the replacement (there is no API to create an SSVM)."""
    CHANGE_OFFERING = "ChangeOffering"
    """changeServiceForSystemVm, then stop and start: the offering applies only at the next start."""
    DISABLE_ZONE = "DisableZone"
    """updateZone enable.secstorage.vm=false, so CloudStack stops keeping SSVMs in the zone (replicas 0)."""
    ENABLE_ZONE = "EnableZone"
    """updateZone enable.secstorage.vm=true, so CloudStack keeps SSVMs in the zone again."""
    DESTROY_SURPLUS = "DestroySurplus"
    """destroySystemVm of an SSVM that CloudStack itself would not keep or recreate."""
    ROLLOUT_REBOOT = "RolloutReboot"
    """rebootSystemVm of a healthy SSVM whose agent connected before a boot-time setting took effect."""
    ROLLOUT_RESTART = "RolloutRestart"
    """stopSystemVm, then startSystemVm, of a healthy SSVM: boot arguments are built only at a start."""
    ROLLOUT_RECREATE = "RolloutRecreate"
    """destroySystemVm of a healthy SSVM so CloudStack recreates it with settings read only at creation."""
    UPGRADE_PATCH = "UpgradePatch"
    """patchSystemVm (4.17+): the agent and scripts of an SSVM left behind by a CloudStack upgrade."""
    UPGRADE_RECREATE = "UpgradeRecreate"
    """destroySystemVm of an SSVM on an older template or agent; CloudStack recreates it on the newest."""


@dataclass(frozen=True)
class Traits:
    """What the planner, the actor and the reporting need to know about one kind of action. Every rule
    about "which actions are X" asks this table; adding an action means adding its row."""

    disruptive: bool
    """Takes a serving SSVM (or one about to serve) out of service while it runs: counts against
    health.maxUnavailable, and no diagnostics round runs in the zone meanwhile."""
    removes_vm: bool
    """destroySystemVm: the SSVM is gone afterwards. It counts as leaving the zone, "not found" on submit is
    success, and evidence can be collected from its disk first."""
    ladder_rung: bool
    """A rung of the remediation ladder (start, reboot, recreate): remembered as the SSVM's
    last_remediation, so the next rung waits for it."""
    revives: bool
    """Starts or reboots the same VM: the ladder gives it rebootTimeoutSeconds to recover, from the moment
    it finished, before the next rung."""
    zone_level: bool
    """Touches the zone (updateZone), not an SSVM."""
    recreated_by_cloudstack: bool
    """Destroys an SSVM for CloudStack's scanner to replace: waits while the zone has no Ready system VM
    template, or nothing would come back."""
    rollout: bool
    """Part of a settings rollout: counted against rollout.maxUnavailable."""
    needs_store_capacity: bool = False
    """Destroys an SSVM or stops and starts one: held while no image store of the zone is under
    secondary.storage.capacity.threshold, since CloudStack could not create a replacement nor give a started
    one its boot arguments (plan/storage_hold.py)."""


_NONE = Traits(
    disruptive=False,
    removes_vm=False,
    ladder_rung=False,
    revives=False,
    zone_level=False,
    recreated_by_cloudstack=False,
    rollout=False,
)

TRAITS: Mapping[ActionKind, Traits] = {
    ActionKind.START: replace(_NONE, ladder_rung=True, revives=True),
    ActionKind.REBOOT: replace(_NONE, disruptive=True, ladder_rung=True, revives=True),
    ActionKind.RECREATE: replace(
        _NONE,
        disruptive=True,
        removes_vm=True,
        ladder_rung=True,
        recreated_by_cloudstack=True,
        needs_store_capacity=True,
    ),
    ActionKind.CHANGE_OFFERING: replace(_NONE, disruptive=True, needs_store_capacity=True),
    ActionKind.DISABLE_ZONE: replace(_NONE, zone_level=True),
    ActionKind.ENABLE_ZONE: replace(_NONE, zone_level=True),
    ActionKind.DESTROY_SURPLUS: replace(_NONE, disruptive=True, removes_vm=True, needs_store_capacity=True),
    ActionKind.ROLLOUT_REBOOT: replace(_NONE, disruptive=True, rollout=True),
    ActionKind.ROLLOUT_RECREATE: replace(
        _NONE,
        disruptive=True,
        removes_vm=True,
        recreated_by_cloudstack=True,
        rollout=True,
        needs_store_capacity=True,
    ),
    ActionKind.ROLLOUT_RESTART: replace(_NONE, disruptive=True, rollout=True, needs_store_capacity=True),
    ActionKind.UPGRADE_PATCH: replace(_NONE, disruptive=True),
    ActionKind.UPGRADE_RECREATE: replace(
        _NONE, disruptive=True, removes_vm=True, recreated_by_cloudstack=True, needs_store_capacity=True
    ),
}


def traits(kind: ActionKind) -> Traits:
    """The traits of `kind` (TRAITS has a row for every ActionKind; a unit test checks it)."""
    return TRAITS[kind]


class Severity(StrEnum):
    STALLED = "Stalled"
    """The declaration cannot be realised until a user fixes something."""
    DEGRADED = "Degraded"
    """The zone works below what was declared."""
    INFO = "Info"


@dataclass(frozen=True)
class InFlight:
    """An action the operator started and has not seen finish; persisted in status.inFlight."""

    action: ActionKind
    vm_id: str | None
    vm_name: str | None
    job_id: str | None
    started_at: datetime
    step: str | None = None


@dataclass(frozen=True)
class VmMemory:
    """What the operator remembers about one SSVM between polls; persisted in its status.ssvms row."""

    unhealthy_since: datetime | None = None
    last_remediation: ActionKind | None = None
    last_remediation_at: datetime | None = None


@dataclass(frozen=True)
class RolloutRequest:
    """From the endpoint's SSVMSettings: SSVMs booted before `since` must reboot (or be recreated)."""

    since: datetime
    """When the boot-time settings came into force on every management server."""
    recreate: bool
    max_unavailable: int
    active_zone: str | None
    """Rollouts go one zone at a time; other zones wait their turn."""
    restart: bool = False
    """Stop and start each SSVM: a boot argument changed, which a reboot does not apply."""
    settings: tuple[str, ...] = ()
    windows: Windows = field(default_factory=Windows)
    """SSVMSettings spec.rollout.maintenanceWindows: rollout actions wait for them too."""


@dataclass(frozen=True)
class PoolContext:
    """Everything one planning decision for one pool depends on."""

    spec: PoolSpec
    inventory: Inventory
    now: datetime
    in_flight: tuple[InFlight, ...] = ()
    memory: Mapping[str, VmMemory] = field(default_factory=dict)
    """By SSVM id."""
    scan_interval_seconds: float = 30.0
    """secstorage.capacityscan.interval: how long CloudStack may take to restart or recreate an SSVM."""
    backoff_until: datetime | None = None
    """Persisted remediation backoff after failed actions."""
    endpoint_tripped: bool = False
    """The endpoint's circuit breaker is open: no remediation anywhere on it."""
    pool_conflict: str | None = None
    """Set when another pool already claims this zone; the message says which."""
    rollout: RolloutRequest | None = None
    connectivity: Connectivity | None = None
    """The latest diagnostics from inside the zone's SSVMs (status.diagnostics); None = never checked."""
    reboots_sent: Mapping[str, datetime] = field(default_factory=dict)
    """When the operator last sent rebootSystemVm to each SSVM, by name (status.recentActions)."""
    surplus_given_up: tuple[datetime, ...] = ()
    """When the operator recently gave up an SSVM of the zone as surplus (status.recentActions)."""
    upgrade_turn: str | None = None
    """The zone whose SSVMs the endpoint's upgrade rolls now (one zone at a time); None = this pool may."""


@dataclass(frozen=True)
class PlannedAction:
    kind: ActionKind
    zone_id: str
    reason: str
    vm_id: str | None = None
    vm_name: str | None = None
    offering_id: str | None = None
    """Target offering, for CHANGE_OFFERING."""
    blocked: str | None = None
    """Why the action is not executed now (budget, paused, Observe, converging, backoff); None = execute."""
    target_version: str | None = None
    """For upgrade actions: the release the SSVM's agent reports once done (the actor skips one already
    there, so a restarted operator never patches twice)."""
    diagnosed: bool = False
    """Asked for by the connectivity diagnostics, not by CloudStack's state: the re-read before acting does
    not drop it because CloudStack shows the SSVM Running with its agent Up."""

    @property
    def disruptive(self) -> bool:
        return TRAITS[self.kind].disruptive


class Scope(StrEnum):
    """What a finding is about, widest first: within one severity the widest scope names the condition,
    so a zone-wide cause is not replaced by the SSVM symptoms that follow from it."""

    DEPENDENCY = "Dependency"
    """Something every SSVM of the zone depends on (storage, management servers, DNS, templates)."""
    ZONE = "Zone"
    """The zone or the pool's declaration as a whole."""
    SSVM = "SSVM"
    """One or more SSVMs, each on its own."""


@dataclass(frozen=True)
class Finding:
    """Something a user should know, shown as a condition reason and message."""

    severity: Severity
    reason: str
    message: str
    scope: Scope = Scope.ZONE


@dataclass(frozen=True)
class VmView:
    """One SSVM as the pool's status shows it: observed state plus the operator's judgement."""

    vm: SystemVm
    health: Health
    """After grace periods: an SSVM briefly Disconnected still counts as Converging."""
    memory: VmMemory


@dataclass(frozen=True)
class Plan:
    zone: Zone | None
    actions: tuple[PlannedAction, ...] = ()
    vms: tuple[VmView, ...] = ()
    findings: tuple[Finding, ...] = ()
    desired_replicas: int = 0
    ready_replicas: int = 0
    converging: bool = False

    @property
    def runnable(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if a.blocked is None)

    @property
    def memory(self) -> dict[str, VmMemory]:
        return {view.vm.id: view.memory for view in self.vms}
