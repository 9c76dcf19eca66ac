"""One simulator per test, on a free loopback port, fast enough that a scan takes a fifth of a second.

Tests talk to it only the way the operator does (the real `cs` client, sync and async) and through the
unsigned admin path, never through the simulator's internals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from cs import AIOCloudStack, CloudStack

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.sim.sim_helpers import SCAN_INTERVAL


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(scan_interval=SCAN_INTERVAL, seed=7) as running:
        yield running


@pytest.fixture
def api(sim: SimulatorHandle) -> CloudStack:
    """The synchronous client the way the operator configures it: POST form bodies."""
    return CloudStack(
        endpoint=sim.api_url,
        key=sim.api_key,
        secret=sim.secret_key,
        method="post",
        timeout=10,
        poll_interval=0.05,
    )


@pytest.fixture
def api_get(sim: SimulatorHandle) -> CloudStack:
    """The client's default: GET with the signed query in the URL."""
    return CloudStack(endpoint=sim.api_url, key=sim.api_key, secret=sim.secret_key, timeout=10)


@pytest.fixture
async def aapi(sim: SimulatorHandle) -> AsyncIterator[AIOCloudStack]:
    client = AIOCloudStack(
        endpoint=sim.api_url,
        key=sim.api_key,
        secret=sim.secret_key,
        method="post",
        timeout=10,
        poll_interval=0.05,
    )
    async with client:
        yield client
