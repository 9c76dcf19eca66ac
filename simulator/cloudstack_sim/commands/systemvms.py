"""System VM commands (api/src/main/java/org/apache/cloudstack/api/command/admin/systemvm/).

Server side: ManagementServerImpl.java L4372-4612, SecondaryStorageManagerImpl.java and
SystemVmManagerImpl (upgradeSystemVM, searchForSystemVm). See cloudstack-contract.md §2.1-§2.2.
"""

from __future__ import annotations

import json
from typing import Any

from cloudstack_sim import patching, views
from cloudstack_sim.commands import AsyncWork, Command, Services
from cloudstack_sim.errors import internal_error, invalid_parameter
from cloudstack_sim.lifecycle import OperationFailed
from cloudstack_sim.model import HypervisorHost, Offering, SystemVm, VmState
from cloudstack_sim.params import LIST_PARAMS, Kind, Param, keyword_matches, page_of, same_text

_PACKAGE = "org.apache.cloudstack.api.command.admin.systemvm."
_ID = Param("id", Kind.UUID, required=True, entity="vm")


def vm_label(vm: SystemVm) -> str:
    """VMInstanceVO.toString, as CloudStack's messages quote a VM."""
    fields = {"id": vm.internal_id, "instanceName": vm.name, "type": vm.type.value, "uuid": vm.uuid}
    return f"VM instance {json.dumps(fields, separators=(',', ':'))}"


def _system_vm(args: dict[str, Any], key: str = "id") -> SystemVm:
    vm = args[key]
    assert isinstance(vm, SystemVm)
    return vm


def max_page_size(services: Services) -> int:
    """default.page.size as the answering server read it at its start (BaseListCmd caches it once)."""
    value = services.cloud.in_force("default.page.size")
    try:
        return int(value) if value is not None else 500
    except ValueError:
        return 500


async def list_system_vms(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    """searchForSystemVm: equality filters, `name` LIKE without wildcards, keyword on name or state,
    ordered by internal id, removed VMs never listed."""
    cloud = services.cloud
    page = page_of(args, max_page_size(services))
    wanted: SystemVm | None = args.get("id")
    zone = args.get("zoneid")
    host = args.get("hostid")
    pod = args.get("podid")  # resolved to the pod's zone: the simulator has one pod per zone
    vms = [
        vm
        for vm in cloud.live_vms()
        if (wanted is None or vm.uuid == wanted.uuid)
        and ("name" not in args or same_text(vm.name, args["name"]))
        and ("state" not in args or same_text(vm.state.value, args["state"]))
        and (zone is None or vm.zone_uuid == zone.uuid)
        and (pod is None or vm.zone_uuid == pod.uuid)
        and (host is None or vm.host_uuid == getattr(host, "uuid", None))
        and ("systemvmtype" not in args or same_text(vm.type.api_name, args["systemvmtype"]))
        and keyword_matches(args.get("keyword"), vm.name, vm.state.value)
    ]
    items = [views.systemvm(cloud, vm, services.jobs) for vm in page.apply(vms)]
    return views.list_body("systemvm", items, len(vms))


def _checked_for_type(vm: SystemVm) -> SystemVm:
    # getEventType -> findSystemVMTypeById: a synchronous 431 for anything but a system VM (L4502-4510).
    if vm.type.value not in ("SecondaryStorageVm", "ConsoleProxy"):
        raise invalid_parameter("Unable to find a system vm of specified instanceId")
    return vm


def _result(services: Services, vm: SystemVm) -> dict[str, Any]:
    return {"systemvm": views.systemvm(services.cloud, vm)}


async def start_system_vm(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = _checked_for_type(_system_vm(args))

    async def run() -> dict[str, Any]:
        if not vm.live:
            raise internal_error("Fail to start system vm")
        try:
            await services.lifecycle.start(vm)
        except OperationFailed:
            # startSecStorageVm swallows the cause and returns null (SecondaryStorageManagerImpl L282-292).
            raise internal_error("Fail to start system vm") from None
        return _result(services, vm)

    return AsyncWork(vm.uuid, run)


async def stop_system_vm(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = _checked_for_type(_system_vm(args))
    forced = bool(args.get("forced", False))

    async def run() -> dict[str, Any]:
        if not vm.live:
            raise internal_error("Fail to stop system vm")
        try:
            await services.lifecycle.stop(vm, forced)
        except OperationFailed:
            raise internal_error("Fail to stop system vm") from None
        return _result(services, vm)

    return AsyncWork(vm.uuid, run)


async def reboot_system_vm(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = _checked_for_type(_system_vm(args))
    forced = bool(args.get("forced", False))

    async def run() -> dict[str, Any]:
        if not vm.live:
            raise internal_error("Fail to reboot system vm")
        try:
            await services.lifecycle.reboot(vm, forced)
        except OperationFailed:
            if forced:
                raise internal_error("Fail to reboot system vm") from None
            # Non-forced: the boolean result of rebootSecStorageVm is ignored and the VO returned
            # (ManagementServerImpl L4382-4385), so the API reports success whatever happened.
        return _result(services, vm)

    return AsyncWork(vm.uuid, run)


async def destroy_system_vm(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = _checked_for_type(_system_vm(args))

    async def run() -> dict[str, Any]:
        # ManagementServerImpl.destroySecondaryStorageVm returns the VO it loaded before the expunge, so the
        # VM fields are the pre-destroy ones; createSystemVmResponse then looks the agent's host row up by
        # name, and the expunge removed it: no agentstate, disconnected or version.
        before = _result(services, vm)
        try:
            await services.lifecycle.destroy(vm)
        except OperationFailed:
            raise internal_error("Fail to destroy system vm") from None
        for agent_field in ("agentstate", "disconnected", "version"):
            before["systemvm"].pop(agent_field, None)
        return before

    return AsyncWork(vm.uuid, run)


async def patch_system_vm(services: Services, args: dict[str, Any]) -> AsyncWork:
    """PatchSystemVMCmd (since 4.17.0): every check runs inside the job (ManagementServerImpl.patchSystemVM),
    so a missing id or a VM that is no SSVM or CPVM fails the job with 431, a failed patch with 530."""
    vm: SystemVm | None = args.get("id")
    forced = bool(args.get("forced", False))

    async def run() -> dict[str, Any]:
        if vm is None:
            raise invalid_parameter("Please provide a valid ID of a system VM to be patched")
        if vm.type.value not in ("SecondaryStorageVm", "ConsoleProxy") or not vm.live:
            raise invalid_parameter(
                f"Unable to find SystemVm with id {vm.internal_id}. patchSystemVm API can be used to patch "
                "CPVM / SSVM only."
            )
        try:
            text = await patching.patch(services.cloud, services.lifecycle, vm, forced)
        except OperationFailed as failure:
            raise internal_error(str(failure)) from None
        return {"success": True, "displaytext": text}

    return AsyncWork(vm.uuid if vm is not None else None, run)


async def migrate_system_vm(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = _checked_for_type(_system_vm(args, "virtualmachineid"))
    host = args.get("hostid")
    if host is not None and "storageid" in args:
        raise invalid_parameter("Either provide hostid or storageid, both cannot be specified")
    if host is not None and not isinstance(host, HypervisorHost):
        raise invalid_parameter("Unable to find the host to migrate the VM to")

    async def run() -> dict[str, Any]:
        try:
            await services.lifecycle.migrate(vm, host)
        except OperationFailed as failure:
            if vm.state is not VmState.RUNNING:
                raise invalid_parameter(str(failure)) from None
            raise internal_error("Failed to migrate the system vm") from None
        return _result(services, vm)

    return AsyncWork(vm.uuid, run)


def _check_upgrade(vm: SystemVm, current: Offering | None, new: Offering) -> None:
    """VirtualMachineManagerImpl.checkIfCanUpgrade: Stopped or Running, despite the API description."""
    if new.state == "Inactive":
        raise invalid_parameter(f"New service offering is inactive: [{new.uuid}].")
    if vm.state not in (VmState.STOPPED, VmState.RUNNING):
        raise invalid_parameter(
            f"Unable to upgrade virtual machine {vm_label(vm)}  in state {vm.state.value}; make sure the "
            "virtual machine is stopped/running"
        )
    if current is not None and current.uuid == new.uuid:
        raise invalid_parameter(
            f"Not upgrading vm {vm_label(vm)} since it already has the requested service offering "
            f"({new.name})"
        )
    # checkIfNewOfferingStorageScopeMatchesStoragePool: every install has a "- Local Storage" twin of each
    # system offering, and picking it for a VM whose ROOT volume is on shared storage fails here.
    if new.storage_type == "local" and not vm.root_on_local:
        raise invalid_parameter(
            f"Unable to upgrade virtual machine {vm_label(vm)}, target offering use local storage but the "
            "storage pool where the volume is allocated is a shared storage."
        )
    if new.storage_type != "local" and vm.root_on_local:
        raise invalid_parameter(
            f"Unable to upgrade virtual machine {vm_label(vm)}, target offering use shared storage but the "
            "storage pool where the volume is allocated is a local storage."
        )
    if current is not None and current.is_system != new.is_system:
        raise invalid_parameter(
            "isSystem property is different for current service offering and new service offering"
        )
    # VolumeApiServiceImpl.doesNewDiskOfferingHasTagsAsOldDiskOffering, checked while
    # match.storage.pool.tags.with.disk.offering is true (its default). isVirtualMachineUpgradable, the
    # capacity check between the two, asks the host allocators, and every one of them answers true.
    current_tags = list(current.storage_tags) if current is not None else []
    if not set(current_tags) <= set(new.storage_tags):
        raise invalid_parameter(
            "Unable to upgrade virtual machine; the current service offering  should have tags as subset of "
            f"the new service offering tags. Current service offering tags: [{', '.join(current_tags)}]; "
            f"new service offering tags: [{', '.join(new.storage_tags)}]"
        )


async def change_service_for_system_vm(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    """upgradeStoppedSystemVm: a database update only; the running VM keeps its resources until it is
    started again (stop + start), a reboot is not enough."""
    vm = _checked_for_type(_system_vm(args))
    new = args["serviceofferingid"]
    assert isinstance(new, Offering)
    _check_upgrade(vm, services.cloud.offerings.get(vm.offering_uuid), new)
    vm.offering_uuid = new.uuid
    return _result(services, vm)


async def scale_system_vm(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = _checked_for_type(_system_vm(args))
    new = args["serviceofferingid"]
    assert isinstance(new, Offering)
    cloud = services.cloud

    async def run() -> dict[str, Any]:
        _check_upgrade(vm, cloud.offerings.get(vm.offering_uuid), new)
        if vm.state is VmState.RUNNING:
            # Dynamic scaling of a running VM (UserVmManagerImpl.upgradeRunningVirtualMachine).
            zone = cloud.zones[vm.zone_uuid]
            if (cloud.zone_setting("enable.dynamic.scale.vm", zone) or "").lower() != "true":
                raise internal_error(
                    "Dynamically scaling virtual machines is disabled for this zone, please "
                    "contact your admin"
                )
            if not vm.dynamically_scalable:
                raise internal_error(
                    f"Unable to Scale the vm: {vm.uuid} as vm does not have tools to support dynamic scaling"
                )
            if vm.boot is not None:
                vm.boot.offering_uuid = new.uuid
        vm.offering_uuid = new.uuid
        return _result(services, vm)

    return AsyncWork(vm.uuid, run)


COMMANDS = (
    Command(
        "listSystemVms",
        (
            Param("id", Kind.UUID, entity="vm"),
            Param("name"),
            Param("hostid", Kind.UUID, entity="host"),
            Param("podid", Kind.UUID, entity="pod"),
            Param("zoneid", Kind.UUID, entity="zone"),
            Param("state"),
            Param("systemvmtype"),
            Param("storageid", Kind.UUID, entity="storagepool"),
            Param("arch"),
            *LIST_PARAMS,
        ),
        list_system_vms,
    ),
    Command(
        "startSystemVm",
        (_ID,),
        start_system_vm,
        is_async=True,
        cmd_class=_PACKAGE + "StartSystemVMCmd",
        failure_text="Fail to start system vm",
    ),
    Command(
        "stopSystemVm",
        (_ID, Param("forced", Kind.BOOLEAN)),
        stop_system_vm,
        is_async=True,
        cmd_class=_PACKAGE + "StopSystemVmCmd",
        failure_text="Fail to stop system vm",
    ),
    Command(
        "rebootSystemVm",
        (_ID, Param("forced", Kind.BOOLEAN)),
        reboot_system_vm,
        is_async=True,
        cmd_class=_PACKAGE + "RebootSystemVmCmd",
        failure_text="Fail to reboot system vm",
    ),
    Command(
        "destroySystemVm",
        (_ID,),
        destroy_system_vm,
        is_async=True,
        cmd_class=_PACKAGE + "DestroySystemVmCmd",
        failure_text="Fail to destroy system vm",
    ),
    Command(
        "patchSystemVm",
        (Param("id", Kind.UUID, entity="vm"), Param("forced", Kind.BOOLEAN)),
        patch_system_vm,
        is_async=True,
        cmd_class=_PACKAGE + "PatchSystemVMCmd",
        failure_text="SystemVM live patch failed",
        since="4.17.0",
    ),
    Command(
        "migrateSystemVm",
        (
            Param("virtualmachineid", Kind.UUID, required=True, entity="vm"),
            Param("hostid", Kind.UUID, entity="host"),
            Param("storageid", Kind.UUID, entity="storagepool"),
            Param("autoselect", Kind.BOOLEAN),
        ),
        migrate_system_vm,
        is_async=True,
        cmd_class=_PACKAGE + "MigrateSystemVMCmd",
        failure_text="Failed to migrate the system vm",
    ),
    Command(
        "changeServiceForSystemVm",
        (
            _ID,
            Param("serviceofferingid", Kind.UUID, required=True, entity="offering"),
            Param("details", Kind.MAP),
        ),
        change_service_for_system_vm,
    ),
    Command(
        "scaleSystemVm",
        (
            _ID,
            Param("serviceofferingid", Kind.UUID, required=True, entity="offering"),
            Param("details", Kind.MAP),
        ),
        scale_system_vm,
        is_async=True,
        cmd_class=_PACKAGE + "ScaleSystemVMCmd",
        failure_text="Failed to scale system vm",
        # ScaleSystemVMCmd keeps the response name of the command it grew from.
        response_name="changeserviceforsystemvmresponse",
    ),
)
