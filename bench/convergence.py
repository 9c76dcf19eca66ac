"""Convergence after half the SSVMs of 50 zones fail at once, relative to the simulator's scan interval
(which also sets its boot time: boot = scan / 2, agent connect = scan / 4)."""

from __future__ import annotations

import time
from typing import Any

from bench.harness import System, condition, pool_doc, running_system
from bench.report import Section, ratio, seconds

ZONES = 50
SCAN_SECONDS = 2.0
GRACE_SECONDS = 2
POLL_SECONDS = 1
TICK_SECONDS = 0.5
MUTATING = ("startSystemVm", "stopSystemVm", "rebootSystemVm", "destroySystemVm")


def cloudstack_converged(state: dict[str, Any], zones: list[str]) -> bool:
    """Every zone has exactly one SSVM, Running with its agent Up, and no job pending on it."""
    by_zone: dict[str, list[dict[str, Any]]] = {zone: [] for zone in zones}
    for vm in state["vms"]:
        if vm["type"] == "SecondaryStorageVm":
            by_zone.setdefault(vm["zone"], []).append(vm)
    return all(
        len(vms) == 1
        and vms[0]["state"] == "Running"
        and vms[0]["agent_state"] == "Up"
        and not vms[0]["pending_job"]
        for vms in by_zone.values()
    )


def pools_ready(system: System) -> bool:
    pools = system.pools()
    return len(pools) == ZONES and all(
        condition(p, "Ready").get("status") == "True" and condition(p, "Reconciling").get("status") == "False"
        for p in pools
    )


def measure() -> Section:
    started = time.monotonic()
    health = {"unhealthyAfterSeconds": GRACE_SECONDS, "rebootTimeoutSeconds": int(4 * SCAN_SECONDS)}
    with running_system(
        zones=ZONES, scan_interval=SCAN_SECONDS, tick_seconds=TICK_SECONDS, poll_seconds=POLL_SECONDS
    ) as system:
        admin = system.cloudstack.admin
        zones = sorted(zone["name"] for zone in admin.state()["zones"])
        system.create(*(pool_doc(zone, health=health) for zone in zones))
        system.wait(lambda: pools_ready(system), timeout=120, what=f"{ZONES} pools Ready", interval=0.5)

        victims = [admin.ssvms(zone=zone)[0]["name"] for zone in zones[::2]]
        admin.reset_call_counts()
        failed_at = time.monotonic()
        for index, vm in enumerate(victims):
            if index % 2 == 0:
                admin.fail_vm(vm)  # VM in Error: CloudStack's scanner starts a replacement beside it
            else:
                admin.set_agent_state(vm, "Alert")  # VM runs, agent lost: only a reboot brings it back
        system.wait(
            lambda: cloudstack_converged(admin.state(), zones),
            timeout=180,
            what="CloudStack back to one healthy SSVM per zone",
            interval=0.1,
        )
        cloudstack_done = time.monotonic() - failed_at
        system.wait(lambda: pools_ready(system), timeout=120, what="every pool Ready again", interval=0.1)
        pools_done = time.monotonic() - failed_at
        counts = admin.call_counts()

    actions = {command: counts[command] for command in MUTATING if counts.get(command)}
    in_error, agent_down = (len(victims) + 1) // 2, len(victims) // 2
    boot, connect = SCAN_SECONDS / 2, SCAN_SECONDS / 4
    # CloudStack's scanner starts one SSVM at a time and waits for each boot (one thread, fixed rate).
    scanner_floor = SCAN_SECONDS + in_error * boot + connect
    reboot_floor = GRACE_SECONDS + 2 * connect
    section = Section(
        f"Convergence after {len(victims)} of {ZONES} SSVMs fail at once",
        f"{ZONES} zones with one SSVM each, one pool per zone (grace {GRACE_SECONDS} s, "
        "`maxUnavailable: 1`). "
        f"At once, {in_error} SSVMs go to Error and {agent_down} lose their agent. Simulator scan interval "
        f"S = {SCAN_SECONDS:.0f} s (boot S/2, agent connect S/4); endpoint poll {POLL_SECONDS} s, "
        f"tick {TICK_SECONDS} s.",
        ["measure", "time", "in scan intervals"],
        [
            [
                "CloudStack back to one healthy SSVM per zone",
                seconds(cloudstack_done),
                ratio(cloudstack_done / SCAN_SECONDS),
            ],
            ["every pool Ready again", seconds(pools_done), ratio(pools_done / SCAN_SECONDS)],
            [
                f"floor: CloudStack's scanner replacing {in_error} SSVMs one after the other",
                seconds(scanner_floor),
                ratio(scanner_floor / SCAN_SECONDS),
            ],
            [
                "floor: grace, then reboot and agent reconnect",
                seconds(reboot_floor),
                ratio(reboot_floor / SCAN_SECONDS),
            ],
        ],
    )
    section.notes += [
        f"CloudStack converged at {ratio(cloudstack_done / max(scanner_floor, reboot_floor))} x its floor: "
        "the time is CloudStack's scanner, which boots one replacement at a time, not the operator.",
        f"Operator requests during recovery: {', '.join(f'{c} {n}' for c, n in actions.items())}; one per "
        "failed SSVM, so nothing was repaired twice.",
        "SSVMs in Error are replaced by CloudStack's scanner beside them and the operator removes the failed "
        "VM; agents that stay down need the operator's reboot after the grace.",
    ]
    floor = max(scanner_floor, reboot_floor)
    section.headlines.append(
        (
            f"convergence after {len(victims)} of {ZONES} SSVMs fail: scan intervals (x CloudStack's floor)",
            f"{ratio(pools_done / SCAN_SECONDS)} ({ratio(pools_done / floor)})",
            "-",
        )
    )
    section.seconds = time.monotonic() - started
    return section
