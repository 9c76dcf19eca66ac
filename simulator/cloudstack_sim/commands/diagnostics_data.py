"""getDiagnosticsData: zip files inside a system VM, copy the zip to secondary storage, answer a download URL.

As server/src/main/java/org/apache/cloudstack/diagnostics/DiagnosticsServiceImpl.java
(getDiagnosticsDataCommand) does it, in its order, each failure a CloudRuntimeException that fails the job
with 530 and CloudStack's text:

1. getSystemVMInstance: the VM has no host (a VM that is not running has none) -> "Unable to find host for
   virtual machine instance: <instance name>".
2. getImageStore: the zone's image stores that are not read-only, the first whose used fraction is at
   most `diagnostics.data.disable.threshold` (StatsCollector.imageStoreHasEnoughCapacity) -> "No Secondary
   storage found in Zone with Id: <id>" or "No suitable secondary storage found to retrieve diagnostics in
   Zone: <id>".
3. zipFilesInSystemVm: the file list is `files` when given, else `diagnostics.data.systemvm.defaults`
   (SystemVMDiagnosticsFiles.generateFileList); the hypervisor host runs get_diagnostics_files.py in the guest
   over its link-local address (PrepareFilesCommand) -> "Failed to generate diagnostics zip file in VM <uuid>
   due to: <details>" when the guest cannot be reached. The zip is /root/diagnostics_files_<time>.tar
   (systemvm/debian/opt/cloud/bin/get_diagnostics_files.py).
4. copyZipFileToSecondaryStorage: the zip lands on the store as diagnostics_data/diagnostics_files_<time>.tar.
5. createFileDownloadUrl: an SSVM of the zone whose agent is Up or Connecting
   (DefaultEndPointSelector.findEndpointForImageStorage) links the file under its web root and the URL is
   http://<that SSVM's public IP>/userdata/<random uuid>.zip, or https with `secstorage.encrypt.copy`
   (NfsImageStoreDriverImpl.generateCopyUrl). Without such an SSVM the command goes to the management
   server itself, which cannot serve it: the job fails although the zip is already on the store.

The files stay on the store until the garbage collector (`diagnostics.data.gc.enable`, every
`diagnostics.data.gc.interval` seconds from the management server's start, both read at start) finds them
older than `diagnostics.data.max.file.age` (GCBackgroundTask). The download link dies with the SSVM that
serves it.

Whether the guest answers over link-local is set per VM through the admin path's reachability, target
`link-local` (GUEST_CONTROL); runDiagnostics targets are not affected by it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from cloudstack_sim.catalogue import parse_bool, parse_int
from cloudstack_sim.cloud import Cloud
from cloudstack_sim.commands import AsyncWork, Command, Services
from cloudstack_sim.errors import internal_error
from cloudstack_sim.model import AgentState, ImageStore, StoredFile, SystemVm, Zone
from cloudstack_sim.params import Kind, Param

GUEST_CONTROL = "link-local"
"""The reachability target that says whether the hypervisor host reaches the guest over link-local."""
DIRECTORY = "diagnostics_data"
"""DiagnosticsService.DIAGNOSTICS_DIRECTORY: where the zips land on secondary storage."""
DEFAULT_FILES_SETTING = "diagnostics.data.systemvm.defaults"
_SERVING_AGENT_STATES = (AgentState.UP, AgentState.CONNECTING)
_NO_ENDPOINT = (
    # LocalHostEndpoint answers the download-link command it cannot run with an unsupported-command
    # Answer (Answer.createUnsupportedCommandAnswer), which createEntityExtractUrl appends to its message.
    "Unsupported command issued: com.cloud.agent.api.storage.CreateEntityDownloadURLCommand.  "
    "Are you sure you got the right type of server?"
)


def guest_reachable(vm: SystemVm) -> bool:
    return vm.reachability.get(GUEST_CONTROL, True)


def file_list(cloud: Cloud, files: list[str] | None) -> list[str]:
    """`files` when given (replacing the defaults), else the setting, trimmed and without repeats."""
    if files:
        return list(files)
    configured = cloud.settings.global_value(DEFAULT_FILES_SETTING) or ""
    return list(dict.fromkeys(part.strip() for part in configured.split(",") if part.strip()))


def choose_store(cloud: Cloud, zone: Zone) -> ImageStore:
    stores = [s for s in cloud.zone_image_stores(zone.uuid) if not s.readonly]
    if not stores:
        raise internal_error(f"No Secondary storage found in Zone with Id: {zone.internal_id}")
    threshold = _float(cloud.settings.global_value("diagnostics.data.disable.threshold"), 0.9)
    for store in sorted(stores, key=lambda s: s.internal_id):
        if store.size_total and store.size_used / store.size_total <= threshold:
            return store
    raise internal_error(
        f"No suitable secondary storage found to retrieve diagnostics in Zone: {zone.internal_id}"
    )


def collect_garbage(cloud: Cloud, now: datetime) -> list[str]:
    """Delete the diagnostics files the garbage collector would have deleted by `now`; their paths."""
    if not parse_bool(cloud.in_force("diagnostics.data.gc.enable")):
        return []
    interval = timedelta(seconds=max(1, parse_int(cloud.in_force("diagnostics.data.gc.interval"), 86400)))
    max_age = timedelta(
        seconds=parse_int(cloud.settings.global_value("diagnostics.data.max.file.age"), 86400)
    )
    started = cloud.primary_ms.last_server_start
    deleted = []
    for store in cloud.image_stores.values():
        for path, stored in list(store.files.items()):
            if not path.startswith(DIRECTORY + "/"):
                continue
            due = stored.written + max_age  # the first collector run at or after this deletes the file
            runs = max(1, -(-(due - started) // interval))
            if started + runs * interval <= now:
                del store.files[path]
                deleted.append(path)
    return deleted


def download_url(cloud: Cloud, serving: SystemVm, name: str) -> str:
    encrypt = parse_bool(cloud.settings.global_value("secstorage.encrypt.copy"))
    domain = cloud.settings.global_value("secstorage.ssl.cert.domain") or ""
    if encrypt and domain:
        host = serving.public_ip.replace(".", "-") + domain[1:] if domain.startswith("*") else domain
        return f"https://{host}/userdata/{name}"
    return f"http://{serving.public_ip}/userdata/{name}"


async def get_diagnostics_data(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = args["targetid"]
    assert isinstance(vm, SystemVm)
    files = args.get("files")
    cloud = services.cloud

    async def run() -> dict[str, Any]:
        if not vm.live or vm.host_uuid is None:
            raise internal_error(f"Unable to find host for virtual machine instance: {vm.name}")
        zone = cloud.zones[vm.zone_uuid]
        store = choose_store(cloud, zone)
        wanted = file_list(cloud, files)
        if not wanted:
            raise internal_error("Failed to generate diagnostics file list for retrieval.")
        await asyncio.sleep(services.lifecycle.timings.diagnostics)
        if not guest_reachable(vm) or vm.link_local_ip is None:
            raise internal_error(
                f"Failed to generate diagnostics zip file in VM {vm.uuid} due to: "
                f"Unable to connect to {vm.link_local_ip or 'the guest'} port 3922 over link-local"
            )
        now = cloud.now()
        collect_garbage(cloud, now)
        zip_name = f"diagnostics_files_{now:%Y%m%d-%H%M%S}.tar"
        install_path = f"{DIRECTORY}/{zip_name}"
        store.files[install_path] = StoredFile(now, vm.uuid, tuple(wanted))
        serving = [
            s
            for s in cloud.ssvms(vm.zone_uuid)
            if s.agent is not None and s.agent.state in _SERVING_AGENT_STATES
        ]
        if not serving:
            raise internal_error(
                f"Unable to create a link for entity at {install_path} on ssvm,{_NO_ENDPOINT}"
            )
        link = f"{cloud.new_uuid()}.zip"
        return {"diagnostics": {"url": download_url(cloud, cloud.rng.choice(serving), link)}}

    # GetDiagnosticsDataCmd does not override getApiResourceId: the job has no instance, and listSystemVms
    # shows no `jobid` on the VM while it runs (ApiServer.queueCommand).
    return AsyncWork(None, run)


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


COMMANDS = (
    Command(
        "getDiagnosticsData",
        (
            Param("targetid", Kind.UUID, required=True, entity="vm"),
            Param("files", Kind.LIST),
        ),
        get_diagnostics_data,
        is_async=True,
        cmd_class="org.apache.cloudstack.api.command.admin.diagnostics.GetDiagnosticsDataCmd",
        failure_text="Failed to retrieve diagnostics files",
    ),
)
