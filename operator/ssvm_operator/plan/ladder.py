"""The remediation ladder: start, then reboot, then recreate, each after the previous rung had its chance.

CloudStack repairs much by itself (cloudstack-contract.md §1.5): its scanner restarts a stopped SSVM within
one `secstorage.capacityscan.interval` and creates a replacement one scan after a destroy. The ladder
therefore waits one scan before starting a stopped SSVM, gives every start or reboot `rebootTimeoutSeconds`
to work, and recreates (destroySystemVm, then CloudStack creates the new one) only where CloudStack will
recreate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ssvm_operator.model.snapshot import SystemVm
from ssvm_operator.model.spec import HealthPolicy, Remediation
from ssvm_operator.plan.health import Symptom, describe, seconds_between, symptom_of
from ssvm_operator.plan.types import TRAITS, ActionKind, VmMemory

_FIRST_RUNG = {
    Symptom.STOPPED: ActionKind.START,
    Symptom.AGENT_LOST: ActionKind.REBOOT,
    # Error/Unknown: startSystemVm cannot bring such a VM back; only a fresh SSVM can.
    Symptom.BROKEN: ActionKind.RECREATE,
}

_PAST_TENSE = {
    ActionKind.START: "started",
    ActionKind.REBOOT: "rebooted",
    ActionKind.RECREATE: "destroyed for recreation",
}

# How far each setting of health.remediation lets the ladder climb.
_NOT_LEFT_BY = {
    ActionKind.START: "a start does not leave a VM in that state",
    ActionKind.REBOOT: "a reboot leaves the VM running",
}

_ALLOWED = {
    Remediation.NONE: frozenset[ActionKind](),
    Remediation.REBOOT: frozenset({ActionKind.START, ActionKind.REBOOT}),
    Remediation.RECREATE: frozenset({ActionKind.START, ActionKind.REBOOT, ActionKind.RECREATE}),
}


class Isolated(Protocol):
    """An SSVM that cannot reach targets a sibling reaches (plan/connectivity.Isolation)."""

    @property
    def since(self) -> datetime: ...

    @property
    def confirmed_at(self) -> datetime: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Verdict:
    """What the ladder says about one unhealthy SSVM now."""

    kind: ActionKind | None
    """The rung to take now; None = wait (still within a grace period or a reboot timeout)."""
    reason: str
    recovering: bool = False
    """Waiting for a start or reboot the operator made to take effect: the SSVM is in motion."""


def climb(
    vm: SystemVm, memory: VmMemory, policy: HealthPolicy, now: datetime, scan_interval: float
) -> Verdict | None:
    """The next rung for `vm`, or None when CloudStack does not report it unhealthy."""
    symptom = symptom_of(vm)
    if symptom is None:
        return None
    last, last_at = memory.last_remediation, memory.last_remediation_at
    if last in _PAST_TENSE and last_at is not None:
        elapsed = seconds_between(last_at, now)
        if _passes_through(last, symptom):
            return _after_remediation(vm, symptom, last, elapsed, policy)
        # Not the rung's doing, so waiting out its timeout would only keep the zone without the SSVM longer:
        # the symptom is judged as if first seen, from when the SSVM became unhealthy.
        fresh = _first_rung(vm, symptom, memory, policy, now, scan_interval)
        return Verdict(
            fresh.kind, f"{_PAST_TENSE[last]} {_s(elapsed)} ago, but {_NOT_LEFT_BY[last]}: {fresh.reason}"
        )
    return _first_rung(vm, symptom, memory, policy, now, scan_interval)


def _passes_through(last: ActionKind, symptom: Symptom) -> bool:
    """Whether an SSVM on its way back from the rung `last` shows `symptom`, so that waiting can end it.

    After a start or a reboot the agent connects again (lost until then). A start that left the VM Stopped
    failed: it gets the timeout before the next rung rather than start after start. A reboot leaves the VM
    Running (rebootSystemVm), so a VM Stopped after it was stopped by something else, and a dead VM (Error,
    Unknown) comes back from no start or reboot.
    """
    if last is ActionKind.RECREATE or symptom is Symptom.AGENT_LOST:
        return True
    return symptom is Symptom.STOPPED and last is ActionKind.START


def _first_rung(
    vm: SystemVm,
    symptom: Symptom,
    memory: VmMemory,
    policy: HealthPolicy,
    now: datetime,
    scan_interval: float,
) -> Verdict:
    since = memory.unhealthy_since
    unhealthy_for = seconds_between(since, now) if since is not None else 0.0
    if symptom is Symptom.STOPPED:
        if unhealthy_for < scan_interval:
            return Verdict(
                None,
                f"{describe(vm)} for {_s(unhealthy_for)}; CloudStack's scanner restarts it within one scan "
                f"({_s(scan_interval)})",
            )
        return Verdict(
            ActionKind.START,
            f"{describe(vm)} for {_s(unhealthy_for)} and CloudStack's scanner did not restart it within one "
            f"scan ({_s(scan_interval)})",
        )
    grace = policy.unhealthy_after_seconds
    if unhealthy_for < grace:
        return Verdict(None, f"{describe(vm)} for {_s(unhealthy_for)} (grace {_s(grace)})")
    kind = _FIRST_RUNG[symptom]
    reason = f"{describe(vm)} for {_s(unhealthy_for)} (grace {_s(grace)})"
    if kind is ActionKind.RECREATE:
        reason += "; a start cannot fix that, so CloudStack's scanner creates a replacement"
    return Verdict(kind, reason)


def _after_remediation(
    vm: SystemVm, symptom: Symptom, last: ActionKind, elapsed: float, policy: HealthPolicy
) -> Verdict:
    timeout = policy.reboot_timeout_seconds
    done = f"{_PAST_TENSE[last]} {_s(elapsed)} ago"
    if elapsed < timeout:
        return Verdict(
            None, f"{done}; waiting up to {_s(timeout)} for it to recover ({describe(vm)})", recovering=True
        )
    # Still unhealthy after the timeout: a start that left the agent lost earns a reboot; a VM that stays
    # Stopped after a start, or anything after a reboot, only a fresh SSVM fixes.
    kind = (
        ActionKind.REBOOT
        if last is ActionKind.START and symptom is Symptom.AGENT_LOST
        else ActionKind.RECREATE
    )
    return Verdict(
        kind, f"{done} and still unhealthy ({describe(vm)}) after the {_s(timeout)} reboot timeout"
    )


def isolated_verdict(isolation: Isolated, memory: VmMemory, policy: HealthPolicy, now: datetime) -> Verdict:
    """The ladder for an isolated SSVM: reboot after the grace period, recreate if a reboot did not help."""
    what = isolation.describe()
    last, last_at = memory.last_remediation, memory.last_remediation_at
    if last is not None and TRAITS[last].revives and last_at is not None and last_at >= isolation.since:
        elapsed = seconds_between(last_at, now)
        timeout = policy.reboot_timeout_seconds
        done = f"{'started' if last is ActionKind.START else 'rebooted'} {_s(elapsed)} ago"
        if isolation.confirmed_at <= last_at:
            return Verdict(
                None,
                f"{done} because it {what}; waiting for the next diagnostics round",
                recovering=elapsed < timeout,
            )
        if elapsed < timeout:
            return Verdict(
                None,
                f"{done} and still {what}; waiting up to {_s(timeout)} for it to recover",
                recovering=True,
            )
        return Verdict(
            ActionKind.RECREATE,
            f"{done} and still {what} after the {_s(timeout)} reboot timeout; CloudStack's scanner creates a "
            "replacement",
        )
    isolated_for = seconds_between(memory.unhealthy_since or isolation.since, now)
    grace = policy.unhealthy_after_seconds
    text = f"{what}, for {_s(isolated_for)} (grace {_s(grace)})"
    if isolated_for < grace:
        return Verdict(None, text)
    return Verdict(ActionKind.REBOOT, text)


def allowed_by(policy: HealthPolicy, kind: ActionKind) -> str | None:
    """Why health.remediation forbids `kind`, or None when it allows it."""
    if kind in _ALLOWED[policy.remediation]:
        return None
    if policy.remediation is Remediation.NONE:
        return "health.remediation is None: the operator only reports unhealthy SSVMs"
    return (
        f"health.remediation is {policy.remediation.value}: {kind.value} needs remediation "
        f"{Remediation.RECREATE.value}"
    )


def _s(seconds: float) -> str:
    return f"{max(0, int(seconds))}s"
