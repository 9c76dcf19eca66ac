"""Settings and SSVM agents read through the real client from the simulator, in proportion to what is used.

CloudStack's `listConfigurations name=` is a substring match, so only exact names may count; the inventory
asks for the three settings it uses, never the catalogue, and takes each SSVM's agent state from its
listSystemVms row instead of listing every agent host.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.config import ConfigCache, read_settings
from ssvm_operator.cloud.inventory import INVENTORY_SETTINGS, fetch_inventory

POLL_SECONDS = 3600.0  # one poll for the whole test


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    scenario = {
        "settings": {"secstorage.session.max": "7"},
        "zones": [{"name": "zone-1"}, {"name": "zone-2"}],
    }
    with simulator_in_thread(scenario=scenario) as sim:
        yield sim


@pytest.fixture
async def client(cloudstack: SimulatorHandle) -> AsyncIterator[CloudClient]:
    settings = ConnectionSettings(cloudstack.api_url, timeout_seconds=5, requests_per_second=100)
    async with CloudClient(settings, Credentials(cloudstack.api_key, cloudstack.secret_key)) as opened:
        yield opened


async def test_only_exact_names_count_so_a_prefix_of_real_settings_does_not_exist(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    # CloudStack answers `name=secstorage.capacity` with capacity.standby and capacityscan.interval.
    assert len(await client.list("listConfigurations", name="secstorage.capacity")) == 2
    found = await read_settings(client, ["secstorage.capacity", "secstorage.session.max"])
    assert set(found) == {"secstorage.session.max"}
    assert found["secstorage.session.max"].value == "7"


async def test_the_inventory_reads_its_three_settings_and_no_agent_hosts(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    vm = cloudstack.admin.ssvms(zone="zone-1")[0]["name"]
    cloudstack.admin.set_agent_state(vm, "Disconnected", sticky=True)
    cloudstack.admin.reset_call_counts()
    inventory = await fetch_inventory(client)

    calls = cloudstack.admin.call_counts()
    assert calls.get("listConfigurations") == len(INVENTORY_SETTINGS)
    assert calls.get("listHosts") == 1, "one list of the zones' hypervisor hosts, none per SSVM agent"
    assert set(inventory.settings) == set(INVENTORY_SETTINGS)
    assert inventory.standby_replicas == 2, "capacity.standby 10 over session.max 7"
    agents = {ssvm.name: ssvm.agent_state for ssvm in inventory.ssvms}
    assert agents[vm] == "Disconnected"
    assert set(agents.values()) == {"Up", "Disconnected"}


async def test_settings_of_an_ssvmsettings_are_read_once_per_poll_and_afresh_when_others_are_declared(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    cache = ConfigCache()
    declared = {"secstorage.session.max", "secstorage.vm.mtu.size"}
    cloudstack.admin.reset_call_counts()
    for _ in range(3):  # three ticks in one poll
        snapshot = await cache.get(client, POLL_SECONDS, declared)
    assert set(snapshot.settings) == declared
    assert cloudstack.admin.call_counts().get("listConfigurations") == len(declared)

    wider = await cache.get(client, POLL_SECONDS, {*declared, "no.such.setting"})
    assert set(wider.settings) == declared, "a key CloudStack does not know is simply absent"
    assert cloudstack.admin.call_counts().get("listConfigurations") == 2 * len(declared) + 1
