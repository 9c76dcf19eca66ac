"""patchSystemVm (4.17+): live patch of a Running system VM's scripts and agent, without a reboot.

ManagementServerImpl.patchSystemVM -> updateSystemVM: a VM that is not Running fails with "Unable to patch
SystemVM: ... as it is not in Running state. Please destroy and recreate the SystemVM."; otherwise
PatchSystemVmCommand goes to the VM's hypervisor host. On KVM, LibvirtPatchSystemVmCommandWrapper reads the
guest's version and scripts checksum over SSH (failing when the guest cannot be reached), answers "No change
in the scripts checksum, not patching systemVM X" when nothing differs and `forced` is not set, and otherwise
runs /home/cloud/patch-sysvms.sh, which installs the new scripts and agent and restarts the agent.

A template that cannot be patched: live patching replaces scripts and the agent, not the guest's operating
system, so CloudStack's upgrade notes ask for a recreation whenever a release ships a new system VM template.
The simulator makes the patch script fail on an SSVM whose template is older than the newest Ready system
template for its hypervisor; CloudStack reports such a failure as "Failed to patch systemVM X due to ...".
"""

from __future__ import annotations

import asyncio

from cloudstack_sim.cloud import Cloud
from cloudstack_sim.lifecycle import Lifecycle, OperationFailed
from cloudstack_sim.model import SystemVm, VmState


def label(vm: SystemVm) -> str:
    return f"VM instance {{id: {vm.internal_id}, name: {vm.name}, uuid: {vm.uuid}, type: {vm.type.value}}}"


def patchable(cloud: Cloud, vm: SystemVm) -> bool:
    """Whether the VM already runs the newest Ready system template for its hypervisor and arch."""
    current = cloud.ready_system_template(cloud.zones[vm.zone_uuid])
    return current is None or current.uuid == vm.template_uuid


async def patch(cloud: Cloud, lifecycle: Lifecycle, vm: SystemVm, forced: bool) -> str:
    """Returns the success text; raises OperationFailed with CloudStack's failure text."""
    async with vm.lock:
        if vm.state is not VmState.RUNNING or not vm.live:
            raise OperationFailed(
                f"Unable to patch SystemVM: {label(vm)} as it is not in Running state. Please destroy and "
                "recreate the SystemVM."
            )
        if vm.guest_hung or not vm.guest_ssh or vm.guest_booting:
            raise OperationFailed(
                f"GetSystemVMVersionCmd failed due to com.cloud.utils.exception.CloudRuntimeException: "
                f"GetSystemVMVersionCmd on {vm.link_local_ip} failed, message Unable to connect to the guest"
            )
        if vm.version == cloud.version and not forced:
            return f"No change in the scripts checksum, not patching systemVM {vm.name}"
        await asyncio.sleep(lifecycle.timings.agent_connect)  # copying the files, running the script
        if vm.state is not VmState.RUNNING:
            raise OperationFailed(f"SystemVM live patch failed due to: {vm.name} is {vm.state.value}")
        if not patchable(cloud, vm):
            raise OperationFailed(
                f"Failed to patch systemVM {vm.name} due to patch-sysvms.sh failed: the guest's system VM "
                "template is older than this release's; destroy the SSVM so CloudStack recreates it"
            )
        vm.version = cloud.version
        lifecycle.restart_agent(vm)
        return f"Successfully patched systemVM {vm.name} "
