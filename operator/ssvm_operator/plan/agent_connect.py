"""An SSVM whose agent never connects is a failure, not "converging".

CloudStack creates an SSVM's host row only when the agent in the guest first connects (its StartupCommand,
`ResourceManagerImpl.createHostVOForConnectedAgent`), so a Running SSVM whose agent cannot reach a management
server shows no `agentstate` at all, or stays `Connecting` if it got that far. That is converging only until
`health.unhealthyAfterSeconds` after the SSVM started; then it is unhealthy like a lost agent and climbs the
remediation ladder, and it no longer holds the zone's other actions as "in motion".

The commonest cause is the agent not reaching the management servers on port 8250. When every SSVM of a zone
fails that way, repairing them one by one will not help, and the pool says what the CloudStack
troubleshooting guide ("SSVM, templates, Secondary storage troubleshooting") points at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ssvm_operator.model.snapshot import SystemVm, Zone
from ssvm_operator.model.spec import HealthPolicy
from ssvm_operator.plan.findings import Reason, degraded
from ssvm_operator.plan.types import Finding, Scope, VmMemory

CONNECTING_AGENT_STATES = frozenset({"Connecting", "Creating", "Rebalancing"})


def started_at(vm: SystemVm) -> datetime | None:
    """When the SSVM last started, as far as CloudStack says: its creation or its agent's last disconnect."""
    moments = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in (vm.created, vm.last_disconnected) if t]
    return max(moments) if moments else None


def waiting_for_agent(vm: SystemVm) -> bool:
    return vm.state == "Running" and (vm.agent_state is None or vm.agent_state in CONNECTING_AGENT_STATES)


def mark_overdue(vm: SystemVm, policy: HealthPolicy, now: datetime) -> SystemVm:
    """The SSVM with `agent_overdue` set when its agent has had the grace period to connect and did not."""
    if not waiting_for_agent(vm) or vm.pending_job_id is not None:
        return vm
    started = started_at(vm)
    if started is None or now - started < timedelta(seconds=policy.unhealthy_after_seconds):
        return vm
    return replace(vm, agent_overdue=True)


def overdue_memory(vm: SystemVm, memory: VmMemory) -> VmMemory:
    """The unhealthy clock of an overdue agent starts when the SSVM started: its grace is already spent."""
    if not vm.agent_overdue or memory.unhealthy_since is not None:
        return memory
    return replace(memory, unhealthy_since=started_at(vm))


def zone_agents_unreachable(vms: Sequence[SystemVm], zone: Zone) -> list[Finding]:
    """Every Running SSVM of the zone has an agent that never connected: point at port 8250."""
    running = [vm for vm in vms if vm.state == "Running"]
    if not running or not all(vm.agent_overdue for vm in running):
        return []
    names = ", ".join(sorted(vm.name for vm in running))
    return [
        degraded(
            Reason.AGENTS_CANNOT_CONNECT,
            f"no SSVM agent of zone {zone.name} has connected to a management server ({names}): the agent "
            "running in the SSVM has not been able to connect with the management server. Check that port "
            "8250 is open on the management servers and that no firewall blocks it from the SSVMs' "
            "private network, that the `host` setting holds an address the SSVMs can reach, and run "
            "/usr/local/cloud/systemvm/ssvm-check.sh inside an SSVM",
            Scope.DEPENDENCY,
        )
    ]
