"""From an SSVM's agent going down to the operator's first CloudStack action, relative to the pool's grace
(`health.unhealthyAfterSeconds`) and the endpoint's poll interval: the real operator process, timed from
outside by the simulator's request counts."""

from __future__ import annotations

import random
import statistics
import time

from bench.harness import System, condition, pool_doc, running_system
from bench.report import Section, ratio, seconds

GRACE_SECONDS = 3
POLL_SECONDS = 2
TICK_SECONDS = 0.5
TRIALS = 6
ZONES = 3
MUTATING = ("startSystemVm", "stopSystemVm", "rebootSystemVm", "destroySystemVm")


def mutations(system: System) -> dict[str, int]:
    counts = system.cloudstack.admin.call_counts()
    return {command: counts.get(command, 0) for command in MUTATING}


def settled(system: System, zone: str) -> bool:
    pool = next((p for p in system.pools() if p["metadata"]["name"] == zone), {})
    return (
        condition(pool, "Ready").get("status") == "True"
        and condition(pool, "Reconciling").get("status") == "False"
        and len(system.cloudstack.admin.ssvms(zone=zone, running=True)) == 1
    )


def one_trial(system: System, zone: str, rng: random.Random) -> tuple[float, str]:
    """Seconds from the agent going down to the first mutating request, and that request."""
    system.wait(lambda: settled(system, zone), timeout=60, what=f"pool {zone} settled")
    time.sleep(rng.uniform(0, POLL_SECONDS))  # any phase of the poll cycle
    before = mutations(system)
    vm = system.cloudstack.admin.ssvms(zone=zone, running=True)[0]["name"]
    downed = time.monotonic()
    system.cloudstack.admin.set_agent_state(vm, "Alert")

    def first_action() -> str | None:
        after = mutations(system)
        return next((command for command in MUTATING if after[command] > before[command]), None)

    command = system.wait(
        first_action, timeout=GRACE_SECONDS + 10 * POLL_SECONDS, what="a first action", interval=0.02
    )
    elapsed = time.monotonic() - downed
    assert command is not None
    return elapsed, command


def measure() -> Section:
    started = time.monotonic()
    rng = random.Random(7)
    health = {"unhealthyAfterSeconds": GRACE_SECONDS, "rebootTimeoutSeconds": 30}
    delays: list[float] = []
    commands: list[str] = []
    with running_system(
        zones=ZONES, scan_interval=4, tick_seconds=TICK_SECONDS, poll_seconds=POLL_SECONDS
    ) as system:
        zones = sorted(zone["name"] for zone in system.cloudstack.admin.state()["zones"])
        system.create(*(pool_doc(zone, health=health) for zone in zones))
        system.wait(lambda: system.ready_pools() == ZONES, timeout=60, what="pools Ready")
        for trial in range(TRIALS):
            delay, command = one_trial(system, zones[trial % ZONES], rng)
            delays.append(delay)
            commands.append(command)
    lateness = [(d - GRACE_SECONDS) / POLL_SECONDS for d in delays]
    section = Section(
        "Reaction to an agent going down",
        f"An SSVM's agent is set Down (the VM keeps running) at a random moment of the poll cycle; the "
        f"operator's first request is `{commands[0]}`. Grace {GRACE_SECONDS} s, "
        f"poll interval {POLL_SECONDS} s, "
        f"tick {TICK_SECONDS} s, {TRIALS} trials. Ratio = (first action - grace) / poll interval.",
        ["measure", "min", "median", "max"],
        [
            [
                "agent down -> first action",
                seconds(min(delays)),
                seconds(statistics.median(delays)),
                seconds(max(delays)),
            ],
            [
                "(first action - grace) / poll interval",
                ratio(min(lateness)),
                ratio(statistics.median(lateness)),
                ratio(max(lateness)),
            ],
        ],
    )
    section.notes += [
        f"First requests seen: {', '.join(sorted(set(commands)))}.",
        "The grace runs from when a poll first sees the agent down, so the lateness is at most one poll "
        "(the inventory's age) plus up to a tick on either side of the grace: (poll + 2 ticks) / poll = "
        f"{ratio((POLL_SECONDS + 2 * TICK_SECONDS) / POLL_SECONDS)} here.",
        "A negative ratio is an action before the grace ran out: `status.ssvms[].unhealthySince` is kept to "
        "the second (RFC 3339 without fractions), so the grace may end up to 1 s early.",
    ]
    section.headlines.append(
        (
            "(first action - grace) / poll interval, median (max)",
            f"{ratio(statistics.median(lateness))} ({ratio(max(lateness))})",
            "at most 1",
        )
    )
    section.seconds = time.monotonic() - started
    return section
