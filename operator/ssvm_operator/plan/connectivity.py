"""Connectivity diagnostics judged: is a fault in the storage (or DNS, or the management servers), or in
one SSVM?

The classic SSVM troubles are rarely in the VM: the NFS server went away, the zone's DNS does not answer,
the management server is out of reach. From inside every Running SSVM the operator pings the zone's image
store hosts, its internal DNS servers, the management servers and any extra targets (`runDiagnostics`).

- A target that no Running SSVM of the zone reaches is a fault of that target. Rebooting or recreating
  SSVMs cannot fix it, so when it is a storage host, the agent symptoms that follow from it (Disconnected,
  Alert, Down) are held instead of remediated.
- An SSVM that cannot reach what a sibling reaches is the broken one: it is judged unhealthy like an SSVM
  whose agent is lost, and the remediation ladder (reboot, then recreate) applies within the budget.

Pure: checks in, findings, verdicts and holds out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ssvm_operator.model.diagnostics import Check, Connectivity, Target, TargetRole
from ssvm_operator.model.snapshot import SystemVm
from ssvm_operator.model.spec import HealthPolicy
from ssvm_operator.plan.assessment import Assessment
from ssvm_operator.plan.candidate import Candidate, Purpose
from ssvm_operator.plan.diagnostics_schedule import trouble_since
from ssvm_operator.plan.health import remember_remediation
from ssvm_operator.plan.ladder import isolated_verdict
from ssvm_operator.plan.types import (
    ActionKind,
    Finding,
    Scope,
    Severity,
    VmMemory,
)


class ConnectivityReason(StrEnum):
    """Reasons of the Connectivity condition and of the findings it gives the pool."""

    REACHABLE = "Reachable"
    NOT_CHECKED = "NotChecked"
    STORAGE_UNREACHABLE = "StorageUnreachable"
    MANAGEMENT_SERVER_UNREACHABLE = "ManagementServerUnreachable"
    DNS_UNREACHABLE = "DnsUnreachable"
    TARGET_UNREACHABLE = "TargetUnreachable"
    SSVM_ISOLATED = "SSVMIsolated"


# A zone-wide fault by the role of its target; the first in this order names the Connectivity condition.
_ZONE_REASON = {
    TargetRole.STORAGE: ConnectivityReason.STORAGE_UNREACHABLE,
    TargetRole.MANAGEMENT_SERVER: ConnectivityReason.MANAGEMENT_SERVER_UNREACHABLE,
    TargetRole.DNS: ConnectivityReason.DNS_UNREACHABLE,
    TargetRole.EXTRA: ConnectivityReason.TARGET_UNREACHABLE,
}

_HINT = {
    TargetRole.STORAGE: (
        'the SSVMs cannot mount it ("Unable to mount secondary storage", stale NFS file handles): check '
        "the NFS server, its export (showmount -e) and the storage network's routes and firewall"
    ),
    TargetRole.DNS: (
        "template and ISO downloads stay at 0% because their URLs cannot be resolved: check the zone's "
        "internal DNS servers (internaldns1/2) and their route from the SSVMs' management network"
    ),
    TargetRole.MANAGEMENT_SERVER: (
        "SSVM agents cannot connect to it (port 8250): check the route and firewall between the "
        "management network and the management servers, and the global setting host"
    ),
    TargetRole.EXTRA: "downloads from it fail: check its route and firewall from the SSVMs' public network",
}


@dataclass(frozen=True)
class ZoneFault:
    """A target that no Running SSVM of the zone reaches."""

    target: Target
    ssvms: tuple[str, ...]
    """Names of the SSVMs that tried."""


@dataclass(frozen=True)
class Isolation:
    """An SSVM that cannot reach targets a sibling reaches."""

    vm_id: str
    vm_name: str
    targets: tuple[Target, ...]
    reached_by: tuple[str, ...]
    """Names of the siblings that reach them."""
    since: datetime
    confirmed_at: datetime
    """The latest check that showed it."""

    def describe(self) -> str:
        what = ", ".join(t.describe() for t in self.targets)
        return f"cannot reach {what}, which {', '.join(self.reached_by)} reach(es)"


@dataclass(frozen=True)
class Diagnosis:
    zone_faults: tuple[ZoneFault, ...] = ()
    isolated: tuple[Isolation, ...] = ()
    checks: tuple[Check, ...] = ()
    """The checks the diagnosis is built on: those of SSVMs Running now, that could run."""

    @property
    def storage_faults(self) -> tuple[ZoneFault, ...]:
        return tuple(f for f in self.zone_faults if f.target.role is TargetRole.STORAGE)

    def isolation_of(self, vm_id: str) -> Isolation | None:
        return next((i for i in self.isolated if i.vm_id == vm_id), None)

    def hold_reason(self) -> str | None:
        """Why agent-lost SSVMs are not repaired now, or None."""
        hosts = [f.target.address for f in self.storage_faults]
        if not hosts:
            return None
        noun = "storage host" if len(hosts) == 1 else "storage hosts"
        verb = "is" if len(hosts) == 1 else "are"
        return (
            f"{noun} {', '.join(hosts)} {verb} unreachable from every SSVM of the zone: repairing SSVMs "
            "would not help; fix the storage first"
        )

    def findings(self, zone_name: str) -> list[Finding]:
        found = []
        for fault in self.zone_faults:
            reason = _ZONE_REASON[fault.target.role]
            found.append(
                Finding(
                    Severity.DEGRADED, reason.value, self._zone_message(fault, zone_name), Scope.DEPENDENCY
                )
            )
        for isolation in self.isolated:
            found.append(
                Finding(
                    Severity.DEGRADED,
                    ConnectivityReason.SSVM_ISOLATED.value,
                    f"{isolation.vm_name} {isolation.describe()}: the fault is in {isolation.vm_name} or its "
                    "hypervisor host, and it is repaired like an SSVM whose agent is lost",
                    Scope.SSVM,
                )
            )
        return found

    def summary(self, zone_name: str) -> tuple[bool | None, str, str]:
        """The Connectivity condition: (status, reason, message)."""
        if not self.checks:
            return None, ConnectivityReason.NOT_CHECKED.value, "no diagnostics from a Running SSVM yet"
        findings = self.findings(zone_name)
        if not findings:
            targets = {c.target.address for c in self.checks}
            ssvms = {c.ssvm_name for c in self.checks}
            return (
                True,
                ConnectivityReason.REACHABLE.value,
                f"every SSVM ({len(ssvms)}) reaches every target ({len(targets)}) at the last check",
            )
        return False, findings[0].reason, "; ".join(f.message for f in findings)

    def _zone_message(self, fault: ZoneFault, zone_name: str) -> str:
        if len(fault.ssvms) > 1:
            where = f"every SSVM of zone {zone_name} ({', '.join(fault.ssvms)})"
        else:
            where = f"{fault.ssvms[0]}, the only SSVM of zone {zone_name} checked"
        text = f"{fault.target.describe()} is unreachable from {where}: {_HINT[fault.target.role]}"
        if fault.target.role is TargetRole.STORAGE:
            text += "; SSVMs are not rebooted or recreated for the agent trouble that follows from it"
        return text


def diagnose(connectivity: Connectivity | None, vms: Iterable[SystemVm]) -> Diagnosis:
    """Classify the latest checks of the zone's Running SSVMs."""
    if connectivity is None:
        return Diagnosis()
    running = {vm.id: vm for vm in vms if vm.state == "Running"}
    checks = tuple(c for c in connectivity.checks if c.ssvm_id in running and c.reachable is not None)
    by_target: dict[str, list[Check]] = {}
    for check in checks:
        by_target.setdefault(check.target.address, []).append(check)
    faults = []
    isolated: dict[str, list[tuple[Target, tuple[str, ...], Check]]] = {}
    for address in sorted(by_target):
        group = by_target[address]
        reached = tuple(sorted(c.ssvm_name for c in group if c.reachable))
        failed = [c for c in group if not c.reachable]
        if not failed:
            continue
        if not reached:
            faults.append(ZoneFault(group[0].target, tuple(sorted(c.ssvm_name for c in failed))))
            continue
        for check in failed:
            isolated.setdefault(check.ssvm_id, []).append((check.target, reached, check))
    isolations = []
    for vm_id, entries in isolated.items():
        failed_checks = [check for _, _, check in entries]
        isolations.append(
            Isolation(
                vm_id=vm_id,
                vm_name=running[vm_id].name,
                targets=tuple(target for target, _, _ in entries),
                reached_by=tuple(sorted({name for _, names, _ in entries for name in names})),
                since=min(c.unreachable_since or c.checked_at for c in failed_checks),
                confirmed_at=max(c.checked_at for c in failed_checks),
            )
        )
    return Diagnosis(
        zone_faults=tuple(sorted(faults, key=_fault_order)),
        isolated=tuple(sorted(isolations, key=lambda i: i.vm_name)),
        checks=checks,
    )


def _fault_order(fault: ZoneFault) -> tuple[int, str]:
    return (list(_ZONE_REASON).index(fault.target.role), fault.target.address)


def judge(
    assessed: Sequence[Assessment],
    diagnosis: Diagnosis,
    memory: Mapping[str, VmMemory],
    policy: HealthPolicy,
    now: datetime,
) -> tuple[Assessment, ...]:
    """An isolated SSVM that CloudStack reports healthy is judged like one whose agent is lost.

    The health memory forgets everything once CloudStack reports an SSVM healthy, so the memory the pool
    carried in (`memory`, by SSVM id) is the record of the isolation's grace and of the rungs taken.
    """
    judged = []
    for assessment in assessed:
        isolation = diagnosis.isolation_of(assessment.vm.id)
        if isolation is None or assessment.verdict is not None:
            judged.append(assessment)  # not isolated, or CloudStack itself reports it unhealthy
            continue
        carried = memory.get(assessment.vm.id, VmMemory())
        if carried.unhealthy_since is None:
            carried = replace(carried, unhealthy_since=isolation.since)
        if assessment.in_flight is not None:
            flight = assessment.in_flight
            judged.append(
                replace(assessment, memory=remember_remediation(carried, flight.action, flight.started_at))
            )
            continue
        if assessment.in_motion is not None:
            judged.append(replace(assessment, memory=carried))
            continue
        verdict = isolated_verdict(isolation, carried, policy, now)
        judged.append(replace(assessment, memory=carried, verdict=verdict))
    return tuple(judged)


def hold(
    candidates: Sequence[Candidate], assessed: Sequence[Assessment], diagnosis: Diagnosis
) -> list[Candidate]:
    """Hold the repair of agent-lost SSVMs while the zone's storage is unreachable from all of them, and
    mark the repair of an isolated SSVM as asked for by the diagnostics.

    An SSVM that cannot mount its secondary storage loses its agent; rebooting or recreating it would only
    add disruption. A stopped or broken VM is still repaired: that is not what a storage outage does. An
    isolated SSVM looks healthy to CloudStack, so the re-read before acting must not cancel its repair.
    """
    reason = diagnosis.hold_reason()
    running = {a.vm.id for a in assessed if a.vm.state == "Running"}
    isolated = {i.vm_id for i in diagnosis.isolated}
    adjusted = []
    for candidate in candidates:
        vm_id = candidate.action.vm_id
        if candidate.purpose is Purpose.REMEDIATION and vm_id in running:
            if reason is not None and candidate.held is None:
                candidate = replace(candidate, held=reason)
            if vm_id in isolated:
                candidate = replace(candidate, action=replace(candidate.action, diagnosed=True))
        adjusted.append(candidate)
    return adjusted


def await_fresh_checks(
    candidates: Sequence[Candidate], assessed: Sequence[Assessment], connectivity: Connectivity | None
) -> list[Candidate]:
    """Hold the Recreate of a Running SSVM until a diagnostics round has checked it after its agent trouble
    began (or after its last reboot).

    "Recreating cannot bring the storage back" must be decided on facts newer than the trouble: a round from
    before an NFS outage still says Reachable. The diagnostics stage runs that round (agent_trouble_unchecked)
    within its rate limit; a stopped or broken VM cannot be checked from inside and is not held. A pool
    without diagnostics (`connectivity` None: no round ever ran for it) has no facts to refresh and is not
    held either.
    """
    if connectivity is None:
        return list(candidates)
    by_id = {a.vm.id: a for a in assessed}
    latest: dict[str, datetime] = {}
    for check in connectivity.checks:
        if check.ssvm_id not in latest or check.checked_at > latest[check.ssvm_id]:
            latest[check.ssvm_id] = check.checked_at
    adjusted = []
    for candidate in candidates:
        action = candidate.action
        assessment = by_id.get(action.vm_id or "")
        if (
            candidate.purpose is Purpose.REMEDIATION
            and action.kind is ActionKind.RECREATE
            and candidate.held is None
            and assessment is not None
            and assessment.vm.state == "Running"
            and not never_connected(assessment.vm)
        ):
            since = trouble_since(assessment.memory)
            checked = latest.get(assessment.vm.id)
            if since is not None and (checked is None or checked < since):
                candidate = replace(
                    candidate,
                    held=(
                        f"waiting for a connectivity round newer than {since.isoformat(timespec='seconds')}: "
                        "recreating cannot bring back storage or a network the SSVM cannot reach, so the "
                        "destroy waits for fresh checks"
                    ),
                )
        adjusted.append(candidate)
    return adjusted


def never_connected(vm: SystemVm) -> bool:
    """No host row past the grace (plan/agent_connect.py): no round need ever check it, so none is awaited."""
    return vm.agent_overdue and vm.agent_state is None
