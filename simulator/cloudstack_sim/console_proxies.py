"""Console proxies kept by their own scanner, as ConsoleProxyManagerImpl does for its pool.

ConsoleProxyManagerImpl.scanPool asks for more capacity while `running x consoleproxy.session.max - active
sessions <= consoleproxy.capacity.standby` (checkCapacity; 50 and 10 by default, so one running proxy
per zone with no viewers); allocCapacity then starts a proxy from the stopped pool
(assignProxyFromStoppedPool: Starting, Stopped, Migrating or Stopping) or creates a new one (startNew, a new
`v-<id>-VM`). So a stopped console proxy is started again and a destroyed one is recreated. The simulator
keeps the two settings at their defaults and has no viewer sessions.
"""

from __future__ import annotations

import logging

from cloudstack_sim.cloud import DEFAULT_CPVM_OFFERING, Cloud
from cloudstack_sim.lifecycle import Lifecycle, OperationFailed
from cloudstack_sim.model import ManagementServer, Role, SystemVm, VmState, VmType, Zone

log = logging.getLogger("cloudstack_sim.console_proxies")

SESSIONS_PER_PROXY = 50
"""consoleproxy.session.max default."""
STANDBY_SESSIONS = 10
"""consoleproxy.capacity.standby default."""
_POOL_STATES = (VmState.STARTING, VmState.STOPPED, VmState.MIGRATING, VmState.STOPPING)


class ConsoleProxyKeeper:
    def __init__(self, cloud: Cloud, lifecycle: Lifecycle) -> None:
        self.cloud = cloud
        self.lifecycle = lifecycle
        self.enabled = True
        """False when the scenario has no console proxies at all (`console_proxies: false`)."""

    def proxies(self, zone: Zone) -> list[SystemVm]:
        return [
            vm
            for vm in self.cloud.live_vms(zone.uuid)
            if vm.type is VmType.CONSOLE_PROXY and vm.state is not VmState.EXPUNGING
        ]

    def scan(self, zone: Zone, ms: ManagementServer) -> str:
        """What the console-proxy scan of `zone` decided; a start runs in the background, as on its own
        scanner thread."""
        if not self.enabled or not zone.scanned or not self.cloud.zone_ready(zone):
            return "nop"
        proxies = self.proxies(zone)
        running = [vm for vm in proxies if vm.state in (VmState.RUNNING, VmState.STARTING)]
        if len(running) * SESSIONS_PER_PROXY > STANDBY_SESSIONS:
            return "nop"
        pool = [vm for vm in proxies if vm.state in _POOL_STATES]
        if pool:
            vm = pool[0]
            if vm.state is not VmState.STOPPED:
                return f"wait for {vm.name} ({vm.state.value})"
            action = f"start {vm.name}"
        else:
            offering = self.cloud.offering_by_unique_name(DEFAULT_CPVM_OFFERING)
            vm = self.cloud.allocate_vm(zone, VmType.CONSOLE_PROXY, Role.TEMPLATE_PROCESSOR, offering, ms)
            action = f"create {vm.name}"
        log.info("console_proxy.scan zone=%s action=%s", zone.name, action)
        self.lifecycle.spawn(self._start(vm, ms))
        return action

    async def _start(self, vm: SystemVm, ms: ManagementServer) -> None:
        try:
            await self.lifecycle.start(vm, ms)
        except OperationFailed as failure:
            log.warning("console_proxy.start_failed vm=%s reason=%s", vm.name, failure)
