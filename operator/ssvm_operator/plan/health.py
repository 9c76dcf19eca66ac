"""What is wrong with an SSVM, for how long, and what the operator remembers about it between polls.

The raw classification is `SystemVm.health` (cloudstack-contract.md §3.3). Here it gains time: when an SSVM
was first seen unhealthy, and which remediation the operator last started on it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum

from ssvm_operator.model.snapshot import Health, SystemVm
from ssvm_operator.plan.types import TRAITS, ActionKind, InFlight, VmMemory

# Remediations climb a ladder: each is remembered so the next poll knows which rung comes next.

# A powered-off VM that a start can bring back. Shutdown is what some hypervisors report for a guest that
# powered itself off; CloudStack treats it like Stopped.
STOPPED_VM_STATES = frozenset({"Stopped", "Shutdown"})


class Symptom(StrEnum):
    STOPPED = "Stopped"
    """The VM is off: a start may fix it (CloudStack's scanner usually does within one scan)."""
    AGENT_LOST = "AgentLost"
    """The VM runs but its agent lost the management server: a reboot may fix it."""
    BROKEN = "Broken"
    """The VM is in Error, Unknown or another dead state: only recreation fixes it."""


def symptom_of(vm: SystemVm) -> Symptom | None:
    """None unless CloudStack's own data says the SSVM is unhealthy (not merely converging)."""
    if vm.health is not Health.UNHEALTHY:
        return None
    if vm.state in STOPPED_VM_STATES:
        return Symptom.STOPPED
    if vm.state == "Running":
        return Symptom.AGENT_LOST
    return Symptom.BROKEN


def describe(vm: SystemVm) -> str:
    """The observed state in CloudStack's words, e.g. "VM Stopped" or "agent Disconnected"."""
    if vm.state == "Running" and vm.agent_overdue:
        return f"agent {vm.agent_state}, never Up" if vm.agent_state else "agent never connected"
    if vm.state == "Running" and vm.agent_state is not None:
        return f"agent {vm.agent_state}"
    if vm.state == "Running":
        return "agent not reported yet"
    return f"VM {vm.state}"


def settling(vm: SystemVm) -> str | None:
    """Why the SSVM is on its way somewhere by itself (cloudstack-contract.md §3.3 Converging), or None."""
    if vm.pending_job_id is not None:
        return f"{vm.name} has CloudStack job {vm.pending_job_id} pending"
    if vm.health is Health.CONVERGING:
        return f"{vm.name} is converging ({describe(vm)})"
    return None


def seconds_between(earlier: datetime, later: datetime) -> float:
    return (_aware(later) - _aware(earlier)).total_seconds()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def remember_health(vm: SystemVm, memory: VmMemory, now: datetime) -> VmMemory:
    """Start the unhealthy clock when first seen unhealthy; forget everything once the SSVM is healthy.

    A converging SSVM keeps its clock: an agent that reconnects and drops again has been unhealthy all along.
    """
    health = vm.health
    if health is Health.HEALTHY:
        return VmMemory()
    if health is Health.UNHEALTHY and memory.unhealthy_since is None:
        return replace(memory, unhealthy_since=now)
    return memory


def remember_remediation(memory: VmMemory, kind: ActionKind, at: datetime) -> VmMemory:
    """Record a remediation unless a later one is already remembered."""
    if not TRAITS[kind].ladder_rung:
        return memory
    if memory.last_remediation_at is not None and seconds_between(at, memory.last_remediation_at) >= 0:
        return memory
    return replace(memory, last_remediation=kind, last_remediation_at=at)


def remember_in_flight(vm: SystemVm, memory: VmMemory, in_flight: InFlight | None) -> VmMemory:
    """An in-flight remediation is the most reliable record that the operator started it, and when."""
    if in_flight is None or vm.health is Health.HEALTHY:
        return memory
    return remember_remediation(memory, in_flight.action, in_flight.started_at)
