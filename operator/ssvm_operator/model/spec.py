"""Specs parsed from the custom resources into plain, validated values.

The CRD schemas already reject most bad input; parsing here guards against what a schema cannot say
and gives every error the field path a user has to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from ssvm_operator.model.maintenance import WindowError, Windows, parse_windows

PAUSED_ANNOTATION = "ssvm.cloudstack.io/paused"

_Enum = TypeVar("_Enum", bound=StrEnum)

MAX_EVIDENCE_SECONDS = 600
"""A repair is held at most this long for its evidence: past it, a broken SSVM stays broken too long."""


class Mode(StrEnum):
    ENFORCE = "Enforce"
    OBSERVE = "Observe"


class UpgradeStrategy(StrEnum):
    """How SSVMs left behind by a CloudStack upgrade are brought onto the new release (spec.upgrade)."""

    NONE = "None"
    """Report outdated SSVMs only."""
    PATCH = "Patch"
    """patchSystemVm (4.17+) where only the agent and scripts are behind; recreate where the template is."""
    RECREATE = "Recreate"
    """Destroy, so CloudStack's scanner recreates the SSVM on the newest system VM template."""


class Remediation(StrEnum):
    """How far the remediation ladder may climb for an unhealthy SSVM."""

    NONE = "None"
    REBOOT = "Reboot"
    RECREATE = "Recreate"


class SpecError(ValueError):
    """A spec value the operator cannot act on; `field` is the path the user must fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class EvidencePolicy:
    """spec.health.evidence: getDiagnosticsData before the operator destroys an SSVM, its logs go with it."""

    collect: bool = True
    timeout_seconds: float = 60.0
    """The longest a destroy waits for the collection; the repair goes on whatever the answer."""


@dataclass(frozen=True)
class HealthPolicy:
    unhealthy_after_seconds: float = 300.0
    """How long an SSVM may look unhealthy before the operator remediates it."""
    remediation: Remediation = Remediation.RECREATE
    """The highest rung of the ladder: start, reboot, then recreate."""
    max_unavailable: int = 1
    """How many SSVMs of the zone the operator may disrupt at once."""
    reboot_timeout_seconds: float = 600.0
    """How long a rebooted SSVM gets to come back before the next rung is tried."""
    evidence: EvidencePolicy = field(default_factory=EvidencePolicy)


@dataclass(frozen=True)
class DiagnosticsPolicy:
    interval_seconds: float = 900.0
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolSpec:
    endpoint: str
    zone: str
    replicas: int = 1
    service_offering: str | None = None
    health: HealthPolicy = field(default_factory=HealthPolicy)
    paused: bool = False
    mode: Mode = Mode.ENFORCE
    diagnostics: DiagnosticsPolicy = field(default_factory=DiagnosticsPolicy)
    upgrade: UpgradeStrategy = UpgradeStrategy.NONE
    maintenance_windows: Windows = field(default_factory=Windows)
    """spec.maintenanceWindows: when voluntary disruption may run; empty means any time."""

    @property
    def acts(self) -> bool:
        """Whether the operator may change anything in CloudStack for this pool."""
        return not self.paused and self.mode is Mode.ENFORCE

    @classmethod
    def parse(cls, spec: Mapping[str, Any], annotations: Mapping[str, str] | None = None) -> PoolSpec:
        annotations = annotations or {}
        endpoint = _required_str(spec, "endpointRef.name", (spec.get("endpointRef") or {}).get("name"))
        zone = _required_str(spec, "zone", spec.get("zone"))
        replicas = _int(spec.get("replicas", 1), "replicas", minimum=0, maximum=16)
        health_spec = spec.get("health") or {}
        health = HealthPolicy(
            unhealthy_after_seconds=float(
                _int(health_spec.get("unhealthyAfterSeconds", 300), "health.unhealthyAfterSeconds", minimum=0)
            ),
            remediation=_enum(Remediation, health_spec.get("remediation", "Recreate"), "health.remediation"),
            max_unavailable=_int(health_spec.get("maxUnavailable", 1), "health.maxUnavailable", minimum=0),
            reboot_timeout_seconds=float(
                _int(health_spec.get("rebootTimeoutSeconds", 600), "health.rebootTimeoutSeconds", minimum=1)
            ),
            evidence=_evidence(health_spec.get("evidence") or {}),
        )
        diag_spec = spec.get("diagnostics") or {}
        diagnostics = DiagnosticsPolicy(
            interval_seconds=float(
                _int(diag_spec.get("intervalSeconds", 900), "diagnostics.intervalSeconds", minimum=1)
            ),
            targets=tuple(str(t) for t in diag_spec.get("targets") or ()),
        )
        paused = bool(spec.get("paused", False)) or annotations.get(PAUSED_ANNOTATION, "").lower() == "true"
        offering = spec.get("serviceOffering") or None
        return cls(
            endpoint=endpoint,
            zone=zone,
            replicas=replicas,
            service_offering=str(offering) if offering else None,
            health=health,
            paused=paused,
            mode=_enum(Mode, spec.get("mode", "Enforce"), "mode"),
            diagnostics=diagnostics,
            upgrade=_enum(
                UpgradeStrategy, (spec.get("upgrade") or {}).get("strategy", "None"), "upgrade.strategy"
            ),
            maintenance_windows=windows(spec.get("maintenanceWindows"), "maintenanceWindows"),
        )


def windows(raw: Any, path: str) -> Windows:
    try:
        return parse_windows(raw, path)
    except WindowError as error:
        raise SpecError(error.field, error.message) from None


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class EndpointSpec:
    url: str
    api_key: SecretKeyRef
    secret_key: SecretKeyRef
    ca: SecretKeyRef | None = None
    insecure_skip_tls_verify: bool = False
    timeout_seconds: float = 30.0
    job_timeout_seconds: float = 900.0
    poll_interval_seconds: float = 30.0
    requests_per_second: float = 10.0

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> EndpointSpec:
        url = _required_str(spec, "url", spec.get("url"))
        if not url.startswith(("http://", "https://")):
            raise SpecError(
                "url", f"{url!r} is not an http(s) URL, e.g. https://cloud.example.com/client/api"
            )
        creds = spec.get("credentialsSecretRef") or {}
        secret_name = _required_str(spec, "credentialsSecretRef.name", creds.get("name"))
        ca_spec = spec.get("caSecretRef") or None
        ca = None
        if ca_spec:
            ca = SecretKeyRef(
                _required_str(spec, "caSecretRef.name", ca_spec.get("name")),
                str(ca_spec.get("key", "ca.crt")),
            )
        try:
            rps = float(spec.get("requestsPerSecond", 10))
        except (TypeError, ValueError):
            shown = repr(spec.get("requestsPerSecond"))
            raise SpecError("requestsPerSecond", f"{shown} is not a number") from None
        if rps <= 0:
            raise SpecError("requestsPerSecond", "must be greater than 0")
        return cls(
            url=url,
            api_key=SecretKeyRef(secret_name, str(creds.get("apiKeyKey", "apiKey"))),
            secret_key=SecretKeyRef(secret_name, str(creds.get("secretKeyKey", "secretKey"))),
            ca=ca,
            insecure_skip_tls_verify=bool(spec.get("insecureSkipTLSVerify", False)),
            timeout_seconds=float(_int(spec.get("timeoutSeconds", 30), "timeoutSeconds", minimum=1)),
            job_timeout_seconds=float(
                _int(spec.get("jobTimeoutSeconds", 900), "jobTimeoutSeconds", minimum=1)
            ),
            poll_interval_seconds=float(
                _int(spec.get("pollIntervalSeconds", 30), "pollIntervalSeconds", minimum=1)
            ),
            requests_per_second=rps,
        )


def _evidence(spec: Mapping[str, Any]) -> EvidencePolicy:
    collect = spec.get("collect", True)
    if not isinstance(collect, bool):
        raise SpecError("health.evidence.collect", f"{collect!r} is not true or false")
    timeout = _int(
        spec.get("timeoutSeconds", 60),
        "health.evidence.timeoutSeconds",
        minimum=1,
        maximum=MAX_EVIDENCE_SECONDS,
    )
    return EvidencePolicy(collect=collect, timeout_seconds=float(timeout))


def _required_str(spec: Mapping[str, Any], path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(path, "is required and must not be empty")
    return value.strip()


def _int(value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(path, f"{value!r} is not an integer")
    if minimum is not None and value < minimum:
        raise SpecError(path, f"{value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise SpecError(path, f"{value} is above the maximum of {maximum}")
    return value


def _enum(enum: type[_Enum], value: Any, path: str) -> _Enum:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise SpecError(path, f"{value!r} is not one of {allowed}") from None
