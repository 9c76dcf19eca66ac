"""The findings a plan can carry: their reasons (condition reasons in status) and how they are built.

A reason is a stable CamelCase word that users, alerts and docs can key on; the message is the sentence a
CloudStack admin reads, with the resource names and numbers needed to act.
"""

from __future__ import annotations

from enum import StrEnum

from ssvm_operator.plan.types import Finding, Scope, Severity


class Reason(StrEnum):
    ZONE_NOT_FOUND = "ZoneNotFound"
    """Stalled: spec.zone names no zone of the endpoint."""
    DUPLICATE_POOL = "DuplicatePool"
    """Stalled: another SSVMPool already manages the zone."""
    ZONE_NOT_SCANNED = "ZoneNotScanned"
    """CloudStack's SSVM scanner skips the zone (allocation Disabled, or an Edge zone)."""
    OFFERING_NOT_FOUND = "OfferingNotFound"
    """Stalled: spec.serviceOffering names no offering of the endpoint."""
    OFFERING_NOT_FOR_SSVM = "OfferingNotForSSVM"
    """Stalled: the offering exists but is not a system offering for secondary storage VMs."""
    OFFERING_REFUSED = "OfferingRefused"
    """Stalled: CloudStack would refuse the change to the declared offering (storage type or tags)."""
    OFFERING_NOT_REPORTED = "OfferingNotReported"
    """Info: CloudStack does not report an SSVM's offering (before 4.19), so it cannot be checked."""
    STANDBY_CAPACITY_MISSING = "StandbyCapacityMissing"
    """Degraded: replicas > 1 but the global standby settings in force keep fewer SSVMs per zone."""
    STANDBY_ABOVE_REPLICAS = "StandbyAboveReplicas"
    """Info: the global standby settings keep more SSVMs per zone than this pool asks for."""
    STANDBY_RESTART_PENDING = "StandbyRestartPending"
    """Info: replicas went down; the standby values in force keep more until the servers restart."""
    SURPLUS_RECREATED = "SurplusRecreated"
    """Degraded: CloudStack recreated the SSVMs the operator gave up as surplus; none is given up now."""
    AGENTS_CANNOT_CONNECT = "AgentsCannotConnect"
    """Degraded: no SSVM agent of the zone ever connected; port 8250 to the management servers is suspect."""
    IMAGE_STORE_FULL = "ImageStoreFull"
    """Degraded: no image store of the zone is under secondary.storage.capacity.threshold."""
    WAITING_FOR_SCANNER = "WaitingForCloudStackScanner"
    """Info: the zone has fewer SSVMs than CloudStack keeps; its scanner creates them (there is no API to)."""
    SSVM_UNHEALTHY = "SSVMUnhealthy"
    """Degraded: an SSVM stayed unhealthy past its grace period."""
    CANNOT_RECREATE = "CannotRecreate"
    """Degraded: only recreation would fix an SSVM, but CloudStack would not create its replacement."""
    SYSTEM_TEMPLATE_NOT_READY = "SystemTemplateNotReady"
    """Degraded: no system VM template is Ready in the zone, so CloudStack cannot create an SSVM there."""


ANNOUNCED_CAUSES = frozenset(
    {Reason.IMAGE_STORE_FULL.value, Reason.AGENTS_CANNOT_CONNECT.value, Reason.SURPLUS_RECREATED.value}
)
"""Degraded causes that hold actions in the zone: a Warning Event when one becomes the Degraded reason."""


def stalled(reason: Reason, message: str) -> Finding:
    return Finding(Severity.STALLED, reason.value, message)


def degraded(reason: Reason, message: str, scope: Scope = Scope.ZONE) -> Finding:
    return Finding(Severity.DEGRADED, reason.value, message, scope)


def info(reason: Reason, message: str) -> Finding:
    return Finding(Severity.INFO, reason.value, message)


_SEVERITY_ORDER = {Severity.STALLED: 0, Severity.DEGRADED: 1, Severity.INFO: 2}
_SCOPE_ORDER = {Scope.DEPENDENCY: 0, Scope.ZONE: 1, Scope.SSVM: 2}


def ordered(findings: list[Finding]) -> tuple[Finding, ...]:
    """Most severe first, then the widest scope, then by reason: the first finding of a severity is the one
    a condition shows. Scope before reason keeps a storage outage the reason while the agents it knocks
    out add SSVMUnhealthy: an alert keyed on the cause must not clear exactly when the outage gets worse."""
    return tuple(
        sorted(
            findings,
            key=lambda f: (_SEVERITY_ORDER[f.severity], _SCOPE_ORDER[f.scope], f.reason, f.message),
        )
    )
