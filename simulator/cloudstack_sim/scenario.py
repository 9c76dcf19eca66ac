"""Scenario files: the region a simulator starts with (zones, stores, offerings, settings, SSVM states).

Format (every key optional; see docs/simulator.md and examples/sim/):

    cloudstack_version: 4.20.1.0
    management_servers: 1            # or a list of names, or of {name, state: Up | Down (decommissioned)}
    console_proxies: true            # one console proxy VM per zone, as a real region has
    settings: {secstorage.session.max: "50"}
    offerings: [{name: SSVM Large, cpunumber: 2, cpuspeed: 1000, memory: 2048}]
    templates: [{hypervisor: KVM, arch: x86_64, ready_in: [zone-1]}]   # system templates; default: one KVM
                                                                      # template, ready where template_ready
    zones:
      - name: zone-1
        allocationstate: Enabled     # or Disabled
        type: Core                   # or Edge (no SSVM)
        dns1: 8.8.8.8
        internaldns1: 10.0.0.2
        details: {enable.secstorage.vm: "true"}
        settings: {consoleproxy.restart: "true"}       # zone-scoped values
        hosts: 2                     # hypervisor hosts, or a list of names or of {name, hypervisor, arch}
        hypervisor: KVM              # of the hosts below, unless a host names its own
        image_stores: [{name: nfs-1, url: "nfs://...", readonly: false, total_gib: 2048, used_gib: 300}]
        template_ready: true
        behaviour: {boot_fails: false, agent_connects_as: null, command_load: 0, vm_capacity: 10}
        ssvms:                       # default: one template processor, Running and Up
          - {state: Running, agent: Up, role: templateProcessor, offering: SSVM Large, version: 4.19.0.0}
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from cloudstack_sim.catalogue import Scope, check_value
from cloudstack_sim.cloud import DEFAULT_CPVM_OFFERING, Cloud
from cloudstack_sim.config import DEFAULT_CLOUDSTACK_VERSION
from cloudstack_sim.errors import ApiError
from cloudstack_sim.lifecycle import boot_settings
from cloudstack_sim.model import (
    Agent,
    AgentState,
    BootRecord,
    HypervisorHost,
    ImageStore,
    ManagementServer,
    Offering,
    Role,
    SystemVm,
    Template,
    VmState,
    VmType,
    Zone,
    ZoneBehaviour,
)
from cloudstack_sim.releases import UnsupportedRelease

DEFAULT_ZONES = 2


class ScenarioError(ValueError):
    """A scenario file that cannot describe a region; the message names the offending entry."""


def load(path: str | Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not YAML: {error}") from error
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping, got {type(document).__name__}")
    return document


def _default_offerings(cloud: Cloud) -> list[dict[str, Any]]:
    # ServiceOffering unique names and SecondaryStorageVmManager defaults (1 vCPU, 500 MHz, 512 MB).
    # ServiceOfferingDaoImpl.createSystemServiceOfferings persists each system offering twice: shared, and a
    # "<name> - Local Storage" twin with the unique name "<unique>-Local".
    shared = _system_offerings()
    twins = [
        {
            **spec,
            "name": spec["name"] + " - Local Storage",
            "unique_name": spec["unique_name"] + "-Local",
            "storagetype": "local",
            "defaultuse": True,
        }
        for spec in shared
    ]
    return shared + twins + _extra_offerings()


def _system_offerings() -> list[dict[str, Any]]:
    return [
        {
            "name": "System Offering For Secondary Storage VM",
            "unique_name": "Cloud.com-SecondaryStorage",
            "cpunumber": 1,
            "cpuspeed": 500,
            "memory": 512,
            "systemvmtype": "secondarystoragevm",
            "defaultuse": True,
        },
        {
            "name": "System Offering For Console Proxy",
            "unique_name": DEFAULT_CPVM_OFFERING,
            "cpunumber": 1,
            "cpuspeed": 500,
            "memory": 1024,
            "systemvmtype": "consoleproxy",
            "defaultuse": True,
        },
        {
            "name": "System Offering For Software Router",
            "unique_name": "Cloud.Com-SoftwareRouter",
            "cpunumber": 1,
            "cpuspeed": 500,
            "memory": 256,
            "systemvmtype": "domainrouter",
            "defaultuse": True,
        },
    ]


def _extra_offerings() -> list[dict[str, Any]]:
    return [
        {
            "name": "SSVM Large",
            "displaytext": "2 vCPU, 2 GB secondary storage VM",
            "cpunumber": 2,
            "cpuspeed": 1000,
            "memory": 2048,
            "systemvmtype": "secondarystoragevm",
        },
        {"name": "Small Instance", "cpunumber": 1, "cpuspeed": 500, "memory": 512, "issystem": False},
        {"name": "Medium Instance", "cpunumber": 1, "cpuspeed": 1000, "memory": 1024, "issystem": False},
    ]


def _add_offering(cloud: Cloud, spec: dict[str, Any]) -> Offering:
    if "name" not in spec:
        raise ScenarioError(f"offering without a name: {spec}")
    is_system = bool(spec.get("issystem", True))
    offering = Offering(
        uuid=str(spec.get("id") or cloud.new_uuid()),
        internal_id=cloud.next_id("service_offering"),
        name=str(spec["name"]),
        display_text=str(spec.get("displaytext", spec["name"])),
        cpu_number=int(spec.get("cpunumber", 1)),
        cpu_speed=int(spec.get("cpuspeed", 500)),
        memory=int(spec.get("memory", 512)),
        created=cloud.now(),
        is_system=is_system,
        vm_type=str(spec.get("systemvmtype", "secondarystoragevm")) if is_system else None,
        unique_name=spec.get("unique_name"),
        state=str(spec.get("state", "Active")),
        offer_ha=bool(spec.get("offerha", False)),
        default_use=bool(spec.get("defaultuse", False)),
        storage_type=str(spec.get("storagetype", "shared")),
        storage_tags=_tags(spec.get("storagetags")),
        host_tags=_tags(spec.get("hosttags")),
    )
    if offering.storage_type not in ("shared", "local"):
        raise ScenarioError(f"offering {offering.name}: storagetype is shared or local")
    cloud.offerings[offering.uuid] = offering
    return offering


def _tags(value: Any) -> tuple[str, ...]:
    """Tags as CloudStack keeps them: a comma-separated list (StringUtils.csvTagsToList)."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _zone_specs(document: dict[str, Any], zones: int | None) -> list[dict[str, Any]]:
    specs = document.get("zones")
    if specs is None:
        return [{"name": f"zone-{n}"} for n in range(1, (zones or DEFAULT_ZONES) + 1)]
    if not isinstance(specs, list):
        raise ScenarioError("zones: a list of zones")
    return [spec if isinstance(spec, dict) else {"name": str(spec)} for spec in specs]


def _add_zone(cloud: Cloud, spec: dict[str, Any], templates: list[Template]) -> Zone:
    internal_id = cloud.next_id("data_center")
    name = str(spec.get("name") or f"zone-{internal_id}")
    behaviour = dict(spec.get("behaviour") or {})
    agent_state = behaviour.pop("agent_connects_as", None)
    zone = Zone(
        uuid=str(spec.get("id") or cloud.new_uuid()),
        internal_id=internal_id,
        name=name,
        created=cloud.now(),
        pod_uuid=cloud.new_uuid(),
        pod_name=f"{name}-pod-1",
        token=cloud.new_uuid(),
        allocation_state=str(spec.get("allocationstate", "Enabled")),
        type=str(spec.get("type", "Core")),
        network_type=str(spec.get("networktype", "Advanced")),
        dns1=spec.get("dns1", "8.8.8.8"),
        dns2=spec.get("dns2"),
        internal_dns1=spec.get("internaldns1", f"10.{internal_id}.0.2"),
        internal_dns2=spec.get("internaldns2"),
        domain=spec.get("domain"),
        details={str(k): str(v) for k, v in (spec.get("details") or {}).items()},
        behaviour=ZoneBehaviour(
            agent_connects_as=connect_outcome(agent_state),
            **{key: value for key, value in behaviour.items()},
        ),
        subnet=internal_id,
    )
    cloud.zones[zone.uuid] = zone
    hosts = spec.get("hosts", 2)
    hypervisor = str(spec.get("hypervisor", "KVM"))
    host_specs = (
        [{"name": f"{hypervisor.lower()}-{name}-{n:02d}"} for n in range(1, int(hosts) + 1)]
        if isinstance(hosts, int)
        else [h if isinstance(h, dict) else {"name": h} for h in hosts]
    )
    for n, host_spec in enumerate(host_specs, start=1):
        host = HypervisorHost(
            uuid=cloud.new_uuid(),
            internal_id=cloud.next_id("host"),
            name=str(host_spec["name"]),
            zone_uuid=zone.uuid,
            ip=f"10.{zone.subnet}.0.{10 + n}",
            created=cloud.now(),
            hypervisor=str(host_spec.get("hypervisor", hypervisor)),
            arch=str(host_spec.get("arch", "x86_64")),
            tags=frozenset(_tags(host_spec.get("tags"))),
        )
        cloud.hosts[host.uuid] = host
    stores = spec.get("image_stores", [{}])
    for n, store_spec in enumerate(stores, start=1):
        store = ImageStore(
            uuid=str(store_spec.get("id") or cloud.new_uuid()),
            internal_id=cloud.next_id("image_store"),
            name=str(store_spec.get("name", f"nfs-{name}-{n}")),
            zone_uuid=zone.uuid,
            url=str(store_spec.get("url", f"nfs://10.{zone.subnet}.0.5/export/secondary{n}")),
            readonly=bool(store_spec.get("readonly", False)),
        )
        set_store_usage(store, store_spec.get("total_gib"), store_spec.get("used_gib"))
        cloud.image_stores[store.uuid] = store
    if spec.get("template_ready", True):
        for template in templates:
            template.ready_in_zones.add(zone.uuid)
    for key, value in (spec.get("settings") or {}).items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        try:
            setting = cloud.require_setting(str(key))
            check_value(setting, text)
        except ApiError as error:
            raise ScenarioError(f"zone {name}: settings: {key}: {error.text}") from error
        if not setting.allows(Scope.ZONE):
            raise ScenarioError(f"zone {name}: {key} cannot be set per zone in CloudStack {cloud.version}")
        cloud.settings.set_scoped(Scope.ZONE, zone.uuid, setting.name, text)
    return zone


def set_store_usage(store: ImageStore, total_gib: Any, used_gib: Any) -> None:
    """What StatsCollector last measured on the store, in GiB (either may be left out)."""
    total = store.size_total if total_gib is None else _gib(total_gib, "total_gib")
    used = store.size_used if used_gib is None else _gib(used_gib, "used_gib")
    if total <= 0 or used > total:
        raise ValueError(f"image store {store.name}: used_gib must be between 0 and total_gib (> 0)")
    store.size_total, store.size_used = total, used


def _gib(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of GiB, not {value!r}")
    return int(value * 1024**3)


def connect_outcome(value: Any) -> AgentState | None:
    """`agent_connects_as`: how an agent ends after it connects; None (or Up) is the normal Up."""
    if not value:
        return None
    state = AgentState(str(value))
    if state is AgentState.UP:
        return None
    if state not in (AgentState.CONNECTING, AgentState.ALERT, AgentState.DISCONNECTED):
        raise ValueError(
            f"agent_connects_as: {state.value}: a system VM's agent never reaches it in CloudStack; use "
            "Connecting, Alert or Disconnected (or agent_connects: false for an agent that never connects)"
        )
    return state


def _add_vm(
    cloud: Cloud, zone: Zone, vm_type: VmType, spec: dict[str, Any], ms: ManagementServer
) -> SystemVm:
    role = Role(spec.get("role", Role.TEMPLATE_PROCESSOR.value))
    if vm_type is VmType.SECONDARY_STORAGE:
        offering = (
            cloud.find_offering(str(spec["offering"]))
            if "offering" in spec
            else cloud.ssvm_offering_for_new_vms(ms)
        )
    else:
        offering = cloud.offering_by_unique_name(DEFAULT_CPVM_OFFERING)
    if offering is None:
        raise ScenarioError(f"zone {zone.name}: unknown offering {spec.get('offering')!r}")
    vm = cloud.allocate_vm(zone, vm_type, role, offering, ms, version=spec.get("version"))
    vm.state = VmState(spec.get("state", VmState.RUNNING.value))
    vm.dynamically_scalable = bool(spec.get("dynamicallyscalable", False))
    agent_state = spec.get("agent", "Up" if vm.state is VmState.RUNNING else "Disconnected")
    if vm.state in (VmState.RUNNING, VmState.MIGRATING, VmState.STOPPING):
        host = cloud.choose_host(zone)
        vm.host_uuid = host.uuid if host else None
        vm.link_local_ip = cloud.new_link_local_ip()
        vm.link_local_mac = cloud.new_mac(0x0E)
    if vm.state is not VmState.STOPPED or agent_state:
        vm.boot = BootRecord(
            started_at=cloud.now(), offering_uuid=offering.uuid, settings=boot_settings(cloud, zone, ms)
        )
    if agent_state:
        state = AgentState(agent_state)
        if not state.reachable_by_system_vm_agent:
            raise ScenarioError(
                f"zone {zone.name}: agent: {state.value}: a system VM's agent never reaches it in CloudStack "
                "(Up, Connecting, Alert or Disconnected; null for an agent that never connected)"
            )
        vm.agent = Agent(
            uuid=cloud.new_uuid(),
            internal_id=cloud.next_id("host"),
            name=vm.name,
            state=state,
            created=cloud.now(),
            version=vm.version,
            management_server_uuid=ms.uuid,
            disconnected=cloud.now() if state.lost_connection else None,
            last_pinged=cloud.now() if state is AgentState.UP else None,
        )
        if state is AgentState.UP and vm.boot is not None:
            vm.boot.agent_connected_at = cloud.now()
    return vm


def build(
    document: dict[str, Any] | None = None,
    zones: int | None = None,
    seed: int | None = None,
    cloudstack_version: str | None = None,
) -> Cloud:
    """A region as the scenario describes it; without one, `zones` default zones of one SSVM each.

    `cloudstack_version` (the --cloudstack-version option) wins over the scenario's `cloudstack_version`.
    """
    try:
        return _build(document or {}, zones, seed, cloudstack_version)
    except ApiError as error:  # an unknown or badly typed setting, with CloudStack's own message
        raise ScenarioError(error.text) from error
    except UnsupportedRelease as error:
        raise ScenarioError(f"cloudstack_version: {error}") from error


def _build(document: dict[str, Any], zones: int | None, seed: int | None, version: str | None) -> Cloud:
    version = version or str(document.get("cloudstack_version", DEFAULT_CLOUDSTACK_VERSION))
    cloud = Cloud(random.Random(seed), version)
    # A fresh install sets secondary.storage.vm=true (ConfigurationServerImpl L219-220).
    cloud.settings.set_global("secondary.storage.vm", "true")
    for key, value in (document.get("settings") or {}).items():
        text = None if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        try:
            setting = cloud.require_setting(str(key))
            check_value(setting, text)
        except ApiError as error:
            raise ScenarioError(f"settings: {key}: {error.text}") from error
        cloud.settings.set_global(setting.name, text)
    servers = document.get("management_servers", 1)
    entries = [f"ms-{n}" for n in range(1, int(servers) + 1)] if isinstance(servers, int) else list(servers)
    for n, entry in enumerate(entries, start=1):
        spec = entry if isinstance(entry, dict) else {"name": entry}
        state = str(spec.get("state", "Up"))
        if state not in ("Up", "Down"):
            raise ScenarioError(f"management_servers: {spec.get('name')}: state is Up or Down, not {state}")
        ms = ManagementServer(
            uuid=cloud.new_uuid(),
            internal_id=n,
            name=str(spec.get("name") or f"ms-{n}"),
            ip=f"10.0.0.{10 + n}",
            version=cloud.version,
            last_server_start=cloud.now(),
            last_boot=cloud.now(),
        )
        cloud.management_servers.append(ms)
        cloud.start_management_server(ms)
        if state == "Down":
            ms.state, ms.decommissioned, ms.last_server_stop = "Down", True, cloud.now()
    if cloud.management_servers[0].decommissioned:
        raise ScenarioError("management_servers: the first one answers the API and must be Up")
    for spec in _default_offerings(cloud) + list(document.get("offerings") or []):
        _add_offering(cloud, spec)
    # System templates: by default one for KVM, downloaded in every zone whose template_ready is true. A
    # template that names `ready_in` is downloaded in those zones only.
    templates: list[Template] = []
    zone_lists: dict[str, list[str]] = {}
    for spec in document.get("templates") or [{}]:
        hypervisor = str(spec.get("hypervisor", "KVM"))
        template = Template(
            uuid=cloud.new_uuid(),
            internal_id=cloud.next_id("vm_template"),
            name=str(spec.get("name", f"SystemVM Template ({hypervisor})")),
            created=cloud.now(),
            hypervisor=hypervisor,
            arch=str(spec.get("arch", "x86_64")),
        )
        cloud.templates[template.uuid] = template
        if "ready_in" in spec:
            zone_lists[template.uuid] = [str(z) for z in spec.get("ready_in") or []]
        else:
            templates.append(template)
    ms = cloud.primary_ms
    for spec in _zone_specs(document, zones):
        try:
            zone = _add_zone(cloud, spec, templates)
        except (KeyError, TypeError, ValueError) as error:
            raise ScenarioError(f"zone {spec.get('name')!r}: {error}") from error
        for template_uuid, zone_names in zone_lists.items():
            if zone.name in zone_names:
                cloud.templates[template_uuid].ready_in_zones.add(zone.uuid)
        ssvm_specs = spec.get("ssvms")
        if ssvm_specs is None:
            wanted = zone.scanned and zone.ssvm_required and cloud.zone_ready(zone)
            ssvm_specs = [{}] if wanted else []
        for vm_spec in ssvm_specs:
            _add_vm(cloud, zone, VmType.SECONDARY_STORAGE, dict(vm_spec), ms)
        if document.get("console_proxies", True) and zone.scanned and zone.type != "Edge":
            _add_vm(cloud, zone, VmType.CONSOLE_PROXY, {}, ms)
    return cloud
