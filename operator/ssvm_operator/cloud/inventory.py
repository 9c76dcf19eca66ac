"""One inventory refresh per endpoint per poll, shared by every pool of that endpoint.

The same few list calls whatever the number of pools, so CloudStack's load does not grow with the number
of SSVMPool objects, and the rows asked for are the ones used: the zones, their SSVMs (each with its
agent's state), the system offerings, the system templates, the management servers, and three settings by
exact name (measured in `make bench`). Only a declaration naming an offering that is no system offering
costs more: one lookup per poll while it stands.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ssvm_operator.cloud.breaker import CircuitBreaker
from ssvm_operator.cloud.client import CloudApi
from ssvm_operator.cloud.config import read_settings
from ssvm_operator.cloud.errors import CloudError
from ssvm_operator.cloud.standby_history import StandbyHistory
from ssvm_operator.model.image_store import CAPACITY_THRESHOLD_KEY, ImageStore
from ssvm_operator.model.settings import CAPACITY_STANDBY_KEY, SESSION_MAX_KEY
from ssvm_operator.model.snapshot import (
    SSVM_VM_TYPE,
    Inventory,
    ManagementServer,
    Offering,
    SystemTemplate,
    SystemVm,
    Zone,
)
from ssvm_operator.model.standby import int_setting, standby_replicas

DEFAULT_SCAN_INTERVAL_MS = 30000
SCAN_INTERVAL_KEY = "secstorage.capacityscan.interval"
INVENTORY_SETTINGS = (SESSION_MAX_KEY, CAPACITY_STANDBY_KEY, SCAN_INTERVAL_KEY, CAPACITY_THRESHOLD_KEY)
"""The settings the inventory reads: how many SSVMs CloudStack keeps, and how often its scanner runs."""


async def fetch_inventory(client: CloudApi, *, now: Callable[[], datetime] | None = None) -> Inventory:
    zones, vms, offerings, configs, templates, (servers, stores, hosts) = await asyncio.gather(
        client.list("listZones", showcapacities=False),
        # Each row carries its agent's state (`agentstate`, `disconnected`) from the SSVM's own host row
        # (ApiResponseHelper.createSystemVmResponse, findHostByTypeNameAndZoneId): no listHosts needed.
        client.list("listSystemVms", systemvmtype=SSVM_VM_TYPE),
        # Every system offering, so one declared for another system VM type is recognised as such.
        client.list("listServiceOfferings", issystem=True),
        read_settings(client, INVENTORY_SETTINGS),
        # Without a Ready system VM template CloudStack cannot create an SSVM in the zone
        # (SecondaryStorageManagerImpl.isZoneReady), so recreating one there would leave the zone without.
        client.list("listTemplates", templatefilter="system"),
        asyncio.gather(
            # Which servers run, since when (the standby values in force are those read at each start),
            # and on which release: an upgrade moves it without the operator reconnecting, and SSVMs whose
            # agent is behind it are outdated (model/currency.py).
            client.list("listManagementServers"),
            # How full each image store is: with none under the threshold CloudStack creates no SSVM.
            client.list("listImageStores"),
            # Each zone's hypervisors: a system template of one of them, ready in any store, is what
            # CloudStack needs to create an SSVM there (plan/template.py).
            client.list("listHosts", type="Routing"),
        ),
    )
    ssvms = tuple(SystemVm.from_api(vm) for vm in vms)
    ssvm_offerings = tuple(Offering.from_api(o) for o in offerings)
    settings = {name: entry.value for name, entry in configs.items()}
    return Inventory(
        observed_at=(now or _utcnow)(),
        zones=tuple(Zone.from_api(z) for z in zones),
        ssvms=tuple(sorted(ssvms, key=lambda vm: vm.name)),
        offerings=ssvm_offerings,
        host_tags=routing_host_tags(hosts, ssvm_offerings),
        standby_replicas=standby_replicas(settings),
        management_servers=tuple(ManagementServer.from_api(row) for row in servers),
        image_stores=tuple(ImageStore.from_api(row) for row in stores),
        zone_hypervisors=zone_hypervisors(hosts),
        scan_interval_seconds=int_setting(settings, SCAN_INTERVAL_KEY, DEFAULT_SCAN_INTERVAL_MS) / 1000.0,
        settings=settings,
        system_templates=tuple(SystemTemplate.from_api(t) for t in templates if t.get("id")),
        management_server_version=management_server_version(servers),
        ready_template_zones=frozenset(
            str(t["zoneid"]) for t in templates if t.get("zoneid") and str(t.get("isready")).lower() == "true"
        ),
    )


def routing_host_tags(
    hosts: list[dict[str, Any]], offerings: tuple[Offering, ...]
) -> dict[str, tuple[frozenset[str], ...]] | None:
    """Host tags of the Up, Enabled Routing hosts by zone, kept only while an SSVM offering names host tags:
    CloudStack starts a VM with such an offering only on a host that has them (the host allocators), so
    changing to it where no host has them leaves the SSVM stopped."""
    if not any(o.fits_ssvm and o.host_tags for o in offerings):
        return None
    found: dict[str, list[frozenset[str]]] = {}
    for host in hosts:
        if str(host.get("state")) != "Up" or str(host.get("resourcestate", "Enabled")) != "Enabled":
            continue
        tags = frozenset(t.strip() for t in str(host.get("hosttags") or "").split(",") if t.strip())
        found.setdefault(str(host.get("zoneid")), []).append(tags)
    return {zone: tuple(tags) for zone, tags in found.items()}


def management_server_version(servers: list[dict[str, Any]]) -> str | None:
    """The newest version among the Up servers (all of them when none says Up): CloudStack runs every
    management server on one release, and an upgrade starts them on the new one."""
    up = [s for s in servers if str(s.get("state", "Up")) == "Up"] or servers
    versions = [str(s["version"]) for s in up if s.get("version")]
    return max(versions, key=_version_key) if versions else None


def _version_key(text: str) -> tuple[int, ...]:
    numbers = text.split("-")[0].split(".")
    return tuple(int(n) if n.isdigit() else 0 for n in numbers)


def zone_hypervisors(hosts: list[dict[str, Any]]) -> dict[str, frozenset[tuple[str, str | None]]]:
    """(hypervisor, arch) of the Routing hosts of each zone, by zone id."""
    found: dict[str, set[tuple[str, str | None]]] = {}
    for host in hosts:
        if host.get("zoneid") and host.get("hypervisor"):
            arch = str(host["arch"]) if host.get("arch") else None
            found.setdefault(str(host["zoneid"]), set()).add((str(host["hypervisor"]), arch))
    return {zone: frozenset(kinds) for zone, kinds in found.items()}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class InventoryCache:
    """Shares one inventory between all pools of an endpoint for up to `max_age` seconds.

    Concurrent callers wait for the one refresh in progress instead of starting their own. A failed refresh
    is shared the same way: every reader gets the same error until the next poll is due, so an endpoint
    with wrong keys or a dead server is asked once per poll interval, not once per pool and tick.
    """

    def __init__(self, breaker: CircuitBreaker | None = None) -> None:
        self.breaker = breaker or CircuitBreaker()
        """Counts real refreshes only: readers of a cached failure do not count again."""
        self._inventory: Inventory | None = None
        self._error: CloudError | None = None
        self._fetched_at = -math.inf
        self._lock = asyncio.Lock()
        self._user_offerings: dict[str, Offering | None] = {}
        """Declared offerings looked up among the user offerings since the last refresh."""
        self._standby = StandbyHistory()
        """The standby values seen on this endpoint, to tell which ones each management server runs with."""

    def invalidate(self) -> None:
        """After the operator changed something, the next reader sees CloudStack afresh."""
        self._fetched_at = -math.inf

    async def get(
        self, client: CloudApi, max_age: float, *, declared_offering: str | None = None
    ) -> Inventory:
        """The shared inventory; with `declared_offering`, it also holds that offering if it is a user one.

        Every poll lists the system offerings only. An offering declared by mistake that is none of them is
        looked up once per poll among the user offerings, so the pool can say "not a system offering" rather
        than "does not exist".
        """
        async with self._lock:
            if time.monotonic() - self._fetched_at >= max_age:
                self._fetched_at = time.monotonic()
                self._user_offerings = {}
                try:
                    fetched = await fetch_inventory(client)
                    standby = self._standby.observe(
                        fetched.settings, fetched.management_servers, fetched.observed_at
                    )
                    fetched = replace(fetched, standby_replicas=standby.in_force, standby=standby)
                    self._inventory, self._error = fetched, None
                    self.breaker.record_success()
                except CloudError as error:
                    self._error = error
                    self.breaker.record_failure(datetime.now(UTC))
            if self._error is not None:
                raise self._error
            assert self._inventory is not None
            inventory = self._inventory
            if declared_offering is None or inventory.offering_named(declared_offering) is not None:
                return inventory
            if declared_offering not in self._user_offerings:
                self._user_offerings[declared_offering] = await _user_offering(client, declared_offering)
            found = self._user_offerings[declared_offering]
            return replace(inventory, offerings=(*inventory.offerings, found)) if found else inventory


async def _user_offering(client: CloudApi, declared: str) -> Offering | None:
    """The user offering named (or, for a UUID, with the id) `declared`; None when there is none."""
    try:
        found = await client.list("listServiceOfferings", name=declared)
        if not found and _is_uuid(declared):
            found = await client.list("listServiceOfferings", id=declared)
    except CloudError:
        return None  # only the wording of a Stalled condition depends on it
    exact = [Offering.from_api(row) for row in found if declared in (row.get("name"), row.get("id"))]
    return exact[0] if exact else None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
