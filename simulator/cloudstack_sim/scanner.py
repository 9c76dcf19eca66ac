"""CloudStack's own SSVM load scanner: the reason SSVMs come back after a stop or a destroy.

Paraphrases PremiumSecondaryStorageManagerImpl.scanPool (L112-205), the class Spring actually
registers, and SecondaryStorageManagerImpl.allocCapacity (L758-840); see cloudstack-contract.md §1.2-§1.5.
One scan visits every Enabled, non-Edge, ready zone, changes at most one SSVM per zone, and waits for a
start to finish before moving on (the scan runs in one thread at a fixed rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cloudstack_sim.catalogue import parse_bool, parse_int
from cloudstack_sim.cloud import Cloud
from cloudstack_sim.console_proxies import ConsoleProxyKeeper
from cloudstack_sim.lifecycle import Lifecycle, OperationFailed
from cloudstack_sim.model import (
    ACTIVE_STATES,
    STOPPED_POOL_STATES,
    ManagementServer,
    Role,
    SystemVm,
    VmState,
    VmType,
    Zone,
)

log = logging.getLogger("cloudstack_sim.scanner")


@dataclass
class Decision:
    """What one scan did in one zone (for the admin path and the log)."""

    zone: str
    action: str
    """nop, not-ready, start, create or destroy."""
    reason: str
    role: str | None = None
    vm: str | None = None
    outcome: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def scan_interval_seconds(cloud: Cloud) -> float:
    """secstorage.capacityscan.interval as the management server read it at its start, in seconds."""
    millis = parse_int(cloud.in_force("secstorage.capacityscan.interval"), 30000)
    return max(millis, 10) / 1000.0


def _java_round(value: float) -> int:
    """Math.round: half up, unlike Python's round."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


class Scanner:
    def __init__(self, cloud: Cloud, lifecycle: Lifecycle, rng: random.Random, first_delay: float) -> None:
        self.cloud = cloud
        self.lifecycle = lifecycle
        self._rng = rng
        self._first_delay = first_delay
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._next_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self.paused = False
        self.scans = 0
        self.last_scan: datetime | None = None
        self.last_decisions: list[Decision] = []
        self.console_proxies = ConsoleProxyKeeper(cloud, lifecycle)
        self.last_console_proxy_decisions: dict[str, str] = {}

    # scheduling

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._next_at = loop.time() + self._first_delay
        self._task = loop.create_task(self._loop())

    def restart_schedule(self) -> None:
        """A management-server start: the scan resumes after the startup delay, at the new interval."""
        self._next_at = asyncio.get_running_loop().time() + self._first_delay
        self._wake.set()

    def interval(self) -> float:
        return scan_interval_seconds(self.cloud)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            delay = self._next_at - loop.time()
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            if not self.paused:
                try:
                    await self.scan_once()
                except Exception:  # a broken scan must not stop the next one, as in SystemVmLoadScanner
                    log.exception("scan.failed")
            # scheduleAtFixedRate: the next run is due one interval after this one was, never concurrently.
            self._next_at = max(self._next_at + self.interval(), loop.time())

    # one scan

    async def scan_once(self) -> list[Decision]:
        async with self._lock:
            # With several management servers, whichever wins secstorage.scan.lock scans with its values.
            running = [ms for ms in self.cloud.management_servers if ms.state == "Up"]
            ms = self._rng.choice(running) if running else None
            decisions: list[Decision] = []
            if ms is not None and parse_bool(self.cloud.in_force("secondary.storage.vm", ms)):
                for zone in sorted(self.cloud.zones.values(), key=lambda z: z.internal_id):
                    if not zone.scanned:
                        continue
                    decisions.append(await self._scan_zone(zone, ms))
            if ms is not None:
                # ConsoleProxyManagerImpl's own scan, whatever secondary.storage.vm says.
                self.last_console_proxy_decisions = {
                    zone.name: self.console_proxies.scan(zone, ms)
                    for zone in sorted(self.cloud.zones.values(), key=lambda z: z.internal_id)
                }
            self.scans += 1
            self.last_scan = self.cloud.now()
            self.last_decisions = decisions
            return decisions

    async def _scan_zone(self, zone: Zone, ms: ManagementServer) -> Decision:
        if not self.cloud.zone_ready(zone):
            return Decision(
                zone.name, "not-ready", "no Up host, Ready system template or writable image store"
            )
        decision = self._decide(zone, ms)
        if decision.action in ("start", "create") and decision.role is not None:
            await self._allocate(zone, Role(decision.role), ms, decision)
        elif decision.action == "destroy" and decision.vm is not None:
            victim = self.cloud.find_vm(decision.vm)
            if victim is not None:
                await self._attempt(decision, self.lifecycle.destroy(victim))
        if decision.action != "nop":
            log.info("scan.decision %s", decision.as_dict())
        return decision

    def _decide(self, zone: Zone, ms: ManagementServer) -> Decision:
        cloud = self.cloud
        if not zone.ssvm_required:
            return Decision(zone.name, "nop", "zone detail enable.secstorage.vm is not true")
        # Read from the database on every scan (Premium L241-247), and per zone for consoleproxy.restart.
        suspend = not parse_bool(cloud.settings.global_value("system.vm.auto.reserve.capacity"))
        if not suspend and not parse_bool(cloud.zone_setting("consoleproxy.restart", zone)):
            suspend = True
        ssvms = cloud.ssvms(zone.uuid)
        tp_active = [vm for vm in ssvms if vm.role is Role.TEMPLATE_PROCESSOR and vm.state in ACTIVE_STATES]
        if not tp_active:
            tp_stopped = [
                vm for vm in ssvms if vm.role is Role.TEMPLATE_PROCESSOR and vm.state in STOPPED_POOL_STATES
            ]
            if not tp_stopped or not suspend:
                if cloud.any_tp_stopping():
                    return Decision(zone.name, "nop", "a template processor is Stopping somewhere")
                action = "start" if self._stopped_pool(zone, Role.TEMPLATE_PROCESSOR) else "create"
                return Decision(
                    zone.name, action, "no active template processor", Role.TEMPLATE_PROCESSOR.value
                )
            return Decision(zone.name, "nop", "template processor stopped and auto reserve is off")
        if suspend:
            return Decision(zone.name, "nop", "auto loading suspended")
        return self._standby_rule(zone, ms, [vm for vm in ssvms if vm.state in ACTIVE_STATES])

    def _standby_rule(self, zone: Zone, ms: ManagementServer, active: list[SystemVm]) -> Decision:
        """scaleSSVMOnLoad with S and B as this management server read them at its start."""
        cloud = self.cloud
        session_max = parse_int(cloud.in_force("secstorage.session.max", ms), 50)
        standby = parse_int(cloud.in_force("secstorage.capacity.standby", ms), 10)
        load = zone.behaviour.command_load
        if len(active) * session_max - load < standby:
            action = "start" if self._stopped_pool(zone, Role.COMMAND_EXECUTOR) else "create"
            return Decision(
                zone.name,
                action,
                f"standby rule: {len(active)}*{session_max}-{load} < {standby}",
                Role.COMMAND_EXECUTOR.value,
            )
        # Releases without secstorage.vm.auto.scale.down always scale down an idle SSVM (releases.py).
        scale_down = cloud.setting("secstorage.vm.auto.scale.down")
        if scale_down is None or parse_bool(cloud.settings.global_value(scale_down.name)):
            migrate_sessions = parse_int(cloud.in_force("secstorage.max.migrate.sessions", ms), 2)
            half_limit = _java_round(len(active) * migrate_sessions / 2)
            copies = 0  # no data migration is simulated
            if len(active) > 1 and copies < half_limit and load < ((len(active) - 1) * session_max) // 2:
                for vm in reversed(active):
                    if vm.role is not Role.TEMPLATE_PROCESSOR:
                        return Decision(zone.name, "destroy", "auto scale down", vm.role.value, vm.uuid)
        return Decision(zone.name, "nop", "enough standby capacity")

    def _stopped_pool(self, zone: Zone, role: Role) -> SystemVm | None:
        """assignSecStorageVmFromStoppedPool (L749-756): a VM of the role Starting, Stopped or Migrating."""
        pool = [
            vm
            for vm in self.cloud.ssvms(zone.uuid)
            if vm.role is role and vm.state in (VmState.STARTING, VmState.STOPPED, VmState.MIGRATING)
        ]
        return pool[0] if pool else None

    async def _allocate(self, zone: Zone, role: Role, ms: ManagementServer, decision: Decision) -> None:
        """allocCapacity: reuse a stopped VM of the role, else allocate a new one, then start it and wait."""
        vm = self._stopped_pool(zone, role)
        from_pool = vm is not None
        if vm is None:
            if not zone.ssvm_required:  # startNew checks the zone detail again
                decision.outcome = "not required in this zone"
                return
            if not self.cloud.stores_with_free_capacity(zone):
                # createSecStorageVmInstance: getImageStoreWithFreeCapacity is null, so it throws before any
                # VM row exists; the scanner logs it and tries again at the next scan.
                decision.outcome = (
                    "failed: no image store with free capacity under secondary.storage.capacity.threshold"
                )
                log.warning("scan.no_store_capacity zone=%s", zone.name)
                return
            offering = self.cloud.ssvm_offering_for_new_vms(ms)
            vm = self.cloud.allocate_vm(zone, VmType.SECONDARY_STORAGE, role, offering, ms)
        decision.vm = vm.uuid
        if vm.state is not VmState.STOPPED:
            decision.outcome = f"{vm.name} is already {vm.state.value}"
            return
        started = await self._attempt(decision, self.lifecycle.start(vm, ms))
        if started:
            decision.outcome = f"{vm.name} started"
        elif from_pool:
            # A VM from the stopped pool that fails to start is destroyed; the next scan makes a new one
            # (L816-823), hence a churn of s-<id>-VM names in a broken zone.
            await self._attempt(decision, self.lifecycle.destroy(vm), keep_outcome=True)

    @staticmethod
    async def _attempt(
        decision: Decision, work: Coroutine[Any, Any, None], keep_outcome: bool = False
    ) -> bool:
        try:
            await work
        except OperationFailed as failure:
            if not keep_outcome:
                decision.outcome = f"failed: {failure}"
            return False
        return True
