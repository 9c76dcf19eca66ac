"""What differs between the CloudStack releases the simulator can answer as, each difference with its source.

This is the one table of release differences in the simulator. The rest of the simulator models the newest
release it knows (LATEST); a `Release` takes away what an older one did not have yet:

- commands that did not exist answer as an unknown command does (401 under API-key auth,
  ApiServer.verifyRequest L974-980; 432 on the integration port);
- parameters that did not exist are ignored, as ParamGenericValidationWorker does with unknown parameters
  (it only logs "Received unknown parameters for command ...");
- response fields that did not exist are left out;
- settings that did not exist are unknown (431 "Config parameter with name X doesn't exist") and unlisted;
- settings whose scope or `isdynamic` flag changed have their older shape.

Sources are CloudStack files in apache/cloudstack (their `since` annotations), or the pull request that made
the change with the release it first shipped in. docs/compatibility.md renders this table for users.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from cloudstack_sim.catalogue import SETTINGS, Scope, Setting

Version = tuple[int, int, int, int]

OLDEST: Version = (4, 14, 0, 0)
"""The oldest release the simulator answers as: one below the operator's supported floor (4.15), so that
the refusal of an unsupported CloudStack can be tested."""
LATEST: Version = (4, 22, 0, 0)
"""The newest release the simulator models, and its default."""

_VERSION = re.compile(r"^(?P<parts>\d+(?:\.\d+){1,3})(?:-SNAPSHOT)?$")


class UnsupportedRelease(ValueError):
    """A version the simulator cannot answer as; the message says which ones it can."""


def parse_version(text: str) -> Version:
    """`4.18` -> (4, 18, 0, 0); `4.20.1.0` and `4.22.0.0-SNAPSHOT` are accepted as CloudStack prints them."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise UnsupportedRelease(f"{text!r} is not a CloudStack version like 4.18 or 4.20.1.0")
    parts = [int(part) for part in match["parts"].split(".")]
    major, minor, patch, build = (*parts, 0, 0)[:4]
    return (major, minor, patch, build)


def render(version: Version) -> str:
    """As listCapabilities' `cloudstackversion` shows it: four numbers."""
    return ".".join(str(part) for part in version)


def short(version: Version) -> str:
    """`4.20.1` for (4, 20, 1, 0), `4.18` for (4, 18, 0, 0): how release notes name a release."""
    parts = list(version)
    while len(parts) > 2 and parts[-1] == 0:
        parts.pop()
    return ".".join(str(part) for part in parts)


class Kind(StrEnum):
    COMMAND = "command"
    """An API command that did not exist before."""
    PARAMETER = "parameter"
    """A request parameter (`command.parameter`) that older releases ignore."""
    FIELD = "field"
    """A response field (`object.field`) that older releases leave out."""
    SETTING = "setting"
    """A setting that older releases do not know."""
    SETTING_SHAPE = "setting shape"
    """A setting whose scope or isdynamic flag was different before."""


@dataclass(frozen=True)
class Difference:
    kind: Kind
    subject: str
    """Command name, `command.parameter`, `object.field` or setting name."""
    since: Version
    """The first release that has it as the newest release does."""
    source: str
    """Where in CloudStack this is recorded: a file and its `since` annotation, or a pull request."""
    ssvm_note: str = ""
    """Why it matters when managing SSVMs (empty for differences that only keep the simulator faithful)."""
    verified: bool = True
    """False where the first release is inferred (a pull request's date, an answer quoted in an issue)
    rather than read from a `since` annotation or release notes; docs/compatibility.md marks those."""
    scopes_before: Scope = Scope.GLOBAL
    """SETTING_SHAPE only: the scopes before `since`."""
    dynamic_before: bool = False
    """SETTING_SHAPE only: isdynamic before `since`."""
    read_each_use_before: bool = False
    """SETTING_SHAPE only: listed as non-dynamic before `since` but read from the database on every use."""


def _v(text: str) -> Version:
    return parse_version(text)


_SYSTEMVM_RESPONSE = "api/src/main/java/org/apache/cloudstack/api/response/SystemVmResponse.java"
_HOST_RESPONSE = "api/src/main/java/org/apache/cloudstack/api/response/HostResponse.java"
_ZONE_RESPONSE = "api/src/main/java/org/apache/cloudstack/api/response/ZoneResponse.java"
_CONFIG_RESPONSE = "api/src/main/java/org/apache/cloudstack/api/response/ConfigurationResponse.java"
_CAPABILITIES_RESPONSE = "api/src/main/java/org/apache/cloudstack/api/response/CapabilitiesResponse.java"
_ANNOTATIONS = "BaseResponseWithAnnotations (PR #5103, Extend the Annotations framework, 2021-07)"

DIFFERENCES: tuple[Difference, ...] = (
    # --- commands -------------------------------------------------------------------------------------
    Difference(
        Kind.COMMAND,
        "resetConfiguration",
        _v("4.16.1"),
        'api/.../command/admin/config/ResetCfgCmd.java (PR #4230, merged 2022-01-03): its since = "4.16.0" '
        "is wrong; the file is absent at the 4.16.0.0 release commit 44c08b5acc and present at 4.16.1.0 "
        "(cad9332082)",
        "a setting cannot be put back to its default in one call; updateConfiguration with the old value "
        "is the only way",
    ),
    Difference(
        Kind.COMMAND,
        "patchSystemVm",
        _v("4.17.0"),
        'api/.../command/admin/systemvm/PatchSystemVMCmd.java: since = "4.17.0"',
        "before 4.17 an SSVM reaches a new release's agent only by being destroyed and recreated",
    ),
    # --- request parameters ---------------------------------------------------------------------------
    Difference(
        Kind.PARAMETER,
        "rebootSystemVm.forced",
        _v("4.16.0"),
        'api/.../command/admin/systemvm/RebootSystemVmCmd.java: forced since = "4.16.0"',
        "older releases ignore `forced`: the reboot is a plain RebootCommand, never a stop and start",
    ),
    Difference(
        Kind.PARAMETER,
        "migrateSystemVm.storageid",
        _v("4.16.0"),
        'api/.../command/admin/systemvm/MigrateSystemVMCmd.java: storageid since = "4.16.0"',
    ),
    Difference(
        Kind.PARAMETER,
        "migrateSystemVm.autoselect",
        _v("4.16.0"),
        'api/.../command/admin/systemvm/MigrateSystemVMCmd.java: autoselect since = "4.16.0"',
    ),
    Difference(
        Kind.PARAMETER,
        "listConfigurations.group",
        _v("4.18.0"),
        'api/.../command/admin/config/ListCfgsByCmd.java: group since = "4.18.0"',
    ),
    Difference(
        Kind.PARAMETER,
        "listConfigurations.subgroup",
        _v("4.18.0"),
        'api/.../command/admin/config/ListCfgsByCmd.java: subgroup since = "4.18.0"',
    ),
    Difference(
        Kind.PARAMETER,
        "listConfigurations.parent",
        _v("4.18.0"),
        'api/.../command/admin/config/ListCfgsByCmd.java: parent since = "4.18.0"',
    ),
    Difference(
        Kind.PARAMETER,
        "listZones.ids",
        _v("4.19.0"),
        'api/.../command/user/zone/ListZonesCmd.java: ids since = "4.19.0"',
    ),
    Difference(
        Kind.PARAMETER,
        "listAsyncJobs.managementserverid",
        _v("4.19.0"),
        'api/.../command/user/job/ListAsyncJobsCmd.java: managementserverid since = "4.19"',
    ),
    Difference(
        Kind.PARAMETER,
        "listSystemVms.arch",
        _v("4.20.1"),
        'api/.../command/admin/systemvm/ListSystemVMsCmd.java: arch since = "4.20.1"',
    ),
    Difference(
        Kind.PARAMETER,
        "listHosts.managementserverid",
        _v("4.21.0"),
        'api/.../command/admin/host/ListHostsCmd.java: managementserverid since = "4.21.0"',
    ),
    # --- systemvm object ------------------------------------------------------------------------------
    Difference(
        Kind.FIELD,
        "systemvm.hasannotations",
        _v("4.16.0"),
        f"{_SYSTEMVM_RESPONSE} extends {_ANNOTATIONS}",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "systemvm.hostcontrolstate",
        _v("4.18.0"),
        f"{_SYSTEMVM_RESPONSE}: hostcontrolstate (PR #6946, Host Control Plane State, opened 2022-12)",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "systemvm.serviceofferingid",
        _v("4.19.0"),
        f"{_SYSTEMVM_RESPONSE}: serviceofferingid (PR #7938, Add Service Offering to listSystemVMs, 4.19.0)",
        "the offering an SSVM runs is not reported: an offering drift cannot be seen, so it is not corrected",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "systemvm.serviceofferingname",
        _v("4.19.0"),
        f"{_SYSTEMVM_RESPONSE}: serviceofferingname (PR #7938, 4.19.0)",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "systemvm.arch",
        _v("4.20.1"),
        f'{_SYSTEMVM_RESPONSE}: arch since = "4.20.1"',
    ),
    # --- host object (the SSVM's agent row) -----------------------------------------------------------
    Difference(
        Kind.FIELD,
        "host.hasannotations",
        _v("4.16.0"),
        f"{_HOST_RESPONSE} extends {_ANNOTATIONS}",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "host.arch",
        _v("4.20.0"),
        f'{_HOST_RESPONSE}: arch (multi-arch zones, ZoneResponse.multiarch since = "4.20")',
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "host.virtualmachineid",
        _v("4.21.0"),
        f'{_HOST_RESPONSE}: virtualmachineid since = "4.21.0"',
        "an SSVM's agent row is matched to the VM by name only (the host row is named like the VM)",
    ),
    # --- managementserver object ----------------------------------------------------------------------
    *(
        Difference(
            Kind.FIELD,
            f"managementserver.{name}",
            _v("4.17.0"),
            "api/.../response/ManagementServerResponse.java: added by PR #5588 (Mshost stats), shipped with "
            'listManagementServersMetrics (ListMgmtsMetricsCmd since = "4.17.0")',
            "no server start time: whether a non-dynamic setting is in force cannot be told from the API"
            if name == "lastserverstart"
            else "",
        )
        for name in (
            "javadistribution",
            "javaversion",
            "osdistribution",
            "lastserverstart",
            "lastserverstop",
            "lastboottime",
        )
    ),
    Difference(
        Kind.FIELD,
        "managementserver.serviceip",
        _v("4.19.0"),
        "api/.../response/ManagementServerResponse.java: serviceip (PR #7374, opened 2023-03-28 after 4.18.0 "
        "shipped; issue #7338)",
        "the management servers' addresses are not reported: they cannot be checked from inside an SSVM",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "managementserver.kernelversion",
        _v("4.19.0"),
        "api/.../response/ManagementServerResponse.java: kernelversion (absent from 4.18 answers quoted in "
        "issue #7338 and PR #7374)",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "managementserver.ipaddress",
        _v("4.20.1"),
        "api/.../response/ManagementServerResponse.java: ipaddress (PR #9885, management server peers, "
        "opened 2024-11)",
        verified=False,
    ),
    # --- zone object ----------------------------------------------------------------------------------
    Difference(
        Kind.FIELD,
        "zone.hasannotations",
        _v("4.16.0"),
        f"{_ZONE_RESPONSE} extends {_ANNOTATIONS}",
        verified=False,
    ),
    Difference(
        Kind.FIELD,
        "zone.type",
        _v("4.18.0"),
        f'{_ZONE_RESPONSE}: type since = "4.18.0" (Edge zones)',
        "no Edge zones exist before 4.18: every zone is a Core zone",
    ),
    *(
        Difference(Kind.FIELD, f"zone.{name}", _v("4.18.0"), f'{_ZONE_RESPONSE}: {name} since = "4.18.0"')
        for name in ("allowuserspecifyvrmtu", "routerprivateinterfacemaxmtu", "routerpublicinterfacemaxmtu")
    ),
    # --- configuration object -------------------------------------------------------------------------
    *(
        Difference(
            Kind.FIELD,
            f"configuration.{name}",
            _v("4.18.0"),
            f'{_CONFIG_RESPONSE}: {name} since = "4.18.0"',
            "a setting's default value is not reported: it cannot be put back to CloudStack's default "
            "without knowing it"
            if name == "defaultvalue"
            else "",
        )
        for name in ("group", "subgroup", "defaultvalue", "component", "parent", "displaytext", "type")
    ),
    # --- capability object ----------------------------------------------------------------------------
    Difference(
        Kind.FIELD,
        "capability.defaultuipagesize",
        _v("4.15.2"),
        f'{_CAPABILITIES_RESPONSE}: defaultuipagesize since = "4.15.2"',
    ),
    *(
        Difference(
            Kind.FIELD,
            f"capability.{name}",
            _v("4.18.0"),
            f'{_CAPABILITIES_RESPONSE}: {name} since = "4.18.0"',
        )
        for name in (
            "instancesstatsretentiontime",
            "instancesstatsuseronly",
            "instancesdisksstatsretentionenabled",
            "instancesdisksstatsretentiontime",
        )
    ),
    # --- serviceoffering, imagestore, template objects -------------------------------------------------
    *(
        Difference(
            Kind.FIELD, f"{obj}.hasannotations", _v("4.16.0"), f"{cls} extends {_ANNOTATIONS}", verified=False
        )
        for obj, cls in (
            ("serviceoffering", "ServiceOfferingResponse"),
            ("imagestore", "ImageStoreResponse"),
            ("template", "TemplateResponse"),
        )
    ),
    # --- settings -------------------------------------------------------------------------------------
    Difference(
        Kind.SETTING,
        "secstorage.vm.auto.scale.down",
        _v("4.16.1"),
        "engine/components-api/.../storage/StorageManager.java: SecStorageVMAutoScaleDown (PR #6042, fixing "
        "issue #6038): absent at the 4.16.0.0 release commit 44c08b5acc, present at 4.16.1.0 (cad9332082), "
        "where PremiumSecondaryStorageManagerImpl.scaleSSVMOnLoad first checks it",
        "before it, an idle command-executor SSVM is always scaled down: a standby-driven count above one "
        "churns (issue #6038)",
    ),
    Difference(
        Kind.SETTING,
        "use.https.to.upload",
        _v("4.18.0"),
        "api/.../storage/VolumeApiService.java: UseHttpsToUpload (PR #6506, opened 2022-06; issue #7568 "
        "answers that 4.18 has it)",
        verified=False,
    ),
    Difference(
        Kind.SETTING,
        "secstorage.vm.userdata",
        _v("4.20.0"),
        "server/.../storage/secondary/SecondaryStorageVmManager.java: SecondaryStorageVMUserData "
        "(system VM user data, 4.20.0)",
        verified=False,
    ),
    Difference(
        Kind.SETTING,
        "systemvm.userdata.enabled",
        _v("4.20.0"),
        "engine/api/.../vm/VirtualMachineManager.java: SystemVmEnableUserData (system VM user data, 4.20.0)",
        verified=False,
    ),
    Difference(
        Kind.SETTING,
        "system.vm.preferred.architecture",
        _v("4.20.1"),
        "engine/components-api/.../resource/ResourceManager.java: SystemVmPreferredArchitecture "
        '(multi-arch system VMs; SystemVmResponse.arch since = "4.20.1")',
        verified=False,
    ),
    Difference(
        Kind.SETTING_SHAPE,
        "consoleproxy.restart",
        _v("4.22.0"),
        "PR #11415 (Move console proxy related global settings to Zone level): before it a Config.java entry "
        "(ConsoleProxyRestart, Global, isdynamic=false) that PremiumSecondaryStorageManagerImpl reads with "
        "_configDao.getValue on every scan; since 4.22.0 a zone-scoped dynamic ConfigKey in "
        "ConsoleProxyManager.java",
        "the SSVM scanner's consoleproxy.restart check can only be switched off for every zone at once",
        scopes_before=Scope.GLOBAL,
        dynamic_before=False,
        read_each_use_before=True,
    ),
)


@dataclass(frozen=True)
class Release:
    """What one CloudStack release serves, as far as the simulator models it."""

    version: Version

    @classmethod
    def of(cls, text: str) -> Release:
        version = parse_version(text)
        if not OLDEST[:2] <= version[:2] <= LATEST[:2]:
            raise UnsupportedRelease(
                f"the simulator answers as CloudStack {short(OLDEST)} to {short(LATEST)}, not {text}"
            )
        return cls(version)

    @property
    def name(self) -> str:
        return render(self.version)

    def has(self, kind: Kind, subject: str) -> bool:
        """False only for something a newer release added."""
        since = _SINCE.get((kind, subject))
        return since is None or self.version >= since

    def has_command(self, name: str) -> bool:
        return self.has(Kind.COMMAND, name)

    def has_parameter(self, command: str, name: str) -> bool:
        return self.has(Kind.PARAMETER, f"{command}.{name}")

    def shape(self, object_name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A response object with the fields this release does not have taken out."""
        prefix = object_name + "."
        return {name: value for name, value in fields.items() if self.has(Kind.FIELD, prefix + name)}

    def setting(self, name: str) -> Setting | None:
        """The setting as this release declares it, or None where it does not exist yet."""
        return self._settings().get(name)

    def settings(self) -> tuple[Setting, ...]:
        return tuple(self._settings().values())

    def _settings(self) -> dict[str, Setting]:
        cached: dict[str, Setting] | None = _SETTINGS_CACHE.get(self.version)
        if cached is None:
            cached = {s.name: self._as_declared(s) for s in SETTINGS if self.has(Kind.SETTING, s.name)}
            _SETTINGS_CACHE[self.version] = cached
        return cached

    def _as_declared(self, setting: Setting) -> Setting:
        for d in DIFFERENCES:
            if d.kind is Kind.SETTING_SHAPE and d.subject == setting.name and self.version < d.since:
                return replace(
                    setting,
                    scopes=d.scopes_before,
                    dynamic=d.dynamic_before,
                    read_from_db_each_use=d.read_each_use_before,
                )
        return setting

    def missing(self) -> list[Difference]:
        """Every difference this release lacks, oldest first (what docs/compatibility.md lists)."""
        return sorted((d for d in DIFFERENCES if self.version < d.since), key=lambda d: (d.since, d.subject))


SYSTEM_VM_STOP_DISCONNECTS_AGENT_SINCE: Version = _v("4.16.0")
"""VirtualMachineManagerImpl.advanceStop marks a stopped system VM's agent Disconnected (ShutdownRequested)
from 4.16.0 (PR #5010, commit 2eae0f5385); on 4.15 it keeps the status its closed link gave it (Alert)."""

CIDR_VALIDATION_SINCE: Version = _v("4.19.2")
"""secstorage.allowed.internal.sites is validated by updateConfiguration from 4.19.2.0 and 4.20.0.0 on
(commit 0ba9a292d5, PR #9567, in ConfigurationManagerImpl.validateValueRange); before, any text is stored."""

_SETTINGS_CACHE: dict[Version, dict[str, Setting]] = {}
_SINCE: dict[tuple[Kind, str], Version] = {}
for _d in DIFFERENCES:
    _SINCE[(_d.kind, _d.subject)] = max(_SINCE.get((_d.kind, _d.subject), _d.since), _d.since)


def differences_by_release() -> dict[Version, list[Difference]]:
    """Each release that changed something, with what it changed."""
    grouped: dict[Version, list[Difference]] = {}
    for d in sorted(DIFFERENCES, key=lambda d: (d.since, d.kind.value, d.subject)):
        grouped.setdefault(d.since, []).append(d)
    return grouped


__all__ = [
    "DIFFERENCES",
    "LATEST",
    "OLDEST",
    "Difference",
    "Kind",
    "Release",
    "UnsupportedRelease",
    "Version",
    "differences_by_release",
    "parse_version",
    "render",
    "short",
]
