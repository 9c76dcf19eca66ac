"""The fault soak, short: the real operator under a seeded storm of CloudStack, Kubernetes and process
faults keeps the safety contract at every sample and brings every acting zone back to Ready.

`make soak` runs the same for minutes and prints the table (scripts/soak.py); this is its CI-sized cut.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.fault_soak import POOLS, InvariantMonitor, SoakConfig, run_soak

SEED = 3


def test_a_short_fault_soak_breaks_no_invariant_and_converges(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_soak(SoakConfig(seed=SEED, fault_seconds=25, converge_bound_seconds=45))
    with capsys.disabled():
        print("\n" + report.table())
    assert report.violations == [], report.table()
    assert sum(report.faults.values()) >= 20, "the schedule injected faults"
    assert any(command.startswith("destroySystemVm") for command in report.actions), "the operator acted"
    assert report.faults["CloudStack upgrade (new template)"] == 1, "CloudStack was upgraded during the soak"
    assert any(command.startswith("patchSystemVm") for command in report.actions), "agents were patched"
    assert report.converge_seconds is not None


# The monitor itself: each invariant it guards is seen when it is broken.


def vm(vm_id: str, zone: str, job: str | None = None) -> dict[str, Any]:
    return {"id": vm_id, "name": f"s-{vm_id}-VM", "zone": zone, "pending_job": job}


def job(job_id: str, command: str, vm_id: str, status: str = "IN_PROGRESS") -> dict[str, Any]:
    return {"id": job_id, "command": command, "instance": vm_id, "status": status}


def state(vms: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> dict[str, Any]:
    zones = [{"name": p.zone, "details": {}} for p in POOLS]
    return {"vms": vms, "jobs": jobs, "zones": zones, "calls": {}}


def flight(vm_id: str, action: str = "Recreate") -> dict[str, Any]:
    return {"action": action, "vmId": vm_id, "jobId": f"job-{vm_id}", "startedAt": "2025-01-01T00:00:00Z"}


def violations(samples: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    monitor = InvariantMonitor(None, None, POOLS)  # type: ignore[arg-type]
    for sampled_state, statuses in samples:
        monitor.check(sampled_state, statuses)
    return sorted(v.split(":")[0] for v in monitor.violations.values())


def test_the_monitor_sees_a_zone_disrupted_beyond_its_budget() -> None:
    vms = [vm("a", "zone-1"), vm("b", "zone-1"), vm("c", "zone-2"), vm("d", "zone-2")]
    one_each = state(vms, [job("1", "rebootSystemVm", "a")])
    assert violations([(one_each, {"zone-1": {}, "zone-2": {"inFlight": [flight("c"), flight("d")]}})]) == []
    # The job of one SSVM and the in-flight record of the other: two of zone-1's, where one is allowed.
    assert violations([(one_each, {"zone-1": {"inFlight": [flight("b")]}})]) == ["budget"]


def test_the_monitor_sees_two_actions_on_one_ssvm() -> None:
    vms = [vm("a", "zone-1")]
    two_jobs = state(vms, [job("1", "rebootSystemVm", "a"), job("2", "stopSystemVm", "a")])
    assert violations([(two_jobs, {})]) == ["overlap"]
    assert violations([(state(vms, []), {"zone-2": {"inFlight": [flight("a"), flight("a", "Reboot")]}})]) == [
        "overlap"
    ]


def test_the_monitor_sees_a_destroy_repeated_unless_the_first_failed() -> None:
    vms = [vm("a", "zone-1")]
    retried = [job("1", "destroySystemVm", "a", "FAILED"), job("2", "destroySystemVm", "a", "SUCCEEDED")]
    assert violations([(state(vms, retried), {})]) == []
    repeated = [job("1", "destroySystemVm", "a", "SUCCEEDED"), job("2", "destroySystemVm", "a", "FAILED")]
    assert violations([(state(vms, repeated), {})]) == ["destroy"]


def test_the_monitor_sees_anything_done_in_observe_or_paused_zones() -> None:
    observe, paused = vm("a", "zone-3"), vm("b", "zone-4")
    assert violations([(state([observe, paused], [job("1", "startSystemVm", "a")]), {})]) == ["hands-off"]
    assert violations([(state([observe, paused], [job("1", "destroySystemVm", "b", "FAILED")]), {})]) == [
        "hands-off"
    ]
    before = state([observe], [])
    after = state([observe], [])
    after["zones"][2]["details"] = {"enable.secstorage.vm": "false"}
    assert violations([(before, {}), (after, {})]) == ["hands-off"]


def test_the_monitor_sees_two_zones_rolling_an_upgrade_at_once() -> None:
    vms = [vm("a", "zone-1"), vm("c", "zone-2")]
    quiet = state(vms, [])
    one = {"zone-1": {"inFlight": [flight("a", "UpgradeRecreate")]}}
    assert violations([(quiet, one)]) == []
    both = {**one, "zone-2": {"inFlight": [flight("c", "UpgradePatch")]}}
    assert violations([(quiet, both)]) == ["zones"]


def test_the_monitor_sees_an_ssvm_destroyed_right_after_cloudstack_recreated_it() -> None:
    """The surplus loop: CloudStack recreates what the operator gave up, and it is given up again."""

    def serving(vm_id: str, created: str) -> dict[str, Any]:
        return {**vm(vm_id, "zone-1"), "state": "Running", "agent_state": "Up", "created": created}

    def destroy(job_id: str, vm_id: str, at: str) -> dict[str, Any]:
        return {**job(job_id, "destroySystemVm", vm_id, "SUCCEEDED"), "created": at}

    first = destroy("1", "a", "2025-01-01T00:00:00+0000")
    given_up = {**vm("a", "zone-1"), "state": "Expunging"}
    recreated = [given_up, serving("b", "2025-01-01T00:00:01+0000")]
    again = [first, destroy("2", "b", "2025-01-01T00:00:02+0000")]
    assert violations([(state(recreated, [first]), {}), (state(recreated, again), {})]) == ["churn"]
    later = [first, destroy("2", "b", "2025-01-01T00:05:00+0000")]
    assert violations([(state(recreated, [first]), {}), (state(recreated, later), {})]) == []
