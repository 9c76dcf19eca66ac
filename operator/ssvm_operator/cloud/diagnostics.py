"""Connectivity checks from inside the SSVMs: runDiagnostics type=ping, one job per SSVM at a time.

runDiagnostics is async (since 4.12): `targetid` is the system VM, `ipaddress` the target, `type` ping,
traceroute or arping, `params` extra options; the job result is {"diagnostics": {"stdout", "stderr",
"exitcode"}} with the exit code as a string (RunDiagnosticsCmd.java, RunDiagnosticsResponse.java).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ssvm_operator.cloud.client import CloudApi, JobState
from ssvm_operator.cloud.config import list_management_servers
from ssvm_operator.cloud.errors import CloudError
from ssvm_operator.model.diagnostics import PING, Check, Target, TargetRole
from ssvm_operator.model.snapshot import SystemVm, Zone

PING_PARAMS = "-c 3 -W 2"
"""Three probes, two seconds each at most: an unreachable target costs seconds, not a minute."""
CHECK_TIMEOUT_SECONDS = 60.0
"""How long one diagnostic job may take before the check is reported as not run."""

_TIME = re.compile(r"time[=<]\s*([\d.]+)\s*ms")
_RTT = re.compile(r"(?:rtt|round-trip)[^=]*=\s*[\d.]+/([\d.]+)/")
_LOSS = re.compile(r"(\d+(?:\.\d+)?)% packet loss")


async def zone_targets(client: CloudApi, zone: Zone, extra: Iterable[str] = ()) -> tuple[Target, ...]:
    """What every SSVM of the zone must reach: its image store hosts, internal DNS, the management
    servers and the declared extra targets; each address once, in that order."""
    stores, servers = await asyncio.gather(
        client.list("listImageStores", zoneid=zone.id), list_management_servers(client)
    )
    targets = [
        Target(host, TargetRole.STORAGE, str(store.get("name") or "") or None)
        for store in sorted(stores, key=lambda s: str(s.get("name", "")))
        if (host := host_of(str(store.get("url") or "")))
    ]
    targets += [Target(dns, TargetRole.DNS) for dns in zone.internal_dns]
    targets += [
        Target(server.service_ip, TargetRole.MANAGEMENT_SERVER, server.name)
        for server in sorted(servers, key=lambda s: s.name)
        if server.service_ip
    ]
    targets += [Target(host, TargetRole.EXTRA, entry) for entry in extra if (host := host_of(entry))]
    unique: dict[str, Target] = {}
    for target in targets:
        unique.setdefault(target.address, target)
    return tuple(unique.values())


def host_of(location: str) -> str | None:
    """The host of nfs://10.0.0.5/export, http://templates.example.com/x.qcow2, [fe80::1], or a bare host."""
    location = location.strip()
    if not location:
        return None
    if "://" not in location:
        location = "//" + location
    try:
        host = urlsplit(location).hostname
    except ValueError:
        return None
    return host or None


def parse_result(result: Mapping[str, Any]) -> tuple[bool | None, float | None, str | None]:
    """(reachable, latency in ms, error) from a runDiagnostics job result; reachable None = not checked.

    The command runs inside the guest over SSH from its hypervisor host. When that fails (guest hung or
    rebooting, no SSH to the link-local address) the job still succeeds, with exit code "-1", empty stdout
    and the error in stderr (`VirtualRoutingResource.execute(DiagnosticsCommand)`,
    `DiagnosticsAnswer.getExecutionDetails`): the target was not checked, it is not unreachable.
    """
    diagnostics = result.get("diagnostics")
    if not isinstance(diagnostics, Mapping):
        diagnostics = result
    stdout = str(diagnostics.get("stdout") or "")
    stderr = str(diagnostics.get("stderr") or "").strip()
    code = str(diagnostics.get("exitcode", "")).strip()
    if code == "0":
        return True, latency_ms(stdout), None
    if code == NOT_RUN_EXIT_CODE:
        return (
            None,
            None,
            f"the check could not run in the SSVM: {stderr.splitlines()[-1] if stderr else 'no output'}",
        )
    loss = _LOSS.search(stdout)
    if stderr:
        error = stderr.splitlines()[-1]
    elif loss:
        error = f"{loss.group(1)}% packet loss"
    else:
        error = f"ping exited with code {code or 'unknown'}"
    return False, None, error


NOT_RUN_EXIT_CODE = "-1"
"""DiagnosticsAnswer's exit code when the command never ran in the guest."""


def latency_ms(stdout: str) -> float | None:
    """The average round trip from ping's summary, else from its first reply."""
    for pattern in (_RTT, _TIME):
        found = pattern.search(stdout)
        if found:
            return round(float(found.group(1)), 3)
    return None


async def check_ssvm(
    client: CloudApi,
    vm: SystemVm,
    targets: Sequence[Target],
    now: Callable[[], datetime],
    timeout_seconds: float = CHECK_TIMEOUT_SECONDS,
) -> list[Check]:
    """Every target from one SSVM, one job after the other: never two diagnostic jobs in one SSVM."""
    checks = []
    for target in targets:
        checks.append(await _ping(client, vm, target, now, timeout_seconds))
    return checks


async def run_round(
    client: CloudApi,
    vms: Sequence[SystemVm],
    targets: Sequence[Target],
    now: Callable[[], datetime] | None = None,
    timeout_seconds: float = CHECK_TIMEOUT_SECONDS,
) -> list[Check]:
    """One round: the SSVMs side by side, each through its targets in turn."""
    clock = now or (lambda: datetime.now(UTC))
    per_vm = await asyncio.gather(*(check_ssvm(client, vm, targets, clock, timeout_seconds) for vm in vms))
    return [check for checks in per_vm for check in checks]


async def _ping(
    client: CloudApi, vm: SystemVm, target: Target, now: Callable[[], datetime], timeout_seconds: float
) -> Check:
    def not_run(error: str) -> Check:
        return Check(vm.id, vm.name, target, now(), reachable=None, error=error)

    try:
        job_id = await client.submit(
            "runDiagnostics", targetid=vm.id, ipaddress=target.address, type=PING, params=PING_PARAMS
        )
        job = await client.wait(job_id, deadline=time.monotonic() + timeout_seconds)
    except CloudError as failure:
        return not_run(f"runDiagnostics: {failure}")
    if job.state is not JobState.SUCCEEDED:
        return not_run(f"runDiagnostics job {job.id} failed: {job.error_text} ({job.error_code})")
    reachable, latency, error = parse_result(job.result)
    return Check(vm.id, vm.name, target, now(), reachable, latency, error)
