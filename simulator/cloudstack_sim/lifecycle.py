"""System VM and agent state machines, with simulated time.

Transitions follow CloudStack's VirtualMachine.State and the agent's host Status (Status.java):
  start    Stopped -> Starting -> Running. The host row of the VM's agent is untouched until the agent in
           the guest connects (its StartupCommand creates the row, ResourceManagerImpl
           .createHostVOForConnectedAgent): absent for a new VM, still Disconnected after a stop. Then
           Connecting -> Up.
  stop     Running -> Stopping -> Stopped. The agent's link closes (Alert: AgentManagerImpl.investigate says
           Alert for every virtual host), then advanceStop marks it Disconnected (ShutdownRequested, 4.16+).
  reboot   KVM answers the RebootCommand once libvirt has sent the ACPI request, so the job ends with the
           agent still Up; the link drops later (Alert, `disconnected` stamped), then the agent reconnects.
  destroy  (Running -> Stopping ->) Stopped -> Expunging -> removed, with its host row
  migrate  Running -> Migrating -> Running on another host, agent stays Up
  management-server stop: its agents go Disconnected (ManagementServerDown), then reconnect to a server.
Every step takes the VM's lock, as CloudStack queues work per VM, and bumps the VM's generation so
that timers started by an earlier step (an agent about to reconnect) see they are stale.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from cloudstack_sim.catalogue import Scope
from cloudstack_sim.cloud import Cloud
from cloudstack_sim.config import Timings
from cloudstack_sim.model import (
    Agent,
    AgentState,
    BootRecord,
    HypervisorHost,
    ManagementServer,
    SystemVm,
    VmState,
    Zone,
)
from cloudstack_sim.releases import SYSTEM_VM_STOP_DISCONNECTS_AGENT_SINCE

log = logging.getLogger("cloudstack_sim.lifecycle")

CONNECT_SETTINGS = ("secstorage.allowed.internal.sites",)
"""Programmed into the SSVM on each agent connect (SecondaryStorageManagerImpl L363-417, L424-494), so a
reboot is enough for them once the management server has read them."""


def boot_settings(cloud: Cloud, zone: Zone, ms: ManagementServer) -> dict[str, str | None]:
    """The settings a VM starting now gets as boot arguments: what `ms` read at its start, and the
    current zone value of dynamic zone-scoped keys (finalizeVirtualMachineProfile reads those per start)."""
    values: dict[str, str | None] = {}
    for setting in cloud.release.settings():
        if not setting.boot_arg or setting.hidden:
            continue
        if setting.dynamic and setting.allows(Scope.ZONE):
            values[setting.name] = cloud.zone_setting(setting.name, zone)
        else:
            values[setting.name] = cloud.in_force(setting.name, ms)
    return values


class OperationFailed(Exception):
    """The hypervisor-side work failed; the command turns this into its own 530 text."""


class Lifecycle:
    def __init__(self, cloud: Cloud, timings: Timings) -> None:
        self.cloud = cloud
        self.timings = timings
        self._timers: set[asyncio.Task[None]] = set()

    # public operations: each one holds the VM's lock for its whole duration

    async def start(self, vm: SystemVm, ms: ManagementServer | None = None) -> None:
        async with vm.lock:
            await self._start(vm, ms or self.cloud.primary_ms)

    async def stop(self, vm: SystemVm, forced: bool = False) -> None:
        async with vm.lock:
            await self._stop(vm, forced)

    async def reboot(self, vm: SystemVm, forced: bool = False) -> None:
        async with vm.lock:
            if forced:
                # forced=true: advanceStop then startSecStorageVm (ManagementServerImpl L4387-4390).
                await self._stop(vm, forced=True)
                await self._start(vm, self.cloud.primary_ms)
            elif vm.state is VmState.RUNNING:
                self._request_guest_reboot(vm)
            else:
                # rebootSecStorageVm starts a VM that is not running (SecondaryStorageManagerImpl L1055-1086).
                await self._start(vm, self.cloud.primary_ms)

    async def destroy(self, vm: SystemVm) -> None:
        async with vm.lock:
            if not vm.live:
                raise OperationFailed(f"{vm.name} is already removed")
            if vm.state in (VmState.RUNNING, VmState.STARTING, VmState.MIGRATING, VmState.STOPPING):
                generation = self._bump(vm)
                vm.state = VmState.STOPPING
                self._link_closed(vm)
                await asyncio.sleep(self.timings.stop)
                self._check_current(vm, generation)
            self._power_off(vm)
            generation = self._bump(vm)
            vm.state = VmState.EXPUNGING
            await asyncio.sleep(self.timings.expunge)
            self._check_current(vm, generation)
            # The VM row is marked removed, its host row goes too (SecondaryStorageManagerImpl L1089-1113).
            vm.removed = self.cloud.now()
            vm.agent = None
            log.info("vm.expunged vm=%s zone=%s", vm.name, vm.zone_uuid)

    async def migrate(self, vm: SystemVm, host: HypervisorHost | None) -> None:
        async with vm.lock:
            if vm.state is not VmState.RUNNING:
                raise OperationFailed(f"VM is not Running, unable to migrate the vm {vm.name}")
            zone = self.cloud.zones[vm.zone_uuid]
            target = host or self.cloud.choose_host(zone, exclude=vm.host_uuid)
            if target is None or target.uuid == vm.host_uuid:
                raise OperationFailed(f"Unable to find a suitable destination host to migrate {vm.name}")
            generation = self._bump(vm)
            vm.state = VmState.MIGRATING
            await asyncio.sleep(self.timings.migrate)
            self._check_current(vm, generation)
            vm.state = VmState.RUNNING
            vm.host_uuid = target.uuid

    def restart_agent(self, vm: SystemVm) -> None:
        """The agent inside a Running guest restarts (patch-sysvms.sh restarts the cloud service): its link
        closes cleanly (Disconnected, `disconnected` stamped), then it connects again with the version it
        now has. The guest does not reboot."""
        generation = self._bump(vm)
        self._agent_lost(vm, AgentState.DISCONNECTED)
        self._spawn(self._connect_agent(vm, generation, self.cloud.primary_ms))

    def fail(self, vm: SystemVm, state: VmState = VmState.ERROR) -> None:
        """The hypervisor lost the VM: no lock, it interrupts whatever runs (that step then fails)."""
        self._bump(vm)
        vm.state = state
        vm.host_uuid = None
        vm.guest_hung = vm.guest_booting = False
        self._link_closed(vm)

    def set_agent_state(self, vm: SystemVm, state: AgentState, sticky: bool = False) -> None:
        """Force the agent's state now; `sticky` keeps it across reboots and restarts (a VM a reboot cannot
        fix), any later non-sticky call clears that."""
        if not state.reachable_by_system_vm_agent:
            raise ValueError(
                f"a system VM's agent never reaches {state.value} in CloudStack: use Alert (its link closed) "
                "or Disconnected (it stopped answering pings, or was shut down)"
            )
        if vm.agent is None:
            raise OperationFailed(f"{vm.name} has no agent host row yet (its agent never connected)")
        vm.agent_stuck_as = state if sticky and state is not AgentState.UP else None
        if state is AgentState.CONNECTING:
            vm.agent.state = state
            if vm.state is VmState.RUNNING:
                self._spawn(self._finish_connect(vm, vm.generation))
        elif state.lost_connection:
            self._agent_lost(vm, state)
        else:
            vm.agent.state = state
            if state is AgentState.UP:
                self._agent_up(vm)

    def hang_guest(self, vm: SystemVm, hung: bool = True) -> None:
        """The guest stops responding: its agent misses pings and goes Disconnected after the ping timeout
        (AgentManagerImpl MonitorTask), ACPI reboots are ignored, SSH inside it fails. A stop clears it."""
        vm.guest_hung = hung
        if hung and vm.state is VmState.RUNNING:
            self._spawn(self._ping_timeout(vm, vm.generation))

    async def _ping_timeout(self, vm: SystemVm, generation: int) -> None:
        await asyncio.sleep(self.timings.agent_connect)
        agent = vm.agent
        if (
            vm.generation == generation
            and vm.guest_hung
            and agent is not None
            and not agent.state.lost_connection
        ):
            self._agent_lost(vm, AgentState.DISCONNECTED)

    def management_servers_down(self, servers: set[str]) -> list[SystemVm]:
        """AgentManagerImpl.stop(): every agent the stopping server held goes Disconnected (Status.java:
        Up + ManagementServerDown). agentStatusTransitTo leaves `disconnected` as it was."""
        held = []
        for vm in self.cloud.agents():
            agent = vm.agent
            assert agent is not None
            if agent.management_server_uuid in servers and not agent.state.lost_connection:
                agent.state = AgentState.DISCONNECTED
                held.append(vm)
        return held

    def reconnect(self, vms: list[SystemVm], ms: ManagementServer) -> None:
        """The agents of a restarted server connect again, to `ms`; SecondaryStorageListener.processConnect
        re-sends the allowed internal sites and firewall rules from that server's values."""
        for vm in vms:
            if vm.state is VmState.RUNNING and not vm.guest_hung:
                self._spawn(self._connect_agent(vm, vm.generation, ms))

    async def close(self) -> None:
        for task in list(self._timers):
            task.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)

    # steps, called with the lock held

    async def _start(self, vm: SystemVm, ms: ManagementServer) -> None:
        if vm.state is VmState.RUNNING:
            return
        if vm.state is not VmState.STOPPED:
            raise OperationFailed(f"{vm.name} cannot start from state {vm.state}")
        zone = self.cloud.zones[vm.zone_uuid]
        if self.cloud.running_count(zone) >= zone.behaviour.vm_capacity:
            raise OperationFailed(f"insufficient capacity in zone {zone.name}")
        # The deployment planner needs a host with the offering's host tags and room for it.
        host = self.cloud.choose_host(zone, offering=self.cloud.offerings.get(vm.offering_uuid))
        if host is None:
            raise OperationFailed(f"no Up host in zone {zone.name} fits {vm.name}'s offering")
        generation = self._bump(vm)
        vm.state = VmState.STARTING
        vm.host_uuid = host.uuid
        vm.link_local_ip = self.cloud.new_link_local_ip()
        vm.link_local_mac = self.cloud.new_mac(0x0E)
        await asyncio.sleep(self.timings.boot)
        self._check_current(vm, generation)
        if zone.behaviour.boot_fails:
            self._power_off(vm)
            raise OperationFailed(f"{vm.name} failed to boot in zone {zone.name}")
        vm.state = VmState.RUNNING
        previous = vm.boot.boot_count if vm.boot is not None else 0
        # SecondaryStorageManagerImpl.finalizeVirtualMachineProfile gives up before the boot arguments when
        # no image store has free capacity; VirtualMachineManagerImpl.orchestrateStart starts the VM anyway.
        with_args = not vm.is_ssvm or bool(self.cloud.stores_with_free_capacity(zone))
        if not with_args:
            log.warning("vm.started_without_boot_arguments vm=%s zone=%s", vm.name, zone.name)
        vm.boot = BootRecord(
            started_at=self.cloud.now(),
            offering_uuid=vm.offering_uuid,
            settings=boot_settings(self.cloud, zone, ms) if with_args else {},
            boot_count=previous + 1,
            boot_args=with_args,
        )
        # The host row keeps its last status (or stays absent) until the agent in the guest connects.
        self._spawn(self._connect_agent(vm, generation, ms))
        log.info("vm.running vm=%s zone=%s host=%s", vm.name, zone.name, host.name)

    async def _stop(self, vm: SystemVm, forced: bool) -> None:
        if vm.state is VmState.STOPPED:
            return
        stoppable = vm.state in (VmState.RUNNING, VmState.STARTING, VmState.MIGRATING)
        if not stoppable and not (forced and vm.state in (VmState.ERROR, VmState.UNKNOWN)):
            raise OperationFailed(f"{vm.name} cannot stop from state {vm.state}")
        generation = self._bump(vm)
        vm.state = VmState.STOPPING
        self._link_closed(vm)
        await asyncio.sleep(self.timings.stop)
        self._check_current(vm, generation)
        self._power_off(vm)
        if vm.agent is not None and self.cloud.release.version >= SYSTEM_VM_STOP_DISCONNECTS_AGENT_SINCE:
            # advanceStop, after a successful stop of a system VM: ShutdownRequested -> Disconnected.
            vm.agent.state = AgentState.DISCONNECTED

    def _request_guest_reboot(self, vm: SystemVm) -> None:
        """LibvirtComputingResource.rebootVM sends the ACPI request and returns: the job ends now, the agent
        still Up. A hung guest ignores the request."""
        generation = self._bump(vm)
        if not vm.guest_hung:
            self._spawn(self._guest_reboots(vm, generation))

    async def _guest_reboots(self, vm: SystemVm, generation: int) -> None:
        await asyncio.sleep(self.timings.stop)  # the guest shuts its services down first
        if vm.generation != generation or vm.state is not VmState.RUNNING:
            return
        vm.guest_booting = True
        self._link_closed(vm)
        await asyncio.sleep(self.timings.reboot)
        if vm.generation != generation or vm.state is not VmState.RUNNING:
            return
        vm.guest_booting = False
        if vm.boot is not None:
            vm.boot.boot_count += 1
        await self._connect_agent(vm, generation, self.cloud.primary_ms)

    # helpers

    async def _connect_agent(self, vm: SystemVm, generation: int, ms: ManagementServer) -> None:
        """The agent in the guest reaches the management server: its StartupCommand creates the host row
        (or moves the old one) to Connecting (Status.java: null/Disconnected/Alert + AgentConnected); the
        connect-time setup then takes it Up."""
        await asyncio.sleep(self.timings.agent_connect / 2)
        zone = self.cloud.zones[vm.zone_uuid]
        if vm.generation != generation or vm.state is not VmState.RUNNING or vm.guest_hung:
            return
        if not zone.behaviour.agent_connects:
            return
        now = self.cloud.now()
        if vm.agent is None:
            vm.agent = Agent(
                uuid=self.cloud.new_uuid(),
                internal_id=self.cloud.next_id("host"),
                name=vm.name,
                state=AgentState.CONNECTING,
                created=now,
                version=vm.version,
                management_server_uuid=ms.uuid,
            )
        else:
            vm.agent.state = AgentState.CONNECTING
            vm.agent.management_server_uuid = ms.uuid
            vm.agent.version = vm.version  # the StartupCommand reports the agent's own version
        await self._finish_connect(vm, generation)

    async def _finish_connect(self, vm: SystemVm, generation: int) -> None:
        await asyncio.sleep(self.timings.agent_connect / 2)
        agent = vm.agent
        if vm.generation != generation or vm.state is not VmState.RUNNING or agent is None:
            return
        if agent.state is not AgentState.CONNECTING:
            return
        zone_outcome = self.cloud.zones[vm.zone_uuid].behaviour.agent_connects_as
        outcome = vm.agent_stuck_as or zone_outcome or AgentState.UP
        if outcome is AgentState.UP:
            agent.state = AgentState.UP
            self._agent_up(vm)
        elif outcome.lost_connection:
            self._agent_lost(vm, outcome)
        # Connecting: the startup never completes

    def _agent_up(self, vm: SystemVm) -> None:
        now = self.cloud.now()
        if vm.agent is not None:
            vm.agent.last_pinged = now
        if vm.boot is not None:
            vm.boot.agent_connected_at = now
            # Sent by the server the agent connected to, from its own copy (read in configure()).
            ms = next(
                (
                    m
                    for m in self.cloud.management_servers
                    if vm.agent and m.uuid == vm.agent.management_server_uuid
                ),
                None,
            )
            vm.boot.connect_settings = {name: self.cloud.in_force(name, ms) for name in CONNECT_SETTINGS}

    def _link_closed(self, vm: SystemVm) -> None:
        """The agent's connection closed (guest shut down or crashed): Up + AgentDisconnected, investigated
        as a virtual host, gives Alert (AgentManagerImpl.investigate); an agent already lost stays so."""
        if vm.agent is not None and vm.agent.state in (AgentState.UP, AgentState.CONNECTING):
            self._agent_lost(vm, AgentState.ALERT)

    def _agent_lost(self, vm: SystemVm, state: AgentState) -> None:
        if vm.agent is None:
            return
        if not vm.agent.state.lost_connection:
            vm.agent.disconnected = self.cloud.now()
        vm.agent.state = state

    def _power_off(self, vm: SystemVm) -> None:
        vm.state = VmState.STOPPED
        vm.guest_hung = vm.guest_booting = False
        vm.host_uuid = None
        vm.link_local_ip = None
        vm.link_local_mac = None

    @staticmethod
    def _bump(vm: SystemVm) -> int:
        vm.generation += 1
        return vm.generation

    @staticmethod
    def _check_current(vm: SystemVm, generation: int) -> None:
        if vm.generation != generation:
            raise OperationFailed(f"{vm.name} changed state while the operation ran (now {vm.state})")

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; `close()` cancels it."""
        self._spawn(work)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
