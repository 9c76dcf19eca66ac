"""runDiagnostics: ping, traceroute or arping from inside a system VM (async, since 4.12).

Parameters and result names: api/src/main/java/org/apache/cloudstack/api/command/admin/diagnostics/
RunDiagnosticsCmd.java (targetid, ipaddress, type, params) and
api/src/main/java/org/apache/cloudstack/api/response/RunDiagnosticsResponse.java (object "diagnostics"
with stdout, stderr and exitcode, the exit code as a string). Whether the target answers is set per VM
and target through the admin path.

The command runs inside the guest, over SSH from the hypervisor host to the link-local address
(LibvirtComputingResource.executeInVR runs router_proxy.sh). When that cannot run it (guest hung, guest
mid-reboot, SSH unreachable) VirtualRoutingResource answers a failed DiagnosticsAnswer, and
DiagnosticsAnswer.getExecutionDetails turns it into a *successful* job result with exit code "-1", empty
stdout and the script's error text in stderr.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from cloudstack_sim.commands import AsyncWork, Command, Services
from cloudstack_sim.errors import internal_error, param_error
from cloudstack_sim.model import SystemVm, VmState
from cloudstack_sim.params import Kind, Param

_TYPES = ("ping", "traceroute", "arping")
SCRIPT_TIMEOUT = "timeout"
"""Script.ERR_TIMEOUT (utils/.../script/Script.java): what a script that timed out returns."""
_UNSAFE = re.compile(r"[;&|`$<>\\]")


def reachable(vm: SystemVm, target: str) -> bool:
    return vm.reachability.get(target, vm.reachability.get("*", True))


def _ping(target: str, ok: bool) -> tuple[str, str]:
    if not ok:
        return (
            f"PING {target} ({target}): 56 data bytes\n\n--- {target} ping statistics ---\n"
            "4 packets transmitted, 0 packets received, 100% packet loss\n",
            "1",
        )
    replies = "".join(f"64 bytes from {target}: icmp_seq={n} ttl=63 time=0.{n + 3}12 ms\n" for n in range(4))
    return (
        f"PING {target} ({target}): 56 data bytes\n{replies}\n--- {target} ping statistics ---\n"
        "4 packets transmitted, 4 packets received, 0% packet loss\n"
        "round-trip min/avg/max/stddev = 0.312/0.462/0.612/0.112 ms\n",
        "0",
    )


def _traceroute(target: str, ok: bool, gateway: str) -> tuple[str, str]:
    header = f"traceroute to {target} ({target}), 30 hops max, 60 byte packets\n"
    if not ok:
        # traceroute exits 0 even when the target never answers: only the stars tell.
        return header + f" 1  {gateway}  0.412 ms  0.388 ms  0.371 ms\n" + "".join(
            f" {hop}  * * *\n" for hop in range(2, 31)
        ), "0"
    return (
        header + f" 1  {gateway}  0.412 ms  0.388 ms  0.371 ms\n 2  {target}  0.912 ms  0.874 ms  0.861 ms\n",
        "0",
    )


def _arping(target: str, ok: bool) -> tuple[str, str]:
    if not ok:
        return (
            f"ARPING {target} from 0.0.0.0 eth0\nSent 4 probes (4 broadcast(s))\nReceived 0 response(s)\n",
            "1",
        )
    replies = "".join(f"Unicast reply from {target} [1E:00:4B:00:00:0{n}]  0.61{n}ms\n" for n in range(4))
    return (
        f"ARPING {target} from 0.0.0.0 eth0\n{replies}"
        "Sent 4 probes (1 broadcast(s))\nReceived 4 response(s)\n",
        "0",
    )


def _run(vm: SystemVm, kind: str, target: str, gateway: str) -> dict[str, str]:
    ok = reachable(vm, target)
    if kind == "ping":
        stdout, code = _ping(target, ok)
    elif kind == "traceroute":
        stdout, code = _traceroute(target, ok, gateway)
    else:
        stdout, code = _arping(target, ok)
    return {"stdout": stdout, "stderr": "", "exitcode": code}


async def run_diagnostics(services: Services, args: dict[str, Any]) -> AsyncWork:
    vm = args["targetid"]
    assert isinstance(vm, SystemVm)
    target = args["ipaddress"].strip()
    kind = args["type"].strip()
    options = args.get("params") or ""
    if not target or not kind:
        raise param_error(
            "Unable to execute API command rundiagnostics due to invalid value. Empty value "
            "provided for parameter " + ("ipaddress" if not target else "type")
        )
    zone = services.cloud.zones[vm.zone_uuid]

    async def run() -> dict[str, Any]:
        # Checked inside the job, as DiagnosticsServiceImpl.runDiagnosticsCommand does; a bad type is an
        # IllegalArgumentException the command does not catch, so the job fails with 530.
        if kind.lower() not in _TYPES:
            raise internal_error(f"{kind} Is not a valid diagnostics command type. ")
        if _UNSAFE.search(options):
            raise internal_error(f"Optional parameters contain unwanted characters: {options}")
        if not vm.live or vm.state is not VmState.RUNNING or vm.host_uuid is None:
            raise internal_error(f"Unable to find host for virtual machine instance: {vm.name}")
        await asyncio.sleep(services.lifecycle.timings.diagnostics)
        if vm.guest_hung or vm.guest_booting or not vm.guest_ssh:
            # Script.execute gives its timeout text when router_proxy.sh's ssh gets no answer.
            return {"diagnostics": {"stdout": "", "stderr": SCRIPT_TIMEOUT, "exitcode": "-1"}}
        return {"diagnostics": _run(vm, kind.lower(), target, f"172.16.{zone.subnet}.1")}

    return AsyncWork(vm.uuid, run)


COMMANDS = (
    Command(
        "runDiagnostics",
        (
            Param("targetid", Kind.UUID, required=True, entity="vm"),
            Param("ipaddress", required=True),
            Param("type", required=True),
            Param("params"),
        ),
        run_diagnostics,
        is_async=True,
        cmd_class="org.apache.cloudstack.api.command.admin.diagnostics.RunDiagnosticsCmd",
        failure_text="Failed to run diagnostics",
    ),
)
