"""SSVM and zone commands, each a thin typed wrapper naming the CloudStack API it calls.

Async commands return the job id only; waiting is the caller's business (see client.py).
"""

from __future__ import annotations

from ssvm_operator.cloud.client import CloudApi
from ssvm_operator.cloud.errors import CloudError, is_not_found
from ssvm_operator.model.snapshot import SSVM_ENABLED_DETAIL, SSVM_HOST_TYPE, SSVM_VM_TYPE, SystemVm


async def find_ssvm(client: CloudApi, vm_id: str) -> SystemVm | None:
    """Re-read one SSVM right before acting on it; None once CloudStack no longer lists it."""
    try:
        vms = await client.list("listSystemVms", id=vm_id, systemvmtype=SSVM_VM_TYPE)
    except CloudError as error:
        if is_not_found(error):
            return None
        raise
    if not vms:
        return None
    hosts = await client.list("listHosts", type=SSVM_HOST_TYPE, name=vms[0].get("name"))
    agent = str(hosts[0]["state"]) if hosts and hosts[0].get("state") else None
    return SystemVm.from_api(vms[0], agent)


async def start(client: CloudApi, vm_id: str) -> str:
    return await client.submit("startSystemVm", id=vm_id)


async def stop(client: CloudApi, vm_id: str) -> str:
    return await client.submit("stopSystemVm", id=vm_id)


async def reboot(client: CloudApi, vm_id: str) -> str:
    return await client.submit("rebootSystemVm", id=vm_id)


async def destroy(client: CloudApi, vm_id: str) -> str:
    """destroySystemVm; CloudStack's scanner recreates the zone's template-processing SSVM by itself."""
    return await client.submit("destroySystemVm", id=vm_id)


async def patch(client: CloudApi, vm_id: str) -> str:
    """patchSystemVm (4.17+, PatchSystemVMCmd): the new agent and scripts, the agent restarts, no reboot.
    Not `forced`: an agent already on the release answers "No change in the scripts checksum"."""
    return await client.submit("patchSystemVm", id=vm_id)


async def change_offering(client: CloudApi, vm_id: str, offering_id: str) -> None:
    """changeServiceForSystemVm is synchronous and only updates the database: the VM must be started
    again for the offering to apply (ManagementServerImpl.upgradeStoppedSystemVm)."""
    await client.call("changeServiceForSystemVm", id=vm_id, serviceofferingid=offering_id)


async def set_zone_ssvms_enabled(client: CloudApi, zone_id: str, enabled: bool) -> None:
    """CloudStack's scanner reads the zone detail enable.secstorage.vm on every scan (ZoneConfig.java)."""
    await client.call(
        "updateZone",
        id=zone_id,
        details=[{"key": SSVM_ENABLED_DETAIL, "value": "true" if enabled else "false"}],
    )
