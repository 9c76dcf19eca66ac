"""The condition types and the reasons the operator writes itself, named once (cert-manager's
policies/constants.go: one constant, one sentence).

Reasons that come from the planner's findings are plan/findings.Reason and plan/connectivity's
ConnectivityReason; those of UpToDate and MaintenanceWindow are kube/upgrade_status.UpgradeReason. The
tables of docs/concepts.md are checked against all of them (tests/unit/test_reasons_documented.py).
"""

from __future__ import annotations

from enum import StrEnum

from ssvm_operator.plan import restore


class ConditionType(StrEnum):
    READY = "Ready"
    """kstatus's summary: the object is as declared."""
    RECONCILING = "Reconciling"
    """Abnormal-true: the operator or CloudStack is working towards the declaration."""
    STALLED = "Stalled"
    """Abnormal-true: nothing moves until a person fixes something."""
    DEGRADED = "Degraded"
    """Abnormal-true: the zone works below the declaration."""
    PAUSED = "Paused"
    """Abnormal-true: the pool is paused; the plan is still shown."""
    CONNECTIVITY = "Connectivity"
    """What the last diagnostics round found from inside the SSVMs."""
    TEMPLATE_READY = "TemplateReady"
    """Whether CloudStack could create an SSVM in the zone (a Ready system VM template)."""
    FEATURES_AVAILABLE = "FeaturesAvailable"
    """Whether the endpoint's release has every feature the operator can use."""
    REMEDIATION_ALLOWED = "RemediationAllowed"
    """Whether the endpoint's circuit breaker lets repairs run."""
    DUPLICATE_ENDPOINT = "DuplicateEndpoint"
    """Whether another CloudStackEndpoint names the same CloudStack."""
    UP_TO_DATE = "UpToDate"
    """Whether every SSVM runs the management servers' agent version on the newest template
    (kube/upgrade_status.UpgradeReason)."""
    MAINTENANCE_WINDOW = "MaintenanceWindow"
    """Whether a maintenance window is open for voluntary work (kube/upgrade_status.UpgradeReason)."""


class Reason(StrEnum):
    """Condition reasons written by kube/ (not derived from a plan finding)."""

    # Shared by every kind
    INVALID_SPEC = "InvalidSpec"
    """The spec does not parse; the message names the field."""
    CLOUDSTACK_UNREACHABLE = "CloudStackUnreachable"
    """CloudStack did not answer; retried every poll."""
    UNAUTHORIZED = "Unauthorized"
    """CloudStack refused the API keys."""
    ENDPOINT_REJECTED = "EndpointRejected"
    """The URL answers something that is not CloudStack, or refuses the request permanently."""
    UNSUPPORTED_VERSION = "UnsupportedVersion"
    """The release is older than the oldest supported one (docs/compatibility.md)."""
    ENDPOINT_NOT_FOUND = "EndpointNotFound"
    """The named CloudStackEndpoint does not exist."""
    ENDPOINT_INVALID = "EndpointInvalid"
    """The CloudStackEndpoint's spec does not parse."""
    CREDENTIALS_MISSING = "CredentialsMissing"
    """The Secret with the API keys, or a key in it, is missing."""
    CA_BUNDLE_MISSING = "CABundleMissing"
    """The Secret named by spec.caSecretRef is missing."""
    # SSVMPool
    SSVMS_READY = "SSVMsReady"
    """As many SSVMs Running with agent Up as declared."""
    SSVMS_DISABLED = "SSVMsDisabled"
    """replicas 0, and the zone keeps no SSVM."""
    TOO_FEW_SSVMS = "TooFewSSVMs"
    """Fewer SSVMs than declared."""
    SURPLUS_SSVMS = "SurplusSSVMs"
    """More SSVMs than declared and kept by CloudStack."""
    RECONCILING = "Reconciling"
    """Ready=False while an action or CloudStack's scanner is under way."""
    STALLED = "Stalled"
    """Ready=False while the pool is Stalled; see that condition."""
    ACTION_IN_PROGRESS = "ActionInProgress"
    """The operator waits for a CloudStack job of status.inFlight."""
    WAITING_FOR_CLOUDSTACK = "WaitingForCloudStack"
    """SSVMs are starting or reconnecting, or the scanner has yet to create one."""
    ACTION_REJECTED = "ActionRejected"
    """CloudStack refused an action permanently."""
    REPLICAS_NEED_NEWER_CLOUDSTACK = "ReplicasNeedNewerCloudStack"
    """replicas above 1 on a release whose scale-down cannot be turned off."""
    PAUSED = "Paused"
    """spec.paused or the paused annotation is set."""
    SYSTEM_TEMPLATE_READY = "SystemTemplateReady"
    """A system VM template is Ready in the zone."""
    UNKNOWN = "Unknown"
    """TemplateReady: the zone's templates are not known."""
    DIAGNOSTICS_FAILED = "DiagnosticsFailed"
    """The last diagnostics round could not list the zone's targets."""
    # CloudStackEndpoint
    CONNECTED = "Connected"
    """Reachable and authenticated."""
    UNREACHABLE = "Unreachable"
    """Network or server trouble; retried every poll."""
    TLS_FAILURE = "TLSFailure"
    """TLS verification failed."""
    OLDER_CLOUDSTACK = "OlderCloudStack"
    """Features the release lacks are off; status.features says which."""
    ALL_FEATURES = "AllFeatures"
    """The release has every feature the operator uses."""
    CIRCUIT_OPEN = "CircuitOpen"
    """Five inventories in a row failed: no SSVM of the endpoint is repaired."""
    CIRCUIT_CLOSED = "CircuitClosed"
    """CloudStack answers; repairs may run."""
    SAME_CLOUDSTACK = "SameCloudStack"
    """Another CloudStackEndpoint has the same normalised URL."""
    UNIQUE = "Unique"
    """No other CloudStackEndpoint names this CloudStack."""
    # SSVMSettings
    IN_SYNC = "InSync"
    """CloudStack holds every declared setting."""
    DRIFTED = "Drifted"
    """A setting was changed outside Git (and put back in Enforce mode)."""
    NOT_APPLIED = "NotApplied"
    """Observe mode: CloudStack differs from the declaration."""
    MANAGEMENT_SERVER_RESTART_REQUIRED = "ManagementServerRestartRequired"
    """A non-dynamic setting waits for every management server to restart."""
    ROLLING_SSVMS = "RollingSSVMs"
    """SSVMs are rebooted or recreated zone by zone so a boot-time setting reaches them."""
    WAITING_FOR_AGENTS = "WaitingForAgents"
    """The restart delivered a setting sent at agent connect; SSVMs with an agent not Up get it at connect."""
    ROLLOUT_LEFT_ZONES = "RolloutLeftZones"
    """Every zone the operator may roll is done; some are left out."""
    INVALID_SETTING = "InvalidSetting"
    """A declared setting does not exist or has the wrong type."""
    SETTING_REJECTED = "SettingRejected"
    """CloudStack failed to apply a setting with an error that may pass; tried again every poll."""
    SETTING_REFUSED = "SettingRefused"
    """CloudStack refuses a declared value for good (its validation); not sent again until the spec
    changes."""
    CONFLICT = "Conflict"
    """Another SSVMSettings already manages this CloudStack's global settings."""
    SECRET_MISSING = "SecretMissing"
    """The Secret of a spec.secretSettings entry, or its key, is missing."""
    CLOUDSTACK_REFUSED = "CloudStackRefused"
    """Deleted with deletionPolicy Restore, and CloudStack refused to take a previous value back."""
    RESTORE_PENDING = restore.RESTORE_PENDING
    """Deleted with deletionPolicy Restore; the previous values are not back yet."""
    # Written only as False on abnormal-true conditions, which are left out of status: never shown.
    PROGRESSING = "Progressing"
    IDLE = "Idle"
    ACTIVE = "Active"
    AS_DECLARED = "AsDeclared"
    APPLIED = "Applied"
    RETRYING = "Retrying"
    """Stalled=False while a failure may be temporary."""


HIDDEN = frozenset(
    {Reason.PROGRESSING, Reason.IDLE, Reason.ACTIVE, Reason.AS_DECLARED, Reason.APPLIED, Reason.RETRYING}
)
"""Reasons never shown: they go with an abnormal-true condition at False, which is not written."""


class EventReason(StrEnum):
    """Events that are not a condition's reason (those are Events too when they first appear) and not an
    action's `<Action><Result>`."""

    SETTING_APPLIED = "SettingApplied"
    MANAGEMENT_SERVER_RESTARTED = "ManagementServerRestarted"
    WOULD_APPLY = "WouldApply"
    INVALID_ANNOTATION = "InvalidAnnotation"
    SETTINGS_RESTORED = "SettingsRestored"
    SETTINGS_PARTLY_RESTORED = "SettingsPartlyRestored"
    RESTORE_ABANDONED = restore.RESTORE_ABANDONED
    CONNECTIVITY_LOST = "ConnectivityLost"
    CONNECTIVITY_RESTORED = "ConnectivityRestored"
