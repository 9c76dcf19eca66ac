"""Which CloudStack releases the operator supports, and which of its features each release allows.

Read once per endpoint from listCapabilities' `cloudstackversion` ("4.20.1.0", "4.18.0.0-SNAPSHOT").
Releases below SUPPORTED_FLOOR are refused. Above it, every feature that needs a newer release than the
floor is listed in FEATURES with what the operator does without it, so that an older cloud gets a named,
explained degradation instead of a crash on a missing field. docs/compatibility.md shows the same table; the
simulator's cloudstack_sim/releases.py models the API differences behind it.

Pure: no I/O, no imports beyond the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

SUPPORTED_FLOOR: tuple[int, int] = (4, 15)
"""The oldest CloudStack release the operator supports (4.15.0.0)."""

_VERSION = re.compile(r"^\s*(?P<numbers>\d+(?:\.\d+){1,3})(?P<suffix>-[A-Za-z0-9.]+)?\s*$")


class VersionError(ValueError):
    """`cloudstackversion` is missing or not a version; the message quotes what CloudStack said."""


@total_ordering
@dataclass(frozen=True)
class CloudStackVersion:
    """A CloudStack release as listCapabilities reports it; compares by its four numbers.

    A `-SNAPSHOT` build counts as the release it leads to: it has what was merged for that release so far.
    """

    major: int
    minor: int
    patch: int = 0
    build: int = 0
    suffix: str = ""
    """"-SNAPSHOT" or another build suffix, kept for display only."""

    @classmethod
    def parse(cls, text: object) -> CloudStackVersion:
        if text is None or not str(text).strip():
            raise VersionError("CloudStack did not report its version (listCapabilities cloudstackversion)")
        match = _VERSION.match(str(text))
        if match is None:
            raise VersionError(f"CloudStack reported the version {str(text)!r}, which is not like 4.20.1.0")
        numbers = [int(n) for n in match["numbers"].split(".")]
        major, minor, patch, build = (*numbers, 0, 0)[:4]
        return cls(major, minor, patch, build, match["suffix"] or "")

    @property
    def numbers(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.patch, self.build)

    def at_least(self, release: tuple[int, ...]) -> bool:
        """True from `release` on: (4, 19) is 4.19.0.0, (4, 20, 1) is 4.20.1.0."""
        return self.numbers >= _four(release)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, CloudStackVersion):
            return NotImplemented
        return self.numbers < other.numbers

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CloudStackVersion):
            return NotImplemented
        return self.numbers == other.numbers

    def __hash__(self) -> int:
        return hash(self.numbers)

    def __str__(self) -> str:
        return ".".join(str(n) for n in self.numbers) + self.suffix


def release_name(release: tuple[int, ...]) -> str:
    """(4, 19) -> "4.19.0", (4, 20, 1) -> "4.20.1": how release notes name a release."""
    numbers = list(_four(release))
    while len(numbers) > 3 and numbers[-1] == 0:
        numbers.pop()
    return ".".join(str(n) for n in numbers)


def _four(release: tuple[int, ...]) -> tuple[int, int, int, int]:
    padded = (*release, 0, 0, 0, 0)[:4]
    return (padded[0], padded[1], padded[2], padded[3])


@dataclass(frozen=True)
class Support:
    """Whether the operator manages an endpoint running this release."""

    supported: bool
    version: CloudStackVersion | None
    message: str
    """For the endpoint's condition: names the version found and the supported range."""


def support(reported: object) -> Support:
    """The verdict on what listCapabilities reported: supported, or refused with the reason."""
    floor = release_name(SUPPORTED_FLOOR)
    try:
        version = CloudStackVersion.parse(reported)
    except VersionError as error:
        return Support(False, None, f"{error}; the operator supports CloudStack {floor} and later")
    if not version.at_least(SUPPORTED_FLOOR):
        return Support(
            False,
            version,
            f"CloudStack {version} is older than {floor}, the oldest release the operator supports; "
            f"upgrade CloudStack to {floor} or later",
        )
    return Support(True, version, f"CloudStack {version} is supported")


@dataclass(frozen=True)
class FeatureSpec:
    """One row of the feature table: something the operator uses that the floor release lacks."""

    name: str
    minimum: tuple[int, ...]
    """The first release that has it."""
    needs: str
    """The CloudStack call or field the feature depends on."""
    without: str
    """What the operator does on an older release."""
    source: str
    """Where the minimum comes from (CloudStack source file, pull request)."""
    verified: bool = True
    """False where the first release is inferred from a pull request's date rather than a `since`
    annotation; the gate then errs on the later release."""


@dataclass(frozen=True)
class Feature:
    """A feature's state on one endpoint, for its status and conditions."""

    name: str
    enabled: bool
    reason: str


# Names are stable: conditions, metrics and tests refer to them.
OFFERING_REPORT = "OfferingReport"
SERVER_START_TIMES = "ServerStartTimes"
SETTING_DEFAULTS = "SettingDefaults"
RESET_CONFIGURATION = "ResetConfiguration"
STABLE_STANDBY_REPLICAS = "StableStandbyReplicas"
MANAGEMENT_SERVER_ADDRESSES = "ManagementServerAddresses"
AGENT_VM_LINK = "AgentVmLink"

FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        RESET_CONFIGURATION,
        (4, 16, 1),
        "the resetConfiguration command",
        "a setting cannot be put back to CloudStack's default in one call: SSVMSettings deletionPolicy "
        "Restore writes back the previous values it kept, leaves secret settings as they are and says so "
        "in a Warning Event naming them (never the call, which this release refuses with 401 like bad "
        "credentials)",
        "api/.../command/admin/config/ResetCfgCmd.java (PR #4230, merged 2022-01-03): its since = "
        '"4.16.0" is wrong; the file is absent at the 4.16.0.0 release commit and present at 4.16.1.0',
    ),
    FeatureSpec(
        STABLE_STANDBY_REPLICAS,
        (4, 16, 1),
        "the secstorage.vm.auto.scale.down setting (default false)",
        "CloudStack always scales an idle command-executor SSVM down, so a standby-driven count above one "
        "churns: SSVMPool replicas above 1 are refused",
        "engine/components-api/.../storage/StorageManager.java: SecStorageVMAutoScaleDown (PR #6042, issue "
        "#6038): absent at the 4.16.0.0 release commit, present at 4.16.1.0, where "
        "PremiumSecondaryStorageManagerImpl.scaleSSVMOnLoad first checks it",
    ),
    FeatureSpec(
        SERVER_START_TIMES,
        (4, 17),
        "listManagementServers `lastserverstart`",
        "when a management server restarted cannot be read: settings that need a restart stay reported as "
        "pending, and the SSVM rollout that follows them is not started automatically",
        "api/.../response/ManagementServerResponse.java: added by PR #5588 with listManagementServersMetrics "
        '(ListMgmtsMetricsCmd since = "4.17.0")',
    ),
    FeatureSpec(
        SETTING_DEFAULTS,
        (4, 18),
        "listConfigurations `defaultvalue`",
        "a setting's default is not reported: restoring a secret setting uses resetConfiguration where it "
        "exists, otherwise the value is left as it is",
        'api/.../response/ConfigurationResponse.java: defaultvalue since = "4.18.0"',
    ),
    FeatureSpec(
        OFFERING_REPORT,
        (4, 19),
        "listSystemVms `serviceofferingid` and `serviceofferingname`",
        "which offering an SSVM runs is not reported: SSVMPool spec.serviceOffering is not enforced (no "
        "offering change is planned) and the pool says why",
        "api/.../response/SystemVmResponse.java: serviceofferingid (PR #7938, opened 2023-09-04, after "
        "4.18.1; first in 4.19.0)",
        verified=False,
    ),
    FeatureSpec(
        MANAGEMENT_SERVER_ADDRESSES,
        (4, 19),
        "listManagementServers `serviceip`",
        "the management servers' addresses are not reported: connectivity checks from the SSVMs leave them "
        "out",
        "api/.../response/ManagementServerResponse.java: serviceip (PR #7374, opened 2023-03-28, after "
        "4.18.0 shipped)",
        verified=False,
    ),
    FeatureSpec(
        AGENT_VM_LINK,
        (4, 21),
        "listHosts `virtualmachineid` on an SSVM's agent row",
        "the agent row is matched to its SSVM by name (the row is named like the VM), as on every release",
        'api/.../response/HostResponse.java: virtualmachineid since = "4.21.0"',
    ),
)

_BY_NAME = {spec.name: spec for spec in FEATURES}


def features(version: CloudStackVersion | str) -> list[Feature]:
    """Every feature of the table, on or off for this release, each with the reason."""
    release = version if isinstance(version, CloudStackVersion) else CloudStackVersion.parse(version)
    return [_feature(spec, release) for spec in FEATURES]


def enabled(version: CloudStackVersion | str, name: str) -> bool:
    """Whether one feature (by its name in FEATURES) is on for this release."""
    release = version if isinstance(version, CloudStackVersion) else CloudStackVersion.parse(version)
    return release.at_least(_BY_NAME[name].minimum)


def disabled(version: CloudStackVersion | str) -> list[Feature]:
    """The features that are off, for a condition that names them."""
    return [feature for feature in features(version) if not feature.enabled]


def reason(verdict: Support, name: str) -> str:
    """Why a feature is off (or on) for the endpoint's release, as one sentence for a condition."""
    if verdict.version is None:
        return verdict.message
    return _feature(_BY_NAME[name], verdict.version).reason


def _feature(spec: FeatureSpec, version: CloudStackVersion) -> Feature:
    minimum = release_name(spec.minimum)
    if version.at_least(spec.minimum):
        return Feature(spec.name, True, f"CloudStack {version} has {spec.needs} (since {minimum})")
    return Feature(
        spec.name,
        False,
        f"CloudStack {version} is older than {minimum}, which added {spec.needs}: {spec.without}",
    )


__all__ = [
    "AGENT_VM_LINK",
    "FEATURES",
    "MANAGEMENT_SERVER_ADDRESSES",
    "OFFERING_REPORT",
    "RESET_CONFIGURATION",
    "SERVER_START_TIMES",
    "SETTING_DEFAULTS",
    "STABLE_STANDBY_REPLICAS",
    "SUPPORTED_FLOOR",
    "CloudStackVersion",
    "Feature",
    "FeatureSpec",
    "Support",
    "VersionError",
    "disabled",
    "enabled",
    "features",
    "release_name",
    "support",
]
