"""A reboot job that ended does not mean the guest rebooted.

On KVM, `rebootSystemVm` answers once libvirt sent the ACPI reboot request
(`LibvirtComputingResource.rebootVM`: `dm.reboot(0x1)`): the job ends while the agent is still `Up` and its
`disconnected` time unchanged. Only when the guest goes down does the agent's link close and
`host.disconnectedOn` move (`AgentManagerImpl.disconnectAgent`). Until the operator sees that, or the reboot
timeout passes, the SSVM is "rebooting": in motion, with no second reboot, rollout reboot or escalation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ssvm_operator.model.spec import HealthPolicy
from ssvm_operator.plan.assessment import Assessment

REBOOTS = ("Reboot", "RolloutReboot")
"""The actions (status.recentActions) that send rebootSystemVm."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rebooting(
    assessment: Assessment, sent: datetime | None, policy: HealthPolicy, now: datetime
) -> str | None:
    """Why the SSVM still counts as rebooting, or None once its agent was seen going down after `sent`."""
    vm = assessment.vm
    if sent is None or vm.state != "Running" or vm.agent_state != "Up":
        return None  # an agent already away is judged by its state: the ladder's recovering wait covers it
    if vm.last_disconnected is not None and _aware(vm.last_disconnected) > _aware(sent):
        return None
    elapsed = (_aware(now) - _aware(sent)).total_seconds()
    if elapsed >= policy.reboot_timeout_seconds:
        return None
    return (
        f"{vm.name} is rebooting: rebootSystemVm was sent {int(elapsed)}s ago and its agent has not yet "
        f"been seen leaving Up (waiting up to {int(policy.reboot_timeout_seconds)}s)"
    )


def mark_rebooting(
    assessed: Sequence[Assessment], sent: Mapping[str, datetime], policy: HealthPolicy, now: datetime
) -> tuple[Assessment, ...]:
    """`sent`: when the operator last sent a reboot to each SSVM, by name."""
    marked = []
    for assessment in assessed:
        why = rebooting(assessment, sent.get(assessment.vm.name), policy, now)
        marked.append(replace(assessment, rebooting=why) if why else assessment)
    return tuple(marked)
