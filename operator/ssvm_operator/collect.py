"""`ssvm-operator diagnose --collect POOL`: the diagnostics data of a pool's SSVMs, asked for now.

For every SSVM of the pool's zone it runs getDiagnosticsData (the same request the operator makes before it
destroys an SSVM, act/evidence.py) side by side, waits at most the timeout, and prints one line per SSVM: the
download URL, or why there is none. The pool (its zone and its endpoint's URL) is read from the cluster; the
API keys come from CLOUDSTACK_API_KEY and CLOUDSTACK_SECRET_KEY, never from arguments. With --endpoint and
--zone it needs no cluster. It changes nothing in CloudStack: the zips land in the image store's
diagnostics_data/ folder, which CloudStack empties after diagnostics.data.max.file.age.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, TextIO

from ssvm_operator.act.evidence import COMMAND, Evidence, not_requested, read
from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.errors import CloudError, JobTimeout
from ssvm_operator.cloud.inventory import fetch_inventory
from ssvm_operator.diagnose import DiagnoseError
from ssvm_operator.model.snapshot import SystemVm

DEFAULT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class Collected:
    vm: SystemVm
    evidence: Evidence


@dataclass(frozen=True)
class PoolTarget:
    zone: str
    url: str
    insecure: bool


def pool_target(name: str, namespace: str) -> PoolTarget:
    """The zone and the CloudStack URL of an SSVMPool, read from the cluster."""
    import kubernetes
    from kubernetes.client.exceptions import ApiException

    from ssvm_operator.kube.kubeapi import load_config
    from ssvm_operator.kube.names import ENDPOINTS, GROUP, POOLS, VERSION

    def read_object(plural: str, kind: str, object_name: str) -> dict[str, Any]:
        try:
            found = kubernetes.client.CustomObjectsApi().get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, object_name
            )
        except ApiException as error:
            what = "does not exist" if error.status == 404 else f"cannot be read: HTTP {error.status}"
            raise DiagnoseError(f"{kind} {namespace}/{object_name} {what}") from None
        return found if isinstance(found, dict) else {}

    try:
        load_config()
    except kubernetes.config.ConfigException as error:
        raise DiagnoseError(f"no Kubernetes configuration: {error}") from None
    spec = read_object(POOLS, "SSVMPool", name).get("spec") or {}
    endpoint_name = str((spec.get("endpointRef") or {}).get("name") or "")
    if not endpoint_name or not spec.get("zone"):
        raise DiagnoseError(f"SSVMPool {namespace}/{name} names no endpointRef or zone")
    endpoint = read_object(ENDPOINTS, "CloudStackEndpoint", endpoint_name).get("spec") or {}
    if not endpoint.get("url"):
        raise DiagnoseError(f"CloudStackEndpoint {namespace}/{endpoint_name} has no url")
    return PoolTarget(str(spec["zone"]), str(endpoint["url"]), bool(endpoint.get("insecureSkipTLSVerify")))


async def collect_zone(
    settings: ConnectionSettings,
    credentials: Credentials,
    zone_name: str,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[Collected]:
    async with CloudClient(settings, credentials) as client:
        inventory = await fetch_inventory(client)
        zone = inventory.zone_named(zone_name)
        if zone is None:
            known = ", ".join(sorted(z.name for z in inventory.zones)) or "none"
            raise DiagnoseError(f"zone {zone_name!r} does not exist on this endpoint; zones: {known}")
        vms = sorted(inventory.ssvms_in(zone.id), key=lambda vm: vm.name)
        deadline = time.monotonic() + timeout_seconds
        found = await asyncio.gather(*(_collect(client, vm, deadline, timeout_seconds) for vm in vms))
    return [Collected(vm, evidence) for vm, evidence in zip(vms, found, strict=True)]


async def _collect(client: CloudClient, vm: SystemVm, deadline: float, timeout_seconds: float) -> Evidence:
    try:
        job_id = await client.submit(COMMAND, targetid=vm.id)
    except CloudError as error:
        return not_requested(error)
    try:
        return read(await client.wait(job_id, deadline=deadline))
    except JobTimeout:
        return Evidence(missing=f"{COMMAND} job {job_id} still running after {int(timeout_seconds)}s")
    except CloudError as error:
        return Evidence(missing=f"{COMMAND} job {job_id} could not be read: {error}")


def print_collected(title: str, rows: list[Collected], out: TextIO) -> None:
    out.write(f"{title}: diagnostics data of {len(rows)} SSVM(s)\n")
    for row in rows:
        what = row.evidence.url or f"none: {row.evidence.missing}"
        out.write(f"  {row.vm.name}  {row.vm.state}  {what}\n")


def run(
    credentials: Credentials,
    *,
    pool: str | None,
    namespace: str,
    endpoint: str | None,
    zone: str | None,
    insecure: bool,
    timeout_seconds: float,
    out: TextIO,
) -> int:
    """Exit 0 when every SSVM gave a URL, 1 when one did not (or the zone has none), 2 on error."""
    if endpoint:
        if not zone:
            raise DiagnoseError("--endpoint needs --zone")
        target = PoolTarget(zone, endpoint, insecure)
        title = f"zone {zone}"
    elif pool:
        target = pool_target(pool, namespace)
        target = PoolTarget(target.zone, target.url, target.insecure or insecure)
        title = f"SSVMPool {namespace}/{pool} (zone {target.zone})"
    else:
        raise DiagnoseError("name a pool, or give --endpoint and --zone")
    settings = ConnectionSettings(url=target.url, verify=not target.insecure)
    rows = asyncio.run(collect_zone(settings, credentials, target.zone, timeout_seconds))
    print_collected(title, rows, out)
    return 0 if rows and all(r.evidence.url for r in rows) else 1
