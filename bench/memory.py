"""Peak memory of the real operator process managing 500 pools, and what that steady state costs:
CloudStack requests per poll interval and the operator's CPU, measured on the running process."""

from __future__ import annotations

import time

from bench.harness import pool_doc, running_system
from bench.report import Section, seconds

POOLS = 500
TICK_SECONDS = 5.0
POLL_SECONDS = 5
WINDOW_POLLS = 3


def measure(pools: int = POOLS) -> Section:
    started = time.monotonic()
    with running_system(
        zones=pools, scan_interval=30, tick_seconds=TICK_SECONDS, poll_seconds=POLL_SECONDS
    ) as system:
        time.sleep(2)
        idle = system.operator.memory_kib()
        zones = sorted(zone["name"] for zone in system.cloudstack.admin.state()["zones"])
        created = time.monotonic()
        system.create(*(pool_doc(zone) for zone in zones[:pools]))
        system.wait(
            lambda: system.ready_pools() == pools, timeout=240, what=f"{pools} pools Ready", interval=1
        )
        all_ready = time.monotonic() - created

        system.cloudstack.admin.reset_call_counts()
        cpu_before = system.operator.cpu_seconds()
        window_start = time.monotonic()
        time.sleep(WINDOW_POLLS * POLL_SECONDS)
        window = time.monotonic() - window_start
        cpu = (system.operator.cpu_seconds() - cpu_before) / window
        counts = system.cloudstack.admin.call_counts()
        memory = system.operator.memory_kib()
        system.operator.check_alive()

    per_poll = sum(counts.values()) / (window / POLL_SECONDS)
    section = Section(
        f"The operator process with {pools} pools",
        f"The real operator process (kopf) against the Kubernetes emulator and the simulator: one endpoint, "
        f"{pools} zones, one SSVMPool per zone; ticks every {TICK_SECONDS:.0f} s, endpoint polls every "
        f"{POLL_SECONDS} s.",
        ["measure", "value"],
        [
            ["RSS before any pool (one endpoint)", f"{idle['VmRSS'] / 1024:.0f} MiB"],
            [f"peak RSS (VmHWM) with {pools} pools", f"{memory['VmHWM'] / 1024:.0f} MiB"],
            [f"RSS at steady state with {pools} pools", f"{memory['VmRSS'] / 1024:.0f} MiB"],
            ["growth per pool", f"{(memory['VmHWM'] - idle['VmRSS']) / pools:.0f} KiB"],
            [f"time until all {pools} pools were Ready", seconds(all_ready)],
            ["CloudStack requests per poll interval (steady state)", f"{per_poll:.1f}"],
            ["operator CPU at steady state", f"{cpu * 100:.0f}% of one core"],
        ],
    )
    section.notes += [
        "Requests counted by the simulator over "
        f"{window:.0f} s ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}).",
        "Peak RSS includes the start-up burst in which every pool is created, reconciled and written for "
        "the first time.",
    ]
    section.headlines += [
        (f"peak RSS of the operator with {pools} pools", section.rows[1][1], "-"),
        (
            f"CloudStack requests per poll interval, real operator, {pools} pools",
            f"{per_poll:.1f}",
            "constant",
        ),
    ]
    section.seconds = time.monotonic() - started
    return section
