"""The SSVMSettings spec: global SSVM settings of one endpoint, checked like CloudStack checks them."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ssvm_operator.model.spec import Mode, SecretKeyRef, SpecError, windows

ALLOWED_SITES_KEY = "secstorage.allowed.internal.sites"
SERVICE_OFFERING_KEY = "secstorage.service.offering"
SESSION_MAX_KEY = "secstorage.session.max"
CAPACITY_STANDBY_KEY = "secstorage.capacity.standby"


class RolloutStrategy(StrEnum):
    AUTO = "Auto"
    """The least disruptive action that really applies each changed setting (plan/settings_plan.py)."""
    REBOOT = "Reboot"
    """At least a reboot of every SSVM whose agent connected before the change took effect."""
    RECREATE = "Recreate"
    NONE = "None"
    STOP_START = "StopStart"
    """Not declarable: a boot argument that a reboot does not apply (the RebootCommand carries none)."""
    RECONNECT = "Reconnect"
    """Not declarable: a value sent at every agent connect, which the management-server restart that puts it
    in force already delivered to every agent that reconnected (cloudstack-contract.md §4.1)."""


DECLARABLE_STRATEGIES = (
    RolloutStrategy.AUTO,
    RolloutStrategy.REBOOT,
    RolloutStrategy.RECREATE,
    RolloutStrategy.NONE,
)


class DeletionPolicy(StrEnum):
    ORPHAN = "Orphan"
    RESTORE = "Restore"


@dataclass(frozen=True)
class RolloutPolicy:
    strategy: RolloutStrategy = RolloutStrategy.AUTO
    max_unavailable: int = 1
    maintenance_windows: tuple[Mapping[str, Any], ...] = ()
    """spec.rollout.maintenanceWindows as declared (validated): copied into status.rollout for the pools."""


@dataclass(frozen=True)
class SettingsSpec:
    endpoint: str
    allowed_internal_sites: tuple[str, ...] | None = None
    """None leaves the setting alone; an empty list clears it."""
    service_offering: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    secret_settings: Mapping[str, SecretKeyRef] = field(default_factory=dict)
    rollout: RolloutPolicy = field(default_factory=RolloutPolicy)
    deletion_policy: DeletionPolicy = DeletionPolicy.ORPHAN
    mode: Mode = Mode.ENFORCE

    @property
    def keys(self) -> frozenset[str]:
        """Every CloudStack setting this spec declares, whichever field declares it."""
        owned = {ALLOWED_SITES_KEY: self.allowed_internal_sites, SERVICE_OFFERING_KEY: self.service_offering}
        named = {key for key, declared in owned.items() if declared is not None}
        return frozenset({*named, *self.settings, *self.secret_settings})

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> SettingsSpec:
        endpoint = (spec.get("endpointRef") or {}).get("name")
        if not isinstance(endpoint, str) or not endpoint:
            raise SpecError("endpointRef.name", "is required and must not be empty")
        sites = spec.get("allowedInternalSites")
        if sites is not None:
            for index, site in enumerate(sites):
                problem = site_problem(str(site))
                if problem:
                    raise SpecError(f"allowedInternalSites[{index}]", problem)
            sites = tuple(str(s) for s in sites)
        settings = {str(k): str(v) for k, v in (spec.get("settings") or {}).items()}
        owned = {ALLOWED_SITES_KEY: "allowedInternalSites", SERVICE_OFFERING_KEY: "serviceOffering"}
        for key, field_name in owned.items():
            if key in settings:
                raise SpecError(f"settings.{key}", f"set it through spec.{field_name} instead")
        secret_settings = {}
        for key, ref in (spec.get("secretSettings") or {}).items():
            if key in settings:
                raise SpecError(f"secretSettings.{key}", "is also set in spec.settings; keep one")
            if not isinstance(ref, Mapping) or not ref.get("name") or not ref.get("key"):
                raise SpecError(f"secretSettings.{key}", "needs a Secret name and key")
            secret_settings[str(key)] = SecretKeyRef(str(ref["name"]), str(ref["key"]))
        rollout_spec = spec.get("rollout") or {}
        strategy_name = str(rollout_spec.get("strategy", RolloutStrategy.AUTO))
        if strategy_name not in DECLARABLE_STRATEGIES:
            raise SpecError("rollout.strategy", f"must be one of {', '.join(DECLARABLE_STRATEGIES)}")
        strategy = RolloutStrategy(strategy_name)
        try:
            deletion = DeletionPolicy(spec.get("deletionPolicy", "Orphan"))
            mode = Mode(spec.get("mode", "Enforce"))
        except ValueError as error:
            raise SpecError("spec", str(error)) from None
        max_unavailable = rollout_spec.get("maxUnavailable", 1)
        if not isinstance(max_unavailable, int) or max_unavailable < 1:
            raise SpecError("rollout.maxUnavailable", "must be an integer of at least 1")
        return cls(
            endpoint=endpoint,
            allowed_internal_sites=sites,
            service_offering=str(spec["serviceOffering"]) if spec.get("serviceOffering") else None,
            settings=settings,
            secret_settings=secret_settings,
            rollout=RolloutPolicy(strategy, max_unavailable, rollout_windows(rollout_spec)),
            deletion_policy=deletion,
            mode=mode,
        )


def rollout_windows(rollout_spec: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    raw = rollout_spec.get("maintenanceWindows")
    windows(raw, "rollout.maintenanceWindows")  # refuses what the operator could not use, naming the field
    return tuple(dict(w) for w in raw or ())


def site_problem(site: str) -> str | None:
    """CloudStack accepts an IPv4 or IPv6 address or a clean IPv4 CIDR (ConfigurationValueValidator
    .validateCidrList), and its description says 0.0.0.0 is not a valid site (Config.java)."""
    try:
        address = ipaddress.ip_address(site)
    except ValueError:
        address = None
    if address is not None:
        return "0.0.0.0 is not a valid site" if address.is_unspecified else None
    try:
        network = ipaddress.IPv4Network(site, strict=True)
    except ValueError:
        return f"{site!r} is not an IP address or a CIDR like 10.1.0.0/16 (host bits must be zero)"
    if network.network_address.is_unspecified:
        return f"{site} would allow every site; CloudStack forbids 0.0.0.0"
    return None
