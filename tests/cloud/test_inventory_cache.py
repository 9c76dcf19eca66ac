"""The shared inventory, read through the real client from the simulator: an offering declared by mistake is
told apart from one that does not exist, at one extra call per poll and only while the mistake stands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.inventory import InventoryCache

POLL_SECONDS = 3600.0  # one poll for the whole test: whatever is asked twice is asked from the cache


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(zones=1) as sim:
        yield sim


@pytest.fixture
async def client(cloudstack: SimulatorHandle) -> AsyncIterator[CloudClient]:
    settings = ConnectionSettings(cloudstack.api_url, timeout_seconds=5, requests_per_second=100)
    async with CloudClient(settings, Credentials(cloudstack.api_key, cloudstack.secret_key)) as opened:
        yield opened


def offering_calls(cloudstack: SimulatorHandle) -> int:
    return cloudstack.admin.call_counts().get("listServiceOfferings", 0)


async def test_a_user_offering_is_found_as_one_and_asked_once_per_poll(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    cache = InventoryCache()
    plain = await cache.get(client, POLL_SECONDS)
    assert plain.offering_named("Small Instance") is None, "every poll lists the system offerings only"

    cloudstack.admin.reset_call_counts()
    for _ in range(3):  # three pools' ticks in one poll
        inventory = await cache.get(client, POLL_SECONDS, declared_offering="Small Instance")
        offering = inventory.offering_named("Small Instance")
        assert offering is not None and not offering.is_system and not offering.fits_ssvm
    assert offering_calls(cloudstack) == 1
    assert (await cache.get(client, POLL_SECONDS)).offering_named("Small Instance") is None

    cache.invalidate()  # the next poll
    await cache.get(client, POLL_SECONDS, declared_offering="Small Instance")
    assert offering_calls(cloudstack) == 3, "a new poll lists the system offerings and asks again"


async def test_a_user_offering_declared_by_id_is_found(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    user = (await client.list("listServiceOfferings", name="Medium Instance"))[0]
    inventory = await InventoryCache().get(client, POLL_SECONDS, declared_offering=user["id"])
    offering = inventory.offering_named(user["id"])
    assert offering is not None and offering.name == "Medium Instance" and not offering.fits_ssvm


async def test_an_ssvm_offering_or_an_unknown_name_costs_nothing_more(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    cache = InventoryCache()
    ssvm_offering = next(o for o in (await cache.get(client, POLL_SECONDS)).offerings if o.fits_ssvm)

    cloudstack.admin.reset_call_counts()
    found = await cache.get(client, POLL_SECONDS, declared_offering=ssvm_offering.name)
    assert found.offering_named(ssvm_offering.name) == ssvm_offering
    assert offering_calls(cloudstack) == 0

    for _ in range(2):
        unknown = await cache.get(client, POLL_SECONDS, declared_offering="Huge")
        assert unknown.offering_named("Huge") is None
    assert offering_calls(cloudstack) == 1, "a name that is nowhere is looked up once per poll"
