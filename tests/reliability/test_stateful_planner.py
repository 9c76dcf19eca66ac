"""The safety contract as a state machine: the real planner and actor against a small model of CloudStack.

Hypothesis breaks SSVMs, moves the clock, lets jobs finish, fail or hang, restarts the management server,
and kills the operator at the two worst moments (right after a job was submitted but before its id reached
status, and before the end-of-poll status write). The operator's state between polls is only what its
status holds, written and read through the same render/parse functions as in the cluster. After every
step the invariants of docs/reliability.md hold; at the end, with the faults gone, the acting zone is back
to what it declares.

Two zones: zone A belongs to a pool that acts (its replicas, maxUnavailable and remediation are drawn),
zone B to a pool in Observe mode or paused, where nothing may ever be done.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ssvm_operator.act.actor import Actor
from ssvm_operator.act.cycle import run_pool_cycle
from ssvm_operator.act.outcome import Outcome
from ssvm_operator.cloud.client import Job, JobState
from ssvm_operator.cloud.errors import PermanentError
from ssvm_operator.kube.pool_status import (
    backoff_from_status,
    in_flight_from_status,
    memory_from_status,
    render_backoff,
    render_in_flight,
    render_ssvms,
)
from ssvm_operator.model.snapshot import Inventory, Offering, SystemVm, Zone
from ssvm_operator.model.spec import HealthPolicy, Mode, PoolSpec, Remediation
from ssvm_operator.plan.types import InFlight, PoolContext, VmMemory

SCAN_SECONDS = 30.0
POLL_SECONDS = 30.0
JOB_TIMEOUT_SECONDS = 600.0
START = datetime(2025, 10, 30, 12, 0, tzinfo=UTC)
OFFERING = Offering("off-std", "System Offering For Secondary Storage VM", True, "secondarystoragevm")
ZONE_A, ZONE_B = "zone-a-id", "zone-b-id"
KEPT_STATES = ("Running", "Starting", "Stopped", "Stopping")
"""States CloudStack's scanner counts as an SSVM of the zone; Error and Unknown ones get a replacement."""
VM_JOBS = ("startSystemVm", "stopSystemVm", "rebootSystemVm", "destroySystemVm")


class StatusWriteFailed(Exception):
    """The status patch that carries a new job id did not reach the cluster (the operator died)."""


@dataclass
class ModelVm:
    id: str
    name: str
    zone_id: str
    state: str
    agent: str | None
    created: datetime
    sticky: bool = False
    """A reboot or start does not bring the agent back: only a new SSVM does."""


@dataclass
class ModelJob:
    id: str
    command: str
    vm_id: str
    zone_id: str
    fate: str = "ok"
    """ok, fail or stuck: decided when it is submitted."""
    state: JobState = JobState.PENDING


@dataclass
class ModelCloud:
    """CloudStack as far as SSVMs go: VMs, async jobs, the scanner, and the zone detail."""

    now: datetime = START
    standby: int = 1
    vms: dict[str, ModelVm] = field(default_factory=dict)
    jobs: list[ModelJob] = field(default_factory=list)
    ssvm_enabled: dict[str, bool] = field(default_factory=lambda: {ZONE_A: True, ZONE_B: True})
    zone_updates: list[tuple[str, bool]] = field(default_factory=list)
    next_fates: list[str] = field(default_factory=list)
    last_scan: datetime = START
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def create_vm(self, zone_id: str, state: str = "Running", agent: str | None = "Up") -> ModelVm:
        number = next(self._ids)
        vm = ModelVm(f"vm-{number}", f"s-{number}-VM", zone_id, state, agent, self.now)
        self.vms[vm.id] = vm
        return vm

    def pending_job(self, vm_id: str) -> ModelJob | None:
        return next(
            (j for j in reversed(self.jobs) if j.vm_id == vm_id and j.state is JobState.PENDING), None
        )

    def submit(self, command: str, vm_id: str) -> str:
        vm = self.vms.get(vm_id)
        if vm is None:
            raise PermanentError(command, f"Unable to execute API command due to invalid value {vm_id}", 431)
        fate = self.next_fates.pop(0) if self.next_fates else "ok"
        job = ModelJob(f"job-{next(self._ids)}", command, vm_id, vm.zone_id, fate)
        self.jobs.append(job)
        return job.id

    def progress(self) -> None:
        """Every job that is not stuck ends; a VM the scanner created finishes connecting."""
        for job in self.jobs:
            if job.state is JobState.PENDING and job.fate != "stuck":
                job.state = JobState.SUCCEEDED if job.fate == "ok" and self._apply(job) else JobState.FAILED
        for vm in self.vms.values():
            if vm.state == "Running" and vm.agent == "Connecting":
                vm.agent = "Down" if vm.sticky else "Up"

    def _apply(self, job: ModelJob) -> bool:
        vm = self.vms.get(job.vm_id)
        if vm is None:
            return False
        if job.command == "destroySystemVm":
            del self.vms[vm.id]
        elif job.command == "stopSystemVm":
            vm.state, vm.agent = "Stopped", "Disconnected"
        elif job.command == "startSystemVm":
            if vm.state != "Stopped":
                return False  # a VM in Error fails to start (530)
            vm.state, vm.agent = "Running", "Down" if vm.sticky else "Up"
        elif job.command == "rebootSystemVm":
            if vm.state != "Running":
                return False
            vm.agent = "Down" if vm.sticky else "Up"
        return True

    def scan(self) -> None:
        """CloudStack's scanner, once per interval: one change per zone, a restart before a creation."""
        if (self.now - self.last_scan).total_seconds() < SCAN_SECONDS:
            return
        self.last_scan = self.now
        for zone_id, enabled in self.ssvm_enabled.items():
            if not enabled:
                continue
            in_zone = [vm for vm in self.vms.values() if vm.zone_id == zone_id]
            stopped = [vm for vm in in_zone if vm.state == "Stopped" and self.pending_job(vm.id) is None]
            if stopped:
                stopped[0].state, stopped[0].agent = "Running", "Connecting"
            elif sum(1 for vm in in_zone if vm.state in KEPT_STATES) < self.standby:
                self.create_vm(zone_id, agent="Connecting")

    def restart_management_server(self) -> None:
        """Pending jobs fail with 530; the VM work they started still completes."""
        for job in self.jobs:
            if job.state is JobState.PENDING:
                self._apply(job)
                job.state = JobState.FAILED

    def inventory(self) -> Inventory:
        zones = tuple(
            Zone(id=zone_id, name=zone_id.removesuffix("-id"), ssvm_enabled=enabled)
            for zone_id, enabled in self.ssvm_enabled.items()
        )
        return Inventory(
            observed_at=self.now,
            zones=zones,
            ssvms=tuple(self.system_vm(vm) for vm in self.vms.values()),
            offerings=(OFFERING,),
            standby_replicas=self.standby,
            scan_interval_seconds=SCAN_SECONDS,
        )

    def system_vm(self, vm: ModelVm) -> SystemVm:
        pending = self.pending_job(vm.id)
        return SystemVm(
            id=vm.id,
            name=vm.name,
            zone_id=vm.zone_id,
            state=vm.state,
            agent_state=vm.agent,
            offering_id=OFFERING.id,
            created=vm.created,
            pending_job_id=pending.id if pending else None,
        )


class ModelClient:
    """CloudStack as the operator asks it (cloud/client.CloudApi), answered from the model."""

    def __init__(self, cloud: ModelCloud) -> None:
        self.cloud = cloud

    async def list(self, command: str, **params: Any) -> list[dict[str, Any]]:
        if command == "listSystemVms":
            vm = self.cloud.vms.get(str(params.get("id")))
            if vm is None:
                return []
            pending = self.cloud.pending_job(vm.id)
            row = {"id": vm.id, "name": vm.name, "zoneid": vm.zone_id, "state": vm.state}
            return [{**row, "jobid": pending.id} if pending else row]
        if command == "listHosts":
            vm = next((v for v in self.cloud.vms.values() if v.name == params.get("name")), None)
            return [{"name": vm.name, "state": vm.agent}] if vm is not None and vm.agent else []
        raise AssertionError(f"the actor does not list {command}")

    async def call(self, command: str, **params: Any) -> dict[str, Any]:
        assert command == "updateZone", command
        enabled = params["details"][0]["value"] == "true"
        self.cloud.ssvm_enabled[params["id"]] = enabled
        self.cloud.zone_updates.append((params["id"], enabled))
        return {}

    async def submit(self, command: str, **params: Any) -> str:
        return self.cloud.submit(command, str(params["id"]))

    async def job(self, job_id: str) -> Job:
        job = next(j for j in self.cloud.jobs if j.id == job_id)
        if job.state is JobState.FAILED:
            return Job(job_id, JobState.FAILED, error_code=530, error_text="Simulated failure")
        return Job(job_id, job.state)

    async def wait(self, job_id: str, *, deadline: float | None = None) -> Job:
        return await self.job(job_id)  # the model's time moves only between steps


@dataclass
class PoolUnderTest:
    spec: PoolSpec
    zone_id: str
    status: dict[str, Any] = field(default_factory=dict)
    """What the cluster holds: the only state that survives the operator."""


class OperatorAgainstCloudStack(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cloud = ModelCloud()
        self.client = ModelClient(self.cloud)
        self.loop = asyncio.new_event_loop()
        self.pools: list[PoolUnderTest] = []
        self.fail_next_record = False

    def teardown(self) -> None:
        try:
            if self.pools:
                self.faults_stop_and_the_acting_zone_converges()
        finally:
            self.loop.close()

    @initialize(
        replicas=st.sampled_from([0, 1, 2, 2, 3, 3]),
        max_unavailable=st.integers(0, 2),
        remediation=st.sampled_from(list(Remediation)),
        grace=st.sampled_from([0.0, 60.0, 300.0]),
        hands_off=st.sampled_from(["Observe", "paused"]),
    )
    def region(
        self, replicas: int, max_unavailable: int, remediation: Remediation, grace: float, hands_off: str
    ) -> None:
        self.cloud.standby = max(1, replicas)
        for zone_id in (ZONE_A, ZONE_B):
            for _ in range(self.cloud.standby):
                self.cloud.create_vm(zone_id)
        policy = HealthPolicy(
            unhealthy_after_seconds=grace,
            remediation=remediation,
            max_unavailable=max_unavailable,
            reboot_timeout_seconds=120.0,
        )
        acting = PoolSpec(endpoint="cloud", zone="zone-a", replicas=replicas, health=policy)
        watching = replace(
            acting,
            zone="zone-b",
            replicas=self.cloud.standby,
            paused=hands_off == "paused",
            mode=Mode.OBSERVE if hands_off == "Observe" else Mode.ENFORCE,
        )
        self.pools = [PoolUnderTest(acting, ZONE_A), PoolUnderTest(watching, ZONE_B)]

    # CloudStack and the world

    @rule(
        data=st.data(),
        how=st.sampled_from(["Disconnected", "Down sticky", "Error", "Unknown", "Stopped"]),
    )
    def ssvms_break(self, data: st.DataObject, how: str) -> None:
        """One or two SSVMs at once, as a host failure takes several."""
        if not self.cloud.vms:
            return
        names = data.draw(
            st.lists(st.sampled_from(sorted(self.cloud.vms)), min_size=1, max_size=2, unique=True)
        )
        for vm in (self.cloud.vms[name] for name in names):
            if how == "Down sticky":
                vm.agent, vm.sticky = "Down", True
            elif how == "Disconnected":
                vm.agent = "Disconnected" if vm.state == "Running" else vm.agent
            elif how == "Stopped":
                vm.state, vm.agent = "Stopped", "Disconnected"
            else:
                vm.state, vm.agent = how, "Disconnected"

    @rule(seconds=st.sampled_from([1, 31, 61, 130, 301]))
    def time_passes(self, seconds: int) -> None:
        self.cloud.now += timedelta(seconds=seconds)
        self.cloud.scan()

    @rule()
    def jobs_progress(self) -> None:
        self.cloud.progress()

    @rule(fate=st.sampled_from(["fail", "stuck"]))
    def next_job_goes_wrong(self, fate: str) -> None:
        self.cloud.next_fates.append(fate)

    @rule()
    def management_server_restarts(self) -> None:
        self.cloud.restart_management_server()

    # The operator

    @rule()
    def operator_polls(self) -> None:
        self.poll_every_pool()

    @rule()
    def operator_dies_before_its_end_of_poll_status_write(self) -> None:
        self.poll_every_pool(write_status=False)

    @rule()
    def operator_dies_right_after_submitting_a_job(self) -> None:
        self.fail_next_record = True
        self.poll_every_pool()
        self.fail_next_record = False

    def poll_every_pool(self, write_status: bool = True) -> None:
        for pool in self.pools:
            # StatusWriteFailed: the process is gone; what reached status is all the next one knows.
            with contextlib.suppress(StatusWriteFailed):
                self.loop.run_until_complete(self.reconcile(pool, write_status))

    async def reconcile(self, pool: PoolUnderTest, write_status: bool) -> None:
        """kube/pools.reconcile_pool without Kubernetes: status in, the same cycle, status out."""
        now = self.cloud.now

        async def record(entries: tuple[InFlight, ...]) -> None:
            if self.fail_next_record:
                raise StatusWriteFailed
            pool.status["inFlight"] = render_in_flight(entries)

        actor = Actor(
            self.client, in_flight_from_status(pool.status), record, lambda: now, JOB_TIMEOUT_SECONDS
        )
        backoff = backoff_from_status(pool.status)

        async def observe(outcomes: Sequence[Outcome], memory: dict[str, VmMemory]) -> PoolContext:
            return PoolContext(
                spec=pool.spec,
                inventory=self.cloud.inventory(),
                now=now,
                in_flight=tuple(actor.in_flight),
                memory=memory,
                scan_interval_seconds=SCAN_SECONDS,
                backoff_until=backoff.next_attempt_after,
            )

        cycle = await run_pool_cycle(
            actor, memory_from_status(pool.status), backoff, observe, now, POLL_SECONDS
        )
        assert cycle.plan is not None and cycle.memory is not None and cycle.backoff is not None
        if not write_status:
            return
        pool.status["ssvms"] = render_ssvms(cycle.plan.vms, cycle.memory)
        pool.status["inFlight"] = render_in_flight(actor.in_flight)
        pool.status["remediation"] = render_backoff(cycle.backoff)

    # Invariants

    def operator_jobs(self, zone_id: str) -> list[ModelJob]:
        return [j for j in self.cloud.jobs if j.zone_id == zone_id]

    @invariant()
    def never_more_ssvms_disrupted_by_the_operator_than_the_budget(self) -> None:
        for pool in self.pools:
            disrupted = {j.vm_id for j in self.operator_jobs(pool.zone_id) if j.state is JobState.PENDING}
            disrupted |= {f["vmId"] for f in pool.status.get("inFlight") or () if f.get("vmId")}
            assert len(disrupted) <= pool.spec.health.max_unavailable, (pool.spec.zone, disrupted)

    @invariant()
    def never_two_operator_actions_on_one_ssvm(self) -> None:
        pending = [j.vm_id for j in self.cloud.jobs if j.state is JobState.PENDING]
        assert len(pending) == len(set(pending)), pending
        for pool in self.pools:
            recorded = [f["vmId"] for f in pool.status.get("inFlight") or () if f.get("vmId")]
            assert len(recorded) == len(set(recorded)), recorded

    @invariant()
    def never_a_second_destroy_unless_the_first_failed(self) -> None:
        destroys: dict[str, list[ModelJob]] = {}
        for job in self.cloud.jobs:
            if job.command == "destroySystemVm":
                destroys.setdefault(job.vm_id, []).append(job)
        for vm_id, jobs in destroys.items():
            for earlier in jobs[:-1]:
                assert earlier.state is JobState.FAILED, (vm_id, [(j.id, j.state) for j in jobs])

    @invariant()
    def nothing_done_in_the_observe_or_paused_zone(self) -> None:
        assert self.operator_jobs(ZONE_B) == []
        assert all(zone != ZONE_B for zone, _ in self.cloud.zone_updates)

    # The end: faults stop

    def faults_stop_and_the_acting_zone_converges(self) -> None:
        acting = self.pools[0].spec
        self.cloud.next_fates.clear()
        self.cloud.restart_management_server()  # what a stuck job needs
        for _ in range(200):
            self.cloud.now += timedelta(seconds=SCAN_SECONDS + 1)
            self.cloud.scan()
            self.cloud.progress()
            self.poll_every_pool()
            self.assert_contract()
            if self.acting_zone_as_declared():
                return
        can_repair = acting.health.max_unavailable >= 1 and acting.health.remediation is Remediation.RECREATE
        if can_repair:
            raise AssertionError(f"zone A never converged: {self.describe_zone(ZONE_A)}")

    def assert_contract(self) -> None:
        self.never_more_ssvms_disrupted_by_the_operator_than_the_budget()
        self.never_two_operator_actions_on_one_ssvm()
        self.never_a_second_destroy_unless_the_first_failed()
        self.nothing_done_in_the_observe_or_paused_zone()

    def acting_zone_as_declared(self) -> bool:
        replicas = self.pools[0].spec.replicas
        vms = [vm for vm in self.cloud.vms.values() if vm.zone_id == ZONE_A]
        healthy = [vm for vm in vms if vm.state == "Running" and vm.agent == "Up"]
        idle = not self.pools[0].status.get("inFlight")
        return idle and len(vms) == len(healthy) == (replicas if replicas >= 1 else 0)

    def describe_zone(self, zone_id: str) -> list[tuple[str, str, str | None, bool]]:
        return [
            (vm.name, vm.state, vm.agent, vm.sticky)
            for vm in self.cloud.vms.values()
            if vm.zone_id == zone_id
        ]


OperatorAgainstCloudStack.TestCase.settings = settings(
    # Deterministic for CI; SSVM_STATEFUL_EXAMPLES=5000 searches further (same seed, more runs).
    max_examples=int(os.environ.get("SSVM_STATEFUL_EXAMPLES", "150")),
    stateful_step_count=40,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOperatorAgainstCloudStack = OperatorAgainstCloudStack.TestCase
