"""The fault soak: the real operator against the simulator and the real API server under a seeded storm.

    report = run_soak(SoakConfig(seed=7, fault_seconds=20))
    print(report.table())
    assert report.violations == []

Four pools on one endpoint: two that act (`zone-1` keeps two SSVMs with `maxUnavailable: 1`, `zone-2` two
with `maxUnavailable: 2`), one in Observe mode (`zone-3`) and one paused (`zone-4`). For `fault_seconds` a
schedule drawn from `random.Random(seed)` injects CloudStack faults per command, breaks SSVMs, restarts the
management server, makes the Kubernetes API answer 409 and 5xx, and SIGKILLs the operator, preferably while
it has an action in flight. Meanwhile `InvariantMonitor` samples CloudStack's jobs and VMs and every pool's
status every `sample_seconds` and records each breach of the safety contract. Then the faults stop (stuck
jobs are released by one more management-server restart, as an administrator would) and every pool that
acts must become Ready within `converge_bound_seconds`.

The Kubernetes faults come from the fault proxy in front of kube-apiserver (the emulator's own, without
`make tools`' binaries or with SSVM_TESTS_KUBE=emulator). Only loopback: the simulator, the API server and its
proxy, and the operator listen on 127.0.0.1 and stop at the end.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cloudstack_sim.testing import AdminError, SimulatorHandle, running_simulator
from kube_emulator.testing import emulated_cluster
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    clear_faults,
    endpoint_docs,
    pool_doc,
)
from tests.e2e.operator_process import OperatorProcess
from tests.support.control_plane import BACKEND, binaries_available, control_plane
from tests.support.fault_proxy import fault_proxy
from tests.support.paths import REPOSITORY

# Every async command the operator submits; the simulator's job table is the record of what it did.
VM_JOB_COMMANDS = ("startSystemVm", "stopSystemVm", "rebootSystemVm", "destroySystemVm", "patchSystemVm")
READ_COMMANDS = (
    "listZones",
    "listSystemVms",
    "listHosts",
    "listServiceOfferings",
    "listConfigurations",
    "listCapabilities",
    "queryAsyncJobResult",
)
MUTATING_COMMANDS = (*VM_JOB_COMMANDS, "changeServiceForSystemVm", "updateZone", "updateConfiguration")

# CloudStack keeps two SSVMs per zone: R * secstorage.session.max >= secstorage.capacity.standby.
SCENARIO: dict[str, Any] = {
    # Two CloudStack upgrades happen during the soak: 4.20 -> 4.21 keeps the system VM template (agents are
    # patched), 4.21 -> 4.22 registers a new one (SSVMs are recreated).
    "cloudstack_version": "4.20",
    "settings": {"secstorage.session.max": "1", "secstorage.capacity.standby": "2"},
    "zones": [{"name": f"zone-{n}"} for n in range(1, 5)],
}
HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3, "remediation": "Recreate"}


@dataclass(frozen=True)
class PoolPlan:
    name: str
    zone: str
    replicas: int
    max_unavailable: int
    mode: str = "Enforce"
    paused: bool = False
    upgrade: str = "Recreate"

    @property
    def acts(self) -> bool:
        return self.mode == "Enforce" and not self.paused

    @property
    def role(self) -> str:
        return "acts" if self.acts else "paused" if self.paused else self.mode

    def document(self) -> dict[str, Any]:
        return pool_doc(
            self.name,
            self.zone,
            replicas=self.replicas,
            mode=self.mode,
            paused=self.paused,
            health={**HEALTH, "maxUnavailable": self.max_unavailable},
            upgrade={"strategy": self.upgrade},
        )


POOLS = (
    PoolPlan("zone-1", "zone-1", replicas=2, max_unavailable=1, upgrade="Patch"),
    PoolPlan("zone-2", "zone-2", replicas=2, max_unavailable=2),
    PoolPlan("zone-3", "zone-3", replicas=2, max_unavailable=1, mode="Observe"),
    PoolPlan("zone-4", "zone-4", replicas=2, max_unavailable=1, paused=True),
)


@dataclass(frozen=True)
class SoakConfig:
    seed: int = 1
    fault_seconds: float = 20.0
    """How long faults are injected."""
    converge_bound_seconds: float = 90.0
    """How long every acting pool may take to be Ready once the faults stop."""
    sample_seconds: float = 0.1
    """How often the invariants are checked."""
    fault_gap_seconds: tuple[float, float] = (0.2, 0.8)
    """Pause between two injected faults, drawn uniformly."""
    scan_interval: float = 0.5
    """CloudStack's secstorage.capacityscan.interval in the simulator; its delays scale with it."""
    operator_tick_seconds: float = 0.3
    client_timeout_seconds: int = 2
    """The endpoint's timeoutSeconds; an injected timeout holds the answer longer than that."""
    job_timeout_seconds: int = 10
    """The endpoint's jobTimeoutSeconds: how long the operator follows a stuck job."""
    work_dir: Path | None = None
    """Where the operator's log goes (a temporary directory when None)."""


@dataclass
class SoakReport:
    seed: int
    fault_seconds: float
    faults: Counter[str] = field(default_factory=Counter)
    """Faults injected, by kind."""
    actions: Counter[str] = field(default_factory=Counter)
    """CloudStack jobs the operator submitted, by command and outcome."""
    violations: list[str] = field(default_factory=list)
    samples: int = 0
    max_disrupted: dict[str, int] = field(default_factory=dict)
    """The most SSVMs of each zone seen disrupted by the operator at one time."""
    converge_seconds: float | None = None
    """From the end of the faults until every acting pool was Ready; None if the bound passed."""
    converge_bound_seconds: float = 0.0
    operator_log: Path | None = None

    def table(self) -> str:
        lines = [
            f"Fault soak, seed {self.seed}, {self.fault_seconds:.0f}s of faults, "
            f"{self.samples} invariant samples",
            "",
            "| Faults injected | Count |",
            "|---|---:|",
            *(f"| {kind} | {n} |" for kind, n in sorted(self.faults.items())),
            f"| **total** | **{sum(self.faults.values())}** |",
            "",
            "| Operator actions (CloudStack jobs) | Count |",
            "|---|---:|",
            *(f"| {kind} | {n} |" for kind, n in sorted(self.actions.items())),
            "",
            "| Invariant | Violations |",
            "|---|---:|",
            *(f"| {name} | {self._count(prefix)} |" for name, prefix in INVARIANTS.items()),
            "",
            "| Zone | Most SSVMs disrupted by the operator at once | maxUnavailable |",
            "|---|---:|---:|",
            *(
                f"| {p.zone} ({p.role}) | {self.max_disrupted.get(p.zone, 0)} | {p.max_unavailable} |"
                for p in POOLS
            ),
            "",
            "| Convergence after faults stop | Seconds |",
            "|---|---:|",
            f"| every acting pool Ready (bound {self.converge_bound_seconds:.0f}s) | "
            f"{'not reached' if self.converge_seconds is None else f'{self.converge_seconds:.1f}'} |",
        ]
        if self.violations:
            lines += ["", "Violations:", *(f"- {v}" for v in self.violations)]
        return "\n".join(lines)

    def _count(self, prefix: str) -> int:
        return sum(1 for v in self.violations if v.startswith(prefix))


INVARIANTS = {
    "more SSVMs disrupted by the operator than maxUnavailable in a zone": "budget",
    "two operator actions on one SSVM at once": "overlap",
    "a second destroy while the first destroy job had not failed": "destroy",
    "anything done in an Observe or paused zone": "hands-off",
    "two zones rolling a CloudStack upgrade at once": "zones",
    "a serving SSVM destroyed within two scans of CloudStack recreating it in its zone": "churn",
    "an acting pool not Ready and up to date within the bound after faults stop": "converge",
}


class InvariantMonitor:
    """Samples CloudStack and the pools' status; records every breach of the safety contract once."""

    def __init__(
        self,
        sim: SimulatorHandle,
        cluster: Cluster,
        pools: tuple[PoolPlan, ...],
        scan_interval: float = 0.5,
    ) -> None:
        self._sim = sim
        self._churn_window = timedelta(seconds=2 * scan_interval + 1)  # two scans; dates have whole seconds
        self.vm_created: dict[str, datetime] = {}
        self.vm_serving: dict[str, bool] = {}
        self._destroys_seen: set[str] = set()
        self._cluster = cluster
        self._pools = {p.zone: p for p in pools}
        self.vm_zone: dict[str, str] = {}
        self.vm_name: dict[str, str] = {}
        self.violations: dict[str, str] = {}
        self.samples = 0
        self.max_disrupted: Counter[str] = Counter()
        self.last_state: dict[str, Any] = {}
        self.last_status: dict[str, dict[str, Any]] = {}
        self._zone_details: dict[str, dict[str, str]] = {}

    def sample(self) -> None:
        # CloudStack first, then status: the operator drops a finished job from status before it submits
        # the next one, so a job seen here and an entry seen next are never a false "two at once".
        state = self._sim.admin.state()
        listed = self._cluster.request("GET", f"/apis/{API_VERSION}/namespaces/{NAMESPACE}/ssvmpools").body
        found = {item["metadata"]["name"]: dict(item.get("status") or {}) for item in listed["items"]}
        statuses = {pool: found.get(pool, {}) for pool in (p.name for p in self._pools.values())}
        self.samples += 1
        self.last_state, self.last_status = state, statuses
        for vm in state["vms"]:
            self.vm_zone[vm["id"]] = vm["zone"]
            self.vm_name[vm["id"]] = vm["name"]
        self.check(state, statuses)

    def _flag(self, key: str, message: str) -> None:
        self.violations.setdefault(key, message)

    def check(self, state: Mapping[str, Any], statuses: Mapping[str, Mapping[str, Any]]) -> None:
        """One sample: the simulator's `/_sim/state` and each pool's status, by pool name."""
        for vm in state["vms"]:
            self.vm_zone.setdefault(vm["id"], vm["zone"])
            self.vm_name.setdefault(vm["id"], vm["name"])
        jobs = [j for j in state["jobs"] if j["command"] in VM_JOB_COMMANDS and j["instance"]]
        self._check_churn(jobs)
        for vm in state["vms"]:
            if vm.get("created"):
                self.vm_created.setdefault(vm["id"], _when(vm["created"]))
            self.vm_serving[vm["id"]] = vm.get("state") == "Running" and vm.get("agent_state") == "Up"
        running = [j for j in jobs if j["status"] == "IN_PROGRESS"]
        busy: dict[str, set[str]] = defaultdict(set)
        per_vm: Counter[str] = Counter()
        for job in running:
            zone = self.vm_zone.get(job["instance"], "?")
            busy[zone].add(job["instance"])
            per_vm[job["instance"]] += 1
        for pool in self._pools.values():
            flights = [f for f in statuses.get(pool.name, {}).get("inFlight") or () if f.get("vmId")]
            recorded = Counter(f["vmId"] for f in flights)
            for vm_id, n in recorded.items():
                if n > 1:
                    self._flag(f"overlap:{vm_id}:status", f"overlap: {n} in-flight entries for {vm_id}")
            busy[pool.zone] |= set(recorded)
        for vm_id, n in per_vm.items():
            if n > 1:
                self._flag(f"overlap:{vm_id}", f"overlap: {n} CloudStack jobs at once on {self._vm(vm_id)}")
        for zone, vms in busy.items():
            self.max_disrupted[zone] = max(self.max_disrupted[zone], len(vms))
            pool = self._pools.get(zone)
            if pool is not None and len(vms) > pool.max_unavailable:
                names = ", ".join(sorted(self._vm(v) for v in vms))
                self._flag(
                    f"budget:{zone}:{sorted(vms)}",
                    f"budget: {len(vms)} SSVMs of {zone} disrupted at once ({names}); "
                    f"maxUnavailable {pool.max_unavailable}",
                )
        rolling = sorted(
            pool.zone
            for pool in self._pools.values()
            if any(
                str(f.get("action", "")).startswith("Upgrade")
                for f in statuses.get(pool.name, {}).get("inFlight") or ()
            )
        )
        if len(rolling) > 1:
            self._flag(f"zones:{rolling}", f"zones: {', '.join(rolling)} rolling an upgrade at once")
        self._check_destroys(jobs)
        self._check_hands_off(state, jobs)

    def _check_destroys(self, jobs: list[Mapping[str, Any]]) -> None:
        destroys: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for job in jobs:
            if job["command"] == "destroySystemVm":
                destroys[job["instance"]].append(job)
        for vm_id, seen in destroys.items():
            for earlier, later in itertools.pairwise(seen):
                if earlier["status"] != "FAILED":
                    self._flag(
                        f"destroy:{later['id']}",
                        f"destroy: a second destroySystemVm job {later['id']} for {self._vm(vm_id)} while "
                        f"job {earlier['id']} was {earlier['status']}",
                    )

    def _check_churn(self, jobs: list[Mapping[str, Any]]) -> None:
        """No SSVM that was serving is destroyed within two scans of CloudStack creating it in a zone where
        an SSVM had just been destroyed: that is giving up what CloudStack's scanner keeps recreating."""
        destroys = [j for j in jobs if j["command"] == "destroySystemVm" and j.get("created")]
        for job in destroys:
            if job["id"] in self._destroys_seen:
                continue
            self._destroys_seen.add(job["id"])
            vm_id, at = job["instance"], _when(job["created"])
            created, zone = self.vm_created.get(vm_id), self.vm_zone.get(vm_id)
            if created is None or not self.vm_serving.get(vm_id) or at - created > self._churn_window:
                continue
            replaced = [
                other
                for other in destroys
                if other["instance"] != vm_id
                and self.vm_zone.get(other["instance"]) == zone
                and timedelta(0) <= created - _when(other["created"]) <= self._churn_window
            ]
            if replaced:
                self._flag(
                    f"churn:{vm_id}",
                    f"churn: {self._vm(vm_id)} destroyed {int((at - created).total_seconds())}s after "
                    f"CloudStack created it in {zone} to replace {self._vm(replaced[0]['instance'])}",
                )

    def _check_hands_off(self, state: Mapping[str, Any], jobs: list[Mapping[str, Any]]) -> None:
        for job in jobs:
            pool = self._pools.get(self.vm_zone.get(job["instance"], "?"))
            if pool is not None and not pool.acts:
                self._flag(
                    f"hands-off:{job['id']}",
                    f"hands-off: {job['command']} on {self._vm(job['instance'])} in {pool.mode} "
                    f"{'paused ' if pool.paused else ''}zone {pool.zone}",
                )
        for zone in state["zones"]:
            pool = self._pools.get(zone["name"])
            if pool is None or pool.acts:
                continue
            details = dict(zone.get("details") or {})
            before = self._zone_details.setdefault(zone["name"], details)
            if details != before:
                self._flag(
                    f"hands-off:zone:{zone['name']}",
                    f"hands-off: zone {zone['name']} details changed from {before} to {details}",
                )

    def _vm(self, vm_id: str) -> str:
        return self.vm_name.get(vm_id, vm_id)

    def actions(self) -> Counter[str]:
        outcomes = {"SUCCEEDED": "succeeded", "FAILED": "failed", "IN_PROGRESS": "still running"}
        counted: Counter[str] = Counter()
        for job in self.last_state.get("jobs") or ():
            if job["command"] in VM_JOB_COMMANDS:
                counted[f"{job['command']} {outcomes.get(job['status'], job['status'].lower())}"] += 1
        calls = self.last_state.get("calls") or {}
        for command in ("changeServiceForSystemVm", "updateZone", "updateConfiguration"):
            if calls.get(command):
                counted[f"{command} calls"] += calls[command]
        return counted


class FaultSchedule:
    """Draws one fault at a time from a seeded generator and injects it."""

    def __init__(
        self,
        rng: random.Random,
        sim: SimulatorHandle,
        cluster: Cluster,
        operator: OperatorProcess,
        monitor: InvariantMonitor,
        config: SoakConfig,
    ) -> None:
        self._rng = rng
        self._sim = sim
        self._cluster = cluster
        self._operator = operator
        self._monitor = monitor
        self._config = config
        self.injected: Counter[str] = Counter()
        self._kinds: list[tuple[Callable[[], str | None], int]] = [
            (self._cloudstack_error, 4),
            (self._cloudstack_gateway, 2),
            (self._cloudstack_timeout, 2),
            (self._cloudstack_slow, 2),
            (self._job_failure, 3),
            (self._job_stuck, 1),
            (self._agent_drop, 5),
            (self._vm_error, 5),
            (self._management_server_restart, 1),
            (self._kube_conflict, 3),
            (self._kube_server_error, 3),
            (self._operator_kill, 2),
            (self.upgrade_cloudstack, 1),
            (self._agents_cannot_connect, 1),
            (self._hung_guest, 2),
            (self._store_full, 1),
        ]
        self._reverts: list[tuple[float, Callable[[], object]]] = []
        """Faults that last a while: when each is undone, and how."""
        self._upgrades = [("4.21", False), ("4.22", True)]

    def revert(self, everything: bool = False) -> None:
        """Undo the lasting faults that are due (all of them at the end of the soak)."""
        now = time.monotonic()
        due = [(at, undo) for at, undo in self._reverts if everything or at <= now]
        self._reverts = [r for r in self._reverts if r not in due]
        for _, undo in due:
            with suppress(AdminError):
                undo()

    def _lasting(self, undo: Callable[[], object]) -> None:
        self._reverts.append((time.monotonic() + self._rng.uniform(2.0, 6.0), undo))

    def inject_one(self) -> None:
        self.revert()
        inject = self._rng.choices([k for k, _ in self._kinds], weights=[w for _, w in self._kinds])[0]
        try:
            kind = inject()
        except AdminError:
            kind = None  # e.g. the VM chosen was expunged a moment ago
        if kind is not None:
            self.injected[kind] += 1

    # CloudStack answers

    def _cloudstack_error(self) -> str:
        command = self._rng.choice((*READ_COMMANDS, *VM_JOB_COMMANDS))
        status = self._rng.choice((530, 530, 500, 503))
        self._sim.admin.inject_fault(command, "error", count=self._rng.randint(1, 3), status=status)
        return "CloudStack error 5xx/530"

    def _cloudstack_gateway(self) -> str:
        command = self._rng.choice((*READ_COMMANDS, *VM_JOB_COMMANDS))
        status = self._rng.choice((502, 504))
        self._sim.admin.inject_fault(command, "gateway", count=self._rng.randint(1, 2), status=status)
        return "CloudStack gateway page 502/504"

    def _cloudstack_timeout(self) -> str:
        # Reads only: a mutation that lands after the client gave up cannot be known to the operator until
        # the next inventory shows CloudStack's pending-job marker (see docs/reliability.md).
        command = self._rng.choice(READ_COMMANDS)
        delay = self._config.client_timeout_seconds + 1.0
        self._sim.admin.inject_fault(command, "timeout", count=1, delay=delay)
        return "CloudStack timeout"

    def _cloudstack_slow(self) -> str:
        command = self._rng.choice((*READ_COMMANDS, *VM_JOB_COMMANDS))
        delay = round(self._rng.uniform(0.2, self._config.client_timeout_seconds * 0.6), 2)
        self._sim.admin.inject_fault(command, "slow", count=self._rng.randint(1, 3), delay=delay)
        return "CloudStack slow answer"

    def _job_failure(self) -> str:
        command = self._rng.choice(VM_JOB_COMMANDS)
        self._sim.admin.inject_fault(command, "job_failure", count=1)
        return "async job failure"

    def _job_stuck(self) -> str:
        command = self._rng.choice(VM_JOB_COMMANDS)
        self._sim.admin.inject_fault(command, "job_stuck", count=1)
        return "async job stuck"

    def _management_server_restart(self) -> str:
        self._sim.admin.restart_management_server(downtime=self._rng.choice((0.0, 0.0, 0.5)))
        return "management-server restart"

    def upgrade_cloudstack(self) -> str | None:
        """The next CloudStack upgrade, if one is left: the management servers restart on it."""
        if not self._upgrades:
            return None
        version, new_template = self._upgrades.pop(0)
        self._sim.admin.upgrade(version, new_template=new_template)
        return "CloudStack upgrade (new template)" if new_template else "CloudStack upgrade (same template)"

    # SSVMs

    def _healthy_ssvm(self) -> dict[str, Any] | None:
        state = self._monitor.last_state or self._sim.admin.state()
        # Leave room under the zone's VM capacity: a zone that keeps failing fills up with Error VMs.
        per_zone = Counter(vm["zone"] for vm in state["vms"] if vm["type"] == "SecondaryStorageVm")
        candidates = [
            vm
            for vm in self._sim.admin.ssvms(running=True, state=state)
            if per_zone[vm["zone"]] <= 3 and not vm["pending_job"]
        ]
        return self._rng.choice(candidates) if candidates else None

    def _agent_drop(self) -> str | None:
        vm = self._healthy_ssvm()
        if vm is None:
            return None
        agent = self._rng.choice(("Disconnected", "Alert"))
        self._sim.admin.set_agent_state(vm["id"], agent, sticky=self._rng.random() < 0.5)
        return "SSVM agent drop"

    def _vm_error(self) -> str | None:
        vm = self._healthy_ssvm()
        if vm is None:
            return None
        self._sim.admin.fail_vm(vm["id"], self._rng.choice(("Error", "Error", "Unknown", "Stopped")))
        return "SSVM VM to Error/Unknown/Stopped"

    def _agents_cannot_connect(self) -> str:
        """Port 8250 closed for a while: agents of new or restarted SSVMs of one zone never connect."""
        zone = self._rng.choice([p.zone for p in POOLS])
        self._sim.admin.set_zone_behaviour(zone, agent_connects=False)
        self._lasting(lambda: self._sim.admin.set_zone_behaviour(zone, agent_connects=True))
        return "SSVM agents cannot connect (8250)"

    def _hung_guest(self) -> str | None:
        """A guest that stops answering: its agent drops, reboots are ignored, diagnostics cannot run."""
        vm = self._healthy_ssvm()
        if vm is None:
            return None
        self._sim.admin.set_guest(vm["id"], hung=True)
        return "SSVM guest hung"

    def _store_full(self) -> str | None:
        """Every image store of one zone over secondary.storage.capacity.threshold for a while."""
        zone = self._rng.choice([p.zone for p in POOLS])
        stores = [s["name"] for s in self._sim.admin.state()["image_stores"] if s["zone"] == zone]
        if not stores:
            return None
        for store in stores:
            self._sim.admin.set_image_store(store, total_gib=1000, used_gib=990)
        self._lasting(lambda: [self._sim.admin.set_image_store(st, used_gib=100) for st in stores])
        return "image store full"

    # Kubernetes

    def _kube_conflict(self) -> str:
        verb, resource = self._rng.choice(
            (
                ("patch", "ssvmpools/status"),
                ("patch", "ssvmpools/status"),
                ("patch", "cloudstackendpoints/status"),
                ("patch", "ssvmpools"),
                ("create", "events"),
            )
        )
        self._cluster.inject_fault(verb, resource, status=409, count=self._rng.randint(1, 3))
        return "Kubernetes API 409"

    def _kube_server_error(self) -> str:
        verb, resource = self._rng.choice(
            (
                ("patch", "ssvmpools/status"),
                ("patch", "ssvmpools/status"),
                ("patch", "cloudstackendpoints/status"),
                ("create", "events"),
                ("get", "secrets"),
                ("list", "ssvmpools"),
            )
        )
        status = self._rng.choice((500, 503))
        self._cluster.inject_fault(verb, resource, status=status, count=self._rng.randint(1, 2))
        return "Kubernetes API 5xx"

    # The operator

    def _operator_kill(self) -> str:
        """SIGKILL, preferably while an action is in flight; a new process starts at once."""
        deadline = time.monotonic() + 4.0
        mid_action = False
        while time.monotonic() < deadline:
            if any(s.get("inFlight") for s in self._monitor.last_status.values()):
                mid_action = True
                break
            time.sleep(0.05)
        self._operator.kill()
        time.sleep(self._rng.uniform(0.0, 0.5))
        self._operator.start()
        return "operator SIGKILL mid-action" if mid_action else "operator SIGKILL while idle"


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


@contextmanager
def _sampling(monitor: InvariantMonitor, every: float) -> Iterator[None]:
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                monitor.sample()
            except Exception as error:  # a sample must not end the soak; report it at the end
                errors.append(error)
            stop.wait(max(0.0, every - (time.monotonic() - started)))

    thread = threading.Thread(target=loop, name="invariant-monitor", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)
    if len(errors) > monitor.samples // 10 + 3:
        raise RuntimeError(f"the invariant monitor failed {len(errors)} times; last: {errors[-1]!r}")


def _converged(monitor: InvariantMonitor, pools: tuple[PoolPlan, ...]) -> bool:
    state, statuses = monitor.last_state, monitor.last_status
    for pool in pools:
        if not pool.acts:
            continue
        status = statuses.get(pool.name) or {}
        ready = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), {})
        if ready.get("status") != "True" or status.get("inFlight") or status.get("outdatedReplicas"):
            return False
        vms = [vm for vm in state.get("vms") or () if vm["type"] == "SecondaryStorageVm"]
        in_zone = [vm for vm in vms if vm["zone"] == pool.zone]
        healthy = [vm for vm in in_zone if vm["state"] == "Running" and vm["agent_state"] == "Up"]
        if len(healthy) != pool.replicas or len(in_zone) != pool.replicas:
            return False
    return True


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(0.1)


def _kubernetes(stack: ExitStack, work_dir: Path) -> tuple[Cluster, Cluster]:
    """The cluster the operator uses and faults are injected into, and the one the monitor reads.

    With kube-apiserver and etcd at hand (`make tools`), the real control plane behind the fault proxy,
    read directly so the monitor's reads never meet a fault meant for the operator; else the emulator.
    """
    if binaries_available() and os.environ.get(BACKEND) != "emulator":
        plane = stack.enter_context(control_plane(crds=[REPOSITORY / "crds"]))
        return stack.enter_context(fault_proxy(plane.admin, work_dir / "proxied.kubeconfig")), plane.admin
    emulated = stack.enter_context(emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=[NAMESPACE]))
    return emulated, emulated


def run_soak(config: SoakConfig, *, log: Callable[[str], None] = lambda _: None) -> SoakReport:
    rng = random.Random(config.seed)
    report = SoakReport(
        seed=config.seed,
        fault_seconds=config.fault_seconds,
        converge_bound_seconds=config.converge_bound_seconds,
    )
    with ExitStack() as stack:
        work_dir = config.work_dir
        if work_dir is None:
            import tempfile

            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ssvm-soak-")))
        sim = stack.enter_context(
            running_simulator(
                mode="subprocess", scenario=SCENARIO, scan_interval=config.scan_interval, seed=config.seed
            )
        )
        cluster, reader = _kubernetes(stack, work_dir)
        operator = OperatorProcess(
            cluster.env(), work_dir / "operator.log", tick_seconds=config.operator_tick_seconds
        )
        report.operator_log = operator.log_path
        operator.start()
        stack.callback(operator.stop)
        endpoint = endpoint_docs(sim.api_url, sim.api_key, sim.secret_key)
        endpoint[1]["spec"].update(
            timeoutSeconds=config.client_timeout_seconds, jobTimeoutSeconds=config.job_timeout_seconds
        )
        apply(cluster, *endpoint, *(pool.document() for pool in POOLS))
        monitor = InvariantMonitor(sim, reader, POOLS, config.scan_interval)
        log("waiting for every zone to run its two SSVMs")
        monitor.sample()
        _wait(lambda: (monitor.sample(), _converged(monitor, POOLS))[1], 60, "a healthy start")
        sim.admin.reset_call_counts()

        schedule = FaultSchedule(rng, sim, cluster, operator, monitor, config)
        with _sampling(monitor, config.sample_seconds):
            log(f"injecting faults for {config.fault_seconds:.0f}s (seed {config.seed})")
            schedule.injected[str(schedule.upgrade_cloudstack())] += 1
            ends = time.monotonic() + config.fault_seconds
            while time.monotonic() < ends:
                schedule.inject_one()
                time.sleep(rng.uniform(*config.fault_gap_seconds))

            log("faults stop; waiting for convergence")
            stopped = time.monotonic()
            sim.admin.clear_faults()
            schedule.revert(everything=True)
            clear_faults(cluster)
            while (upgraded := schedule.upgrade_cloudstack()) is not None:  # every soak rolls both upgrades
                schedule.injected[upgraded] += 1
            # Stuck jobs end only when a management server restarts (they fail with 530 then).
            sim.admin.restart_management_server()
            if not operator.running:
                operator.start()
            deadline = stopped + config.converge_bound_seconds
            while time.monotonic() < deadline:
                if _converged(monitor, POOLS):
                    report.converge_seconds = time.monotonic() - stopped
                    break
                time.sleep(config.sample_seconds)
            monitor.sample()
        if report.converge_seconds is None:
            waiting = {
                p.name: next(
                    (
                        c
                        for c in monitor.last_status.get(p.name, {}).get("conditions") or ()
                        if c["type"] == "Ready"
                    ),
                    {},
                ).get("message")
                for p in POOLS
                if p.acts
            }
            monitor.violations.setdefault(
                "converge",
                f"converge: acting pools not Ready {config.converge_bound_seconds:.0f}s after the faults: "
                f"{waiting}",
            )
        report.faults = schedule.injected
        report.actions = monitor.actions()
        report.violations = list(monitor.violations.values())
        report.samples = monitor.samples
        report.max_disrupted = dict(monitor.max_disrupted)
        log(f"operator log: {operator.log_path}")
    return report
