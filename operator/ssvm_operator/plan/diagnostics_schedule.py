"""When a diagnostics round runs, and in which SSVMs: the schedule of the connectivity checks.

A round is due every spec.diagnostics.intervalSeconds, when the diagnose annotation gets a new value, when a
Running SSVM has never been checked, when an agent was lost (or its SSVM rebooted for it) since the last
round, and every minute while something is unreachable. Pure: times, checks and memory in, reasons out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ssvm_operator.model.diagnostics import Check
from ssvm_operator.model.snapshot import Health, SystemVm
from ssvm_operator.model.spec import DiagnosticsPolicy
from ssvm_operator.plan.health import seconds_between
from ssvm_operator.plan.types import TRAITS, InFlight, VmMemory

FAULT_RECHECK_SECONDS = 60.0
"""While anything is unreachable, a round runs at least this often, so a repaired target lifts its hold
soon (60 s is also the smallest spec.diagnostics.intervalSeconds)."""
AGENT_TROUBLE_ROUND_GAP_SECONDS = 10.0
"""The rate limit of rounds asked for by agent trouble: at most one per this many seconds, however many
agents drop or are rebooted. A Recreate waits for such a round, so the gap only delays, never skips it."""


def trouble_since(memory: VmMemory) -> datetime | None:
    """Since when an SSVM's agent trouble is unanswered: when it was first seen unhealthy, or when the
    operator last started or rebooted it for that, whichever is later."""
    moments = [memory.unhealthy_since]
    if memory.last_remediation is not None and TRAITS[memory.last_remediation].revives:
        moments.append(memory.last_remediation_at)
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def agent_trouble_unchecked(
    vms: Iterable[SystemVm], memory: Mapping[str, VmMemory], last_run: datetime | None
) -> tuple[str, ...]:
    """Running SSVMs that lost their agent (or were started or rebooted for it) after the last round.

    A storage or network outage shows first as agents that drop; a fresh round tells it from a broken SSVM
    before the ladder climbs. Only Running SSVMs: diagnostics run inside the VM.
    """
    names = []
    for vm in vms:
        if vm.state != "Running" or vm.health is not Health.UNHEALTHY:
            continue
        since = trouble_since(memory.get(vm.id, VmMemory()))
        if since is not None and (last_run is None or since > last_run):
            names.append(vm.name)
    return tuple(sorted(names))


BOOTING_AGENT_STATES = frozenset({"Connecting", "Creating", "Rebalancing"})


def diagnosable(
    vms: Iterable[SystemVm], in_flight: Iterable[InFlight]
) -> tuple[tuple[SystemVm, ...], str | None]:
    """The SSVMs a diagnostics round may run in now, and why the others (or all) are left out.

    Never while the zone has a disruption in flight; never in an SSVM that is not Running, that has an
    operator action in flight or a CloudStack job pending (a diagnostic job would queue behind it), nor in
    one whose agent has not connected since its (re)start (the check could not run yet).
    """
    flights = tuple(in_flight)
    disruptions = sorted(
        f"{f.action.value} {f.vm_name or f.vm_id or 'zone'}" for f in flights if TRAITS[f.action].disruptive
    )
    if disruptions:
        return (), "a disruption is in flight (" + ", ".join(disruptions) + ")"
    busy = {f.vm_id for f in flights if f.vm_id is not None}
    eligible, skipped = [], []
    for vm in sorted(vms, key=lambda v: v.name):
        if vm.state != "Running":
            skipped.append(f"{vm.name} is {vm.state}")
        elif vm.id in busy:
            skipped.append(f"{vm.name} has an operator action in flight")
        elif vm.pending_job_id is not None:
            skipped.append(f"{vm.name} has CloudStack job {vm.pending_job_id} pending")
        elif vm.agent_state is None or vm.agent_state in BOOTING_AGENT_STATES:
            # Booting or rebooting: the command cannot run in the guest yet, its "-1" would say nothing. A
            # lost agent is still checked: the command runs from the hypervisor host, and a round after the
            # trouble began is what a recreation waits for (connectivity.await_fresh_checks).
            skipped.append(f"{vm.name}'s agent is {vm.agent_state or 'not connected yet'}")
        else:
            eligible.append(vm)
    if not eligible and not skipped:
        return (), "no SSVM in the zone"
    return tuple(eligible), "; ".join(skipped) or None


def round_due(
    policy: DiagnosticsPolicy,
    now: datetime,
    last_run: datetime | None,
    request: str | None,
    served_request: str | None,
    eligible: Iterable[SystemVm],
    checks: Iterable[Check],
    faulty: bool,
    agent_trouble: Sequence[str] = (),
) -> str | None:
    """Why a diagnostics round should run now, or None.

    `request` is the value of the diagnose annotation; any new value asks for a round. `faulty` is whether
    the last round found something unreachable or failed. `agent_trouble` names the SSVMs whose agent
    trouble is newer than the last round (agent_trouble_unchecked).
    """
    if request and request != served_request:
        return f"requested ({request})"
    if last_run is None:
        return "first round"
    checked = {c.ssvm_id for c in checks}
    new = sorted(vm.name for vm in eligible if vm.id not in checked)
    if new and checked:  # with no check at all, the zone had nothing to check: wait for the interval
        return f"{', '.join(new)} not checked yet"
    elapsed = seconds_between(last_run, now)
    if agent_trouble and elapsed >= AGENT_TROUBLE_ROUND_GAP_SECONDS:
        return f"agent trouble since the last round ({', '.join(agent_trouble)})"
    if elapsed >= policy.interval_seconds:
        return f"every {_s(policy.interval_seconds)}"
    if faulty and elapsed >= min(policy.interval_seconds, FAULT_RECHECK_SECONDS):
        return f"re-checking a fault every {_s(min(policy.interval_seconds, FAULT_RECHECK_SECONDS))}"
    return None


def next_round(policy: DiagnosticsPolicy, last_run: datetime, faulty: bool) -> datetime:
    """When the interval (or the fault recheck) makes the next round due."""
    seconds = policy.interval_seconds
    if faulty:
        seconds = min(seconds, FAULT_RECHECK_SECONDS)
    return last_run + timedelta(seconds=seconds)


def merge(previous: Sequence[Check], fresh: Sequence[Check]) -> list[Check]:
    """The fresh checks replace those of the SSVMs they come from; an unreachable target keeps the time
    it was first seen unreachable."""
    before = {(c.ssvm_id, c.target.address): c for c in previous}
    renewed = {c.ssvm_id for c in fresh}
    merged = [c for c in previous if c.ssvm_id not in renewed]
    for check in fresh:
        earlier = before.get((check.ssvm_id, check.target.address))
        since = None
        if check.reachable is not True:
            carried = None
            if earlier is not None and earlier.reachable is not True:
                carried = earlier.unreachable_since
            since = carried or (check.checked_at if check.reachable is False else None)
        merged.append(replace(check, unreachable_since=since))
    return sorted(merged, key=lambda c: (c.ssvm_name, c.target.address))


def _s(seconds: float) -> str:
    return f"{max(0, int(seconds))}s"
