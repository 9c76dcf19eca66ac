"""What `kubectl describe ssvmpool` shows: conditions computed from a plan, and the status rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ssvm_operator.act.cycle import Backoff
from ssvm_operator.act.outcome import Outcome, Result
from ssvm_operator.kube.conditions import Condition, render
from ssvm_operator.kube.pool_status import (
    in_flight_from_status,
    memory_from_status,
    pool_conditions,
    reboots_sent,
    render_in_flight,
    render_recent,
    render_ssvms,
)
from ssvm_operator.model.snapshot import Inventory, SystemVm, Zone
from ssvm_operator.model.spec import PoolSpec
from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.types import ActionKind, InFlight, Plan, PoolContext

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ZONE = Zone("z1", "zone-1")


def plan_for(*vms: SystemVm, **spec: object) -> tuple[PoolSpec, Plan]:
    pool = PoolSpec.parse({"endpointRef": {"name": "e"}, "zone": "zone-1", **spec})
    inventory = Inventory(observed_at=NOW, zones=(ZONE,), ssvms=vms)
    return pool, plan_pool(PoolContext(pool, inventory, NOW))


def by_type(conditions: list[Condition]) -> dict[str, Condition]:
    return {c.type: c for c in conditions}


def test_a_healthy_zone_is_ready_and_says_how_many_ssvms_serve() -> None:
    spec, plan = plan_for(SystemVm("1", "s-1-VM", "z1", "Running", "Up"))
    conditions = by_type(pool_conditions(spec, plan, (), (), Backoff()))
    assert conditions["Ready"].status is True
    assert conditions["Ready"].message.startswith("1 of 1 SSVMs ready")
    assert conditions["Stalled"].status is False and conditions["Reconciling"].status is False


def test_an_unknown_zone_stalls_the_pool_and_names_the_zones_that_exist() -> None:
    pool = PoolSpec.parse({"endpointRef": {"name": "e"}, "zone": "zone-9"})
    plan = plan_pool(PoolContext(pool, Inventory(observed_at=NOW, zones=(ZONE,)), NOW))
    conditions = by_type(pool_conditions(pool, plan, (), (), Backoff()))
    assert conditions["Stalled"].status is True and conditions["Stalled"].reason == "ZoneNotFound"
    assert "zone-1" in conditions["Stalled"].message
    assert conditions["Ready"].status is False


def test_a_running_job_keeps_the_pool_reconciling() -> None:
    spec, plan = plan_for(SystemVm("1", "s-1-VM", "z1", "Running", "Disconnected"))
    flight = InFlight(ActionKind.REBOOT, "1", "s-1-VM", "job-1", NOW)
    conditions = by_type(pool_conditions(spec, plan, (flight,), (), Backoff()))
    assert conditions["Reconciling"].status is True and "Reboot s-1-VM" in conditions["Reconciling"].message
    assert conditions["Ready"].status is False


def test_a_permanently_refused_action_stalls_with_cloudstacks_words() -> None:
    spec, plan = plan_for(SystemVm("1", "s-1-VM", "z1", "Running", "Up"))
    refused = Outcome(
        ActionKind.REBOOT,
        Result.FAILED,
        "rebootSystemVm: no such VM (CloudStack error 431)",
        NOW,
        retryable=False,
    )
    conditions = by_type(pool_conditions(spec, plan, (), (refused,), Backoff()))
    assert conditions["Stalled"].reason == "ActionRejected" and "431" in conditions["Stalled"].message


def test_transition_time_moves_only_when_the_status_changes() -> None:
    first = render([Condition("Ready", True, "SSVMsReady", "ok")], None, 1, NOW)
    later = render([Condition("Ready", True, "SSVMsReady", "still ok")], first, 2, NOW + timedelta(minutes=5))
    flipped = render(
        [Condition("Ready", False, "SSVMUnhealthy", "down")], later, 2, NOW + timedelta(minutes=9)
    )
    assert later[0]["lastTransitionTime"] == first[0]["lastTransitionTime"]
    assert flipped[0]["lastTransitionTime"] != first[0]["lastTransitionTime"]
    assert later[0]["observedGeneration"] == 2


def test_in_flight_jobs_and_memory_survive_a_round_trip_through_status() -> None:
    flight = InFlight(ActionKind.CHANGE_OFFERING, "1", "s-1-VM", "job-7", NOW, step="stop")
    assert in_flight_from_status({"inFlight": render_in_flight([flight])}) == (flight,)
    _, plan = plan_for(SystemVm("1", "s-1-VM", "z1", "Running", "Disconnected"))
    rows = render_ssvms(plan.vms, plan.memory)
    assert rows[0]["name"] == "s-1-VM" and rows[0]["healthy"] is False
    assert memory_from_status({"ssvms": rows})["1"].unhealthy_since == NOW


def test_recent_actions_keep_the_last_ten() -> None:
    outcomes = [Outcome(ActionKind.REBOOT, Result.SUCCEEDED, f"#{i}", NOW, "1", "s-1-VM") for i in range(12)]
    rows = render_recent([], outcomes)
    assert len(rows) == 10 and rows[-1]["message"] == "#11"


def test_only_a_reboot_sent_to_an_agent_that_was_up_waits_for_it_to_leave_up() -> None:
    sent = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    to_up = Outcome(
        ActionKind.ROLLOUT_REBOOT, Result.STARTED, "job", sent, "vm-1", "s-1-VM", agent_state="Up"
    )
    to_away = Outcome(
        ActionKind.REBOOT, Result.STARTED, "job", sent, "vm-2", "s-2-VM", agent_state="Disconnected"
    )
    rows = render_recent([], [to_up, to_away])
    assert [r["agentState"] for r in rows] == ["Up", "Disconnected"]
    # s-2-VM's agent was already away: once it is back Up its reboot is over, whatever `disconnected` says.
    assert reboots_sent({"recentActions": rows}) == {"s-1-VM": sent}
    later = Outcome(ActionKind.REBOOT, Result.STARTED, "job", sent + timedelta(minutes=1), "vm-1", "s-1-VM")
    again = render_recent(rows, [replace(later, agent_state="Alert")])
    assert reboots_sent({"recentActions": again}) == {}


def test_a_reboot_that_was_skipped_or_only_finished_is_not_a_reboot_sent() -> None:
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    skipped = Outcome(ActionKind.REBOOT, Result.SKIPPED, "it is healthy again", at, "vm-1", "s-1-VM")
    finished = Outcome(ActionKind.REBOOT, Result.SUCCEEDED, "job done", at, "vm-2", "s-2-VM")
    assert reboots_sent({"recentActions": render_recent([], [skipped, finished])}) == {}
