"""The settings the simulator knows: every `secstorage.*` key and the related keys of
cloudstack-contract.md §4.

"Legacy" keys are `Config.java` entries (server/src/main/java/com/cloud/configuration/Config.java): Global
only, `isdynamic=false`. The others are `ConfigKey`s whose scope and dynamic flag come from their
declaration. Values are validated as ConfigurationManagerImpl.validateConfigurationValue does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntFlag

from cloudstack_sim.errors import internal_error, invalid_parameter


class Scope(IntFlag):
    """ConfigKey.Scope bitmask (framework/config/.../ConfigKey.java L104-112)."""

    GLOBAL = 1
    ZONE = 2
    CLUSTER = 4
    STORAGE_POOL = 8
    MANAGEMENT_SERVER = 16
    IMAGE_STORE = 32
    DOMAIN = 64
    ACCOUNT = 128


# The scope names as updateConfiguration/listConfigurations write them (lower case) and
# resetConfiguration writes them (the enum name).
SCOPE_NAMES = {
    Scope.ZONE: "zone",
    Scope.IMAGE_STORE: "imagestore",
    Scope.CLUSTER: "cluster",
    Scope.STORAGE_POOL: "storagepool",
    Scope.DOMAIN: "domain",
    Scope.ACCOUNT: "account",
}
SCOPE_ENUM_NAMES = {
    Scope.ZONE: "Zone",
    Scope.IMAGE_STORE: "ImageStore",
    Scope.CLUSTER: "Cluster",
    Scope.STORAGE_POOL: "StoragePool",
    Scope.DOMAIN: "Domain",
    Scope.ACCOUNT: "Account",
}

_JAVA_CLASSES = {
    "Integer": "class java.lang.Integer",
    "Long": "class java.lang.Long",
    "Boolean": "class java.lang.Boolean",
    "String": "class java.lang.String",
    "Double": "class java.lang.Double",
    "Float": "class java.lang.Float",
}
# listConfigurations `type` (ConfigurationManagerImpl L8494-8533).
_API_TYPES = {
    "Integer": "Number",
    "Long": "Number",
    "Boolean": "Boolean",
    "String": "String",
    "Double": "Decimal",
    "Float": "Decimal",
}
_INT_RANGES = {"Integer": (-(2**31), 2**31 - 1), "Long": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class Setting:
    name: str
    java_type: str
    """Integer, Long, Float, Double, Boolean or String: what values must parse as."""
    default: str | None
    description: str
    dynamic: bool = False
    """isdynamic: a change takes effect without a management-server restart."""
    scopes: Scope = Scope.GLOBAL
    """Where a value may be set; legacy keys are Global only."""
    category: str = "Advanced"
    component: str = "AgentManager"
    group: str = "System VMs"
    subgroup: str = "SecStorageVM"
    read_from_db_each_use: bool = False
    """Listed as non-dynamic but read from the database on every use (system.vm.auto.reserve.capacity)."""
    boot_arg: bool = True
    """Reaches an SSVM only when it starts (recorded per VM in its boot record)."""

    @property
    def hidden(self) -> bool:
        """Category Hidden: never listed, still updatable."""
        return self.category == "Hidden"

    @property
    def api_type(self) -> str:
        return _API_TYPES[self.java_type]

    @property
    def takes_effect_immediately(self) -> bool:
        return self.dynamic or self.read_from_db_each_use

    def allows(self, scope: Scope) -> bool:
        return bool(self.scopes & scope)

    def display_text(self) -> str:
        return " ".join(part.capitalize() for part in self.name.replace("-", ".").split("."))


def _legacy(
    name: str,
    java_type: str,
    default: str | None,
    description: str,
    *,
    category: str = "Advanced",
    component: str = "AgentManager",
    group: str = "System VMs",
    subgroup: str = "SecStorageVM",
    read_from_db_each_use: bool = False,
    boot_arg: bool = True,
) -> Setting:
    """A Config.java entry: Global only and isdynamic=false (ConfigurationServerImpl L195-215)."""
    return Setting(
        name,
        java_type,
        default,
        description,
        dynamic=False,
        scopes=Scope.GLOBAL,
        category=category,
        component=component,
        group=group,
        subgroup=subgroup,
        read_from_db_each_use=read_from_db_each_use,
        boot_arg=boot_arg,
    )


def _diagnostics(name: str, java_type: str, default: str, description: str, *, dynamic: bool) -> Setting:
    """A ConfigKey of DiagnosticsServiceImpl or DiagnosticsFilesList (getDiagnosticsData, since 4.14)."""
    return Setting(
        name,
        java_type,
        default,
        description,
        dynamic=dynamic,
        component="DiagnosticsServiceImpl",
        subgroup="Miscellaneous",
        boot_arg=False,
    )


# server/src/main/java/org/apache/cloudstack/diagnostics/DiagnosticsServiceImpl.java and
# .../diagnostics/fileprocessor/DiagnosticsFilesList.java.
DIAGNOSTICS_DATA_SETTINGS = (
    _diagnostics(
        "diagnostics.data.gc.enable",
        "Boolean",
        "true",
        "Enable the garbage collector background task to delete old files from secondary storage.",
        dynamic=False,
    ),
    _diagnostics(
        "diagnostics.data.gc.interval",
        "Integer",
        "86400",
        "The interval at which the garbage collector background tasks in seconds",
        dynamic=False,
    ),
    _diagnostics(
        "diagnostics.data.retrieval.timeout",
        "Long",
        "1800",
        "Overall system VM script execution time out in seconds.",
        dynamic=True,
    ),
    _diagnostics(
        "diagnostics.data.max.file.age",
        "Long",
        "86400",
        "Sets the maximum time in seconds a file can stay in secondary storage before it is deleted.",
        dynamic=True,
    ),
    _diagnostics(
        "diagnostics.data.disable.threshold",
        "Double",
        "0.9",
        "Sets the secondary storage disk utilisation percentage for file retrieval. Used to look for "
        "suitable secondary storage with enough space, otherwise an exception is thrown when no secondary "
        "store is found.",
        dynamic=True,
    ),
    _diagnostics(
        "diagnostics.data.systemvm.defaults",
        "String",
        "iptables,ipaddr,iprule,iproute,/etc/cloudstack-release,/usr/local/cloud/systemvm/conf/agent.properties,"
        "/usr/local/cloud/systemvm/conf/consoleproxy.properties,/var/log/cloud.log,/var/log/patchsystemvm.log,"
        "/var/log/daemon.log",
        "List of supported diagnostics data file options for the CPVM and SSVM.",
        dynamic=True,
    ),
    _diagnostics(
        "diagnostics.data.router.defaults",
        "String",
        "iptables,ipaddr,iprule,iproute,/etc/cloudstack-release,/etc/dnsmasq.conf,/etc/dhcphosts.txt,"
        "/etc/dhcpopts.txt,/etc/dnsmasq.d/cloud.conf,/etc/dnsmasq-resolv.conf,/var/lib/misc/dnsmasq.leases,"
        "/var/log/dnsmasq.log,/etc/hosts,/etc/resolv.conf,/etc/haproxy/haproxy.cfg,/var/log/haproxy.log,"
        "/etc/ipsec.d/l2tp.conf,/var/log/cloud.log,/var/log/routerServiceMonitor.log,/var/log/daemon.log",
        "List of supported diagnostics data file options for the domain router.",
        dynamic=True,
    ),
)

SETTINGS: tuple[Setting, ...] = (
    # §4.1: secstorage.* — Config.java entries
    _legacy(
        "secstorage.capacity.standby",
        "Integer",
        "10",
        "The minimal number of command execution sessions that system is able to serve immediately"
        "(standby capacity)",
        boot_arg=False,
    ),
    _legacy(
        "secstorage.session.max",
        "Integer",
        "50",
        "The max number of command execution sessions that a SSVM can handle",
        boot_arg=False,
    ),
    _legacy(
        "secstorage.cmd.execution.time.max",
        "Integer",
        "30",
        "The max command execution time in minute",
        boot_arg=False,
    ),
    _legacy(
        "secstorage.vm.mtu.size",
        "Integer",
        "1500",
        "MTU size (in Byte) of storage network in secondary storage vms",
    ),
    _legacy(
        "secstorage.allowed.internal.sites",
        "String",
        None,
        "Comma separated list of cidrs internal to the datacenter that can host template download servers, "
        "please note 0.0.0.0 is not a valid site",
    ),
    _legacy(
        "secstorage.encrypt.copy",
        "Boolean",
        "false",
        "Use SSL method used to encrypt copy traffic between zones",
    ),
    _legacy(
        "secstorage.ssl.cert.domain",
        "String",
        "",
        "SSL certificate used to encrypt copy traffic between zones",
        boot_arg=False,
    ),
    _legacy(
        "secstorage.proxy",
        "String",
        None,
        "http proxy used by ssvm, in http://username:password@proxyserver:port format",
        boot_arg=False,
    ),
    _legacy(
        "secstorage.service.offering",
        "String",
        None,
        "Uuid of the service offering used by secondary storage; if NULL - system offering will be used",
    ),
    _legacy(
        "secstorage.copy.password",
        "String",
        None,
        "Password used to authenticate zone-to-zone template copy",
        category="Hidden",
    ),
    # §4.1: secstorage.* — ConfigKeys
    Setting(
        "secstorage.capacityscan.interval",
        "Long",
        "30000",
        "The time interval(in millisecond) to scan whether or not system needs more SSVM to ensure minimal "
        "standby capacity",
        component="SecondaryStorageManager",
        boot_arg=False,
    ),
    Setting(
        "secstorage.max.migrate.sessions",
        "Integer",
        "2",
        "The max number of concurrent copy command execution sessions that an SSVM can handle",
        component="StorageManager",
        boot_arg=False,
    ),
    Setting(
        "secstorage.vm.auto.scale.down",
        "Boolean",
        "false",
        "Setting this to 'true' will auto scale down SSVMs",
        dynamic=True,
        component="StorageManager",
        boot_arg=False,
    ),
    Setting(
        "secstorage.vm.userdata",
        "String",
        "",
        "UUID of the user data to be injected into the SSVM at boot",
        dynamic=True,
        scopes=Scope.GLOBAL | Scope.ZONE,
        component="SecondaryStorageManager",
    ),
    Setting(
        "secstorage.nfs.version",
        "String",
        None,
        "Enforces specific NFS version when mounting Secondary Storage. If NULL default selection is "
        "performed",
        dynamic=True,
        scopes=Scope.GLOBAL | Scope.IMAGE_STORE,
        component="CapacityManager",
    ),
    Setting(
        "secondary.storage.capacity.threshold",
        "Float",
        "0.90",
        "Percentage (as a value between 0 and 1) of secondary storage capacity threshold.",
        dynamic=True,
        component="CapacityManager",
        subgroup="Miscellaneous",
        boot_arg=False,
    ),
    # §4.2: related keys
    _legacy(
        "system.vm.auto.reserve.capacity",
        "Boolean",
        "true",
        "Indicates whether or not to automatically reserver system VM standby capacity.",
        read_from_db_each_use=True,
        boot_arg=False,
        subgroup="Miscellaneous",
    ),
    Setting(
        "consoleproxy.restart",
        "Boolean",
        "true",
        "Console proxy restart flag, defaults to true",
        dynamic=True,
        scopes=Scope.GLOBAL | Scope.ZONE,
        component="ConsoleProxyManager",
        subgroup="ConsoleProxyVM",
        boot_arg=False,
    ),
    _legacy(
        "secondary.storage.vm",
        "Boolean",
        "false",
        "Deploys a VM per zone to manage secondary storage if true, otherwise secondary storage is mounted "
        "on management server",
        category="Hidden",
        boot_arg=False,
    ),
    Setting(
        "max.ssvm.count",
        "Integer",
        "5",
        "Number of additional SSVMs to handle migration of data objects concurrently",
        dynamic=True,
        component="SecondaryStorageManager",
        boot_arg=False,
    ),
    Setting(
        "max.data.migration.wait.time",
        "Integer",
        "15",
        "Maximum wait time (in minutes) for a data migration task before spawning a new SSVM",
        component="StorageManager",
        boot_arg=False,
    ),
    Setting(
        "system.vm.use.local.storage",
        "Boolean",
        "false",
        "Indicates whether to use local storage pools or shared storage pools for system VMs.",
        scopes=Scope.GLOBAL | Scope.ZONE,
        component="ConfigurationManager",
        subgroup="Miscellaneous",
    ),
    Setting(
        "system.vm.preferred.architecture",
        "String",
        "",
        "Preferred architecture for the system VMs including virtual routers",
        dynamic=True,
        scopes=Scope.GLOBAL | Scope.ZONE,
        component="ResourceManager",
        subgroup="Miscellaneous",
    ),
    Setting(
        "systemvm.userdata.enabled",
        "Boolean",
        "false",
        "Enable user data for system VMs",
        dynamic=True,
        scopes=Scope.GLOBAL | Scope.ZONE,
        component="VirtualMachineManager",
        subgroup="Miscellaneous",
    ),
    Setting(
        "enable.dynamic.scale.vm",
        "Boolean",
        "false",
        "Enables/Disables dynamically scaling a vm",
        dynamic=True,
        scopes=Scope.GLOBAL | Scope.ZONE,
        component="UserVmManager",
        group="Compute",
        subgroup="Miscellaneous",
        boot_arg=False,
    ),
    Setting(
        "ntp.server.list",
        "String",
        None,
        "Comma separated list of NTP servers to configure in the system VMs",
        dynamic=True,
        component="VirtualMachineGuru",
        subgroup="Miscellaneous",
    ),
    _legacy("instance.name", "String", "VM", "Name of the deployment instance.", category="Hidden"),
    Setting(
        "use.https.to.upload",
        "Boolean",
        "true",
        "Determines the protocol (HTTPS or HTTP) ACS will use to generate links to upload ISOs, volumes, "
        "and templates.",
        dynamic=True,
        component="VolumeApiService",
        group="Storage",
        subgroup="Images",
    ),
    _legacy(
        "default.page.size",
        "Long",
        "500",
        "Default page size for API list* commands",
        component="ManagementServer",
        group="Management Server",
        subgroup="Miscellaneous",
        boot_arg=False,
    ),
    *DIAGNOSTICS_DATA_SETTINGS,
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def find(name: str) -> Setting | None:
    return _BY_NAME.get(name)


def require(name: str) -> Setting:
    """The setting, or CloudStack's 431 for a name it does not know (ConfigurationManagerImpl L1023-1027)."""
    setting = find(name)
    if setting is None:
        raise invalid_parameter(f"Config parameter with name {name} doesn't exist")
    return setting


def java_class(java_type: str) -> str:
    """The class name CloudStack's type-check messages print, e.g. `class java.lang.Integer`."""
    return _JAVA_CLASSES[java_type]


def check_value(setting: Setting, value: str | None, check_cidrs: bool = True) -> None:
    """validateConfigurationValue: the value parses as the setting's type, then special cases.
    `check_cidrs`: whether the release validates secstorage.allowed.internal.sites (releases.py)."""
    if value is None:
        return
    if not _parses_as(value, setting.java_type):
        raise invalid_parameter(f"Value [{value}] is not a valid [{_JAVA_CLASSES[setting.java_type]}].")
    if setting.name == "secstorage.allowed.internal.sites" and check_cidrs:
        _check_cidr_list(setting.name, value)


def _parses_as(value: str, java_type: str) -> bool:
    if java_type == "Boolean":
        # Lower-cased first, then exactly true or false.
        return value.lower() in ("true", "false")
    if java_type == "Double":
        try:
            float(value)
        except ValueError:
            return False
        return True
    if java_type == "Float":
        # Float.parseFloat trims blanks and rejects Python's underscores; infinite values are refused.
        try:
            number = float(value.strip())
        except ValueError:
            return False
        return "_" not in value and number not in (float("inf"), float("-inf"))
    if java_type in _INT_RANGES:
        low, high = _INT_RANGES[java_type]
        try:
            number = int(value, 10)
        except ValueError:
            return False
        # Integer.parseInt accepts a leading sign but no spaces or underscores, unlike Python's int().
        return low <= number <= high and value.lstrip("+-").isdigit()
    return True


def _check_cidr_list(name: str, value: str) -> None:
    # ConfigurationValueValidator.validateCidrList: split on "," with no trimming, so "a, b" fails on " b".
    if not value:
        return
    for entry in value.split(","):
        if _is_ip(entry) or _is_clean_ipv4_cidr(entry):
            continue
        if not _is_ipv4_cidr(entry):
            # ConfigurationManagerImpl.validateValueRange calls NetUtils.getCleanIp4Cidr, which throws a
            # CloudRuntimeException for anything that is not an IPv4 CIDR: an uncaught 530, not the 431 text.
            raise internal_error(f"Invalid CIDR: {entry}")
        raise invalid_parameter(f"Invalid CIDR {entry} value specified for the config {name}.")


def _is_ipv4_cidr(text: str) -> bool:
    try:
        ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_clean_ipv4_cidr(text: str) -> bool:
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        return False
    return str(network) == text


def parse_bool(value: str | None) -> bool:
    """Java's Boolean.parseBoolean: only "true", in any case, is true."""
    return value is not None and value.lower() == "true"


def parse_int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


__all__ = ["SETTINGS", "Scope", "Setting", "check_value", "find", "parse_bool", "parse_int", "require"]
