"""CloudStack requests per poll cycle for 1 to 500 pools on one endpoint: the operator's shared inventory
against the naive per-pool poller (bench/naive.py), counted by the simulator itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from bench.counting import RowCountingClient
from bench.naive import naive_poll
from bench.report import Section, seconds
from cloudstack_sim.testing import SimulatorHandle, running_simulator
from ssvm_operator.cloud.config import ConfigCache
from ssvm_operator.cloud.inventory import InventoryCache

POOL_COUNTS = (1, 10, 100, 500)
CYCLES = 3
READS_PER_CYCLE = 3
"""Each pool's timer ticks several times per endpoint poll (10 s ticks, 30 s polls by default)."""
POLL_SECONDS = 30.0
DECLARED_SETTINGS = frozenset(
    {"secstorage.allowed.internal.sites", "secstorage.vm.mtu.size", "secstorage.session.max"}
)
"""What one SSVMSettings object of the endpoint declares; its reconcile reads these once per poll too."""


def rows_goal(zones: int) -> int:
    """CloudStack rows per poll may grow with what is managed, not with the catalogue: 3 per zone (zone,
    SSVM, template), the declared settings, and 50 for offerings and the like."""
    return 3 * zones + len(DECLARED_SETTINGS) + 50


async def ours(sim: SimulatorHandle, zones: Sequence[str]) -> tuple[float, float, float]:
    """Requests, rows and wall time per cycle with the operator's code: one InventoryCache per endpoint,
    every pool reading it on each of its ticks, and the endpoint's SSVMSettings reading its declared
    settings; both caches expire once per poll interval."""
    cache, settings = InventoryCache(), ConfigCache()
    client = RowCountingClient(sim.api_url, sim.api_key, sim.secret_key)
    async with client:
        sim.admin.reset_call_counts()
        started = time.perf_counter()
        for _ in range(CYCLES):
            cache.invalidate()  # a poll interval has passed
            settings.invalidate()
            for _ in range(READS_PER_CYCLE):
                await settings.get(client, POLL_SECONDS, DECLARED_SETTINGS)
                inventories = await asyncio.gather(*(cache.get(client, POLL_SECONDS) for _ in zones))
                assert all(
                    inv.zone_named(zone) is not None for inv, zone in zip(inventories, zones, strict=True)
                )
        elapsed = time.perf_counter() - started
        calls = sum(sim.admin.call_counts().values())
        return calls / CYCLES, client.rows / CYCLES, elapsed / CYCLES


async def naive(sim: SimulatorHandle, zones: Sequence[str]) -> tuple[float, float, float]:
    """The same for the baseline: every pool polls for itself once per cycle."""
    client = RowCountingClient(sim.api_url, sim.api_key, sim.secret_key)
    async with client:
        sim.admin.reset_call_counts()
        started = time.perf_counter()
        for _ in range(CYCLES):
            views = await asyncio.gather(*(naive_poll(client, zone) for zone in zones))
            assert all(view["zone"] for view in views)
        elapsed = time.perf_counter() - started
        calls = sum(sim.admin.call_counts().values())
        return calls / CYCLES, client.rows / CYCLES, elapsed / CYCLES


def measure(pool_counts: Sequence[int] = POOL_COUNTS) -> Section:
    started = time.monotonic()
    section = Section(
        "CloudStack requests per poll cycle",
        "One endpoint, one pool per zone, every zone with one SSVM. *Ours* is the operator's code path "
        "(`InventoryCache` shared by the endpoint's pools + `fetch_inventory`); *naive* is the per-pool "
        "baseline of `bench/naive.py`. Requests are counted by the simulator (`/_sim/calls`).",
        [
            "pools",
            "ours: requests",
            "naive: requests",
            "naive / ours",
            "ours: rows",
            "rows goal",
            "naive: rows",
            "ours: time",
            "naive: time",
        ],
    )
    with running_simulator(mode="subprocess", zones=max(pool_counts), scan_interval=30) as sim:
        sim.admin.wait_for(lambda: len(sim.admin.ssvms(running=True)) >= max(pool_counts), timeout=60)
        names = [zone["name"] for zone in sim.admin.state()["zones"]]
        zone_count = len(names)
        for count in pool_counts:
            zones = names[:count]
            our_calls, our_rows, our_time = asyncio.run(ours(sim, zones))
            naive_calls, naive_rows, naive_time = asyncio.run(naive(sim, zones))
            section.rows.append(
                [
                    str(count),
                    f"{our_calls:.0f}",
                    f"{naive_calls:.0f}",
                    f"{naive_calls / our_calls:.1f}x",
                    f"{our_rows:.0f}",
                    f"<= {rows_goal(zone_count)}",
                    f"{naive_rows:.0f}",
                    seconds(our_time),
                    seconds(naive_time),
                ]
            )
    section.notes += [
        f"A cycle is one poll interval; each pool reads the shared inventory {READS_PER_CYCLE} times in it, "
        f"as its timer ticks. Averages over {CYCLES} cycles.",
        "Ours always asks the same list commands whatever the number of pools: listZones, "
        "listSystemVms (each SSVM with its agent's state), listServiceOfferings, listTemplates, "
        "listManagementServers (the release the servers run, for outdated SSVMs), and "
        "listConfigurations once per setting used, by exact name: three for the inventory, "
        f"{len(DECLARED_SETTINGS)} declared by the SSVMSettings object. "
        f"The answers hold every zone of the endpoint ({zone_count} here), so the rows do not shrink for a "
        "single pool; the goal is 3 x zones + declared settings + 50.",
        "Times are wall time on this machine with the simulator in a separate process: a guide, not a "
        "promise about a real management server.",
    ]
    largest = section.rows[-1]
    section.headlines.append(
        (
            f"CloudStack requests per poll cycle, {largest[0]} pools on one endpoint",
            f"{largest[1]} (naive baseline: {largest[2]})",
            "constant, a handful per endpoint",
        )
    )
    section.headlines.append(
        (
            f"CloudStack rows per poll cycle, {zone_count} zones, {len(DECLARED_SETTINGS)} declared settings",
            f"{max(int(row[4]) for row in section.rows)} (naive, 500 pools: {largest[6]})",
            f"<= {rows_goal(zone_count)}",
        )
    )
    section.seconds = time.monotonic() - started
    return section
