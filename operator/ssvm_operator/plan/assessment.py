"""One SSVM judged: what CloudStack shows, what the operator remembers, and what the ladder says."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ssvm_operator.model.snapshot import Health, SystemVm
from ssvm_operator.model.spec import HealthPolicy
from ssvm_operator.plan.agent_connect import mark_overdue, overdue_memory
from ssvm_operator.plan.health import remember_health, remember_in_flight, remember_remediation, settling
from ssvm_operator.plan.ladder import Verdict, climb
from ssvm_operator.plan.ordering import by_name
from ssvm_operator.plan.types import TRAITS, ActionKind, InFlight, VmMemory, VmView

# Actions after which the SSVM is gone; CloudStack may create a new one with a new id and name.


@dataclass(frozen=True)
class Assessment:
    vm: SystemVm
    memory: VmMemory
    """Memory updated with this poll's observation (and any in-flight remediation)."""
    verdict: Verdict | None
    """None when CloudStack does not report the SSVM unhealthy."""
    in_flight: InFlight | None
    """The operator's own unfinished action on this SSVM, if any."""
    rebooting: str | None = None
    """Why a reboot the operator sent counts as unfinished although its job ended (reboot_completion.py)."""

    @property
    def in_motion(self) -> str | None:
        """Why this SSVM is on its way somewhere (transitional state, agent connecting, a CloudStack job
        pending, or recovering from the operator's own start or reboot); None when it is settled."""
        moving = settling(self.vm) or self.rebooting
        if moving is not None:
            return moving
        if self.verdict is not None and self.verdict.recovering:
            return f"{self.vm.name} was {self.verdict.reason}"
        return None

    @property
    def health(self) -> Health:
        """The judged health: unhealthy only past its grace period; in motion counts as converging."""
        if self.in_motion is not None:
            return Health.CONVERGING
        if self.verdict is None:
            return self.vm.health
        return Health.UNHEALTHY if self.verdict.kind is not None else Health.CONVERGING

    def view(self) -> VmView:
        return VmView(vm=self.vm, health=self.health, memory=self.memory)

    def remediated(self, kind: ActionKind, at: datetime) -> Assessment:
        """This assessment once the plan has started `kind` on the SSVM at `at`."""
        return replace(self, memory=remember_remediation(self.memory, kind, at))


def assess(
    vms: tuple[SystemVm, ...],
    memory: Mapping[str, VmMemory],
    in_flight: tuple[InFlight, ...],
    policy: HealthPolicy,
    now: datetime,
    scan_interval: float,
) -> tuple[Assessment, ...]:
    """Assess every SSVM, in name order."""
    flights = in_flight_by_vm(in_flight)
    assessed = []
    for vm in sorted((mark_overdue(vm, policy, now) for vm in vms), key=by_name):
        flight = flights.get(vm.id)
        remembered = remember_health(vm, overdue_memory(vm, memory.get(vm.id, VmMemory())), now)
        remembered = remember_in_flight(vm, remembered, flight)
        verdict = climb(vm, remembered, policy, now, scan_interval)
        assessed.append(Assessment(vm=vm, memory=remembered, verdict=verdict, in_flight=flight))
    return tuple(assessed)


def in_flight_by_vm(in_flight: tuple[InFlight, ...]) -> dict[str, InFlight]:
    """The in-flight action per SSVM id. Should several be recorded for one SSVM, one that removes it wins:
    it decides whether the SSVM is still counted."""
    flights: dict[str, InFlight] = {}
    for flight in sorted(in_flight, key=lambda f: not TRAITS[f.action].removes_vm):
        if flight.vm_id is not None:
            flights.setdefault(flight.vm_id, flight)
    return flights
