"""The standby values in force: read at each management server's start, not what the database holds now."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ssvm_operator.cloud.standby_history import StandbyHistory
from ssvm_operator.model.config import ManagementServer
from ssvm_operator.model.standby import StandbyInForce
from ssvm_operator.plan.types import ActionKind
from tests.unit.plan_builders import ago, inventory, kinds, plan, reasons, runnable, spec, ssvm

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def server(name: str, started: datetime, state: str = "Up") -> ManagementServer:
    return ManagementServer(id=name, name=name, state=state, last_start=started)


def values(standby: int, session_max: int = 50) -> dict[str, str | None]:
    return {"secstorage.capacity.standby": str(standby), "secstorage.session.max": str(session_max)}


def test_a_lowered_standby_stays_in_force_until_every_running_server_restarted() -> None:
    history = StandbyHistory()
    servers = [server("ms-1", T0), server("ms-2", T0)]
    assert history.observe(values(51), servers, T0 + timedelta(seconds=10)).in_force == 2
    lowered = history.observe(values(50), servers, T0 + timedelta(seconds=20))
    assert (lowered.in_force, lowered.database, lowered.waiting_for) == (2, 1, ("ms-1", "ms-2"))
    assert lowered.changed == ("secstorage.capacity.standby",)
    assert "secstorage.capacity.standby is 51 in force" in lowered.describe()
    one = [server("ms-1", T0 + timedelta(seconds=30)), server("ms-2", T0)]
    assert history.observe(values(50), one, T0 + timedelta(seconds=40)).waiting_for == ("ms-2",)
    both = [server("ms-1", T0 + timedelta(seconds=30)), server("ms-2", T0 + timedelta(seconds=31))]
    done = history.observe(values(50), both, T0 + timedelta(seconds=40))
    assert (done.in_force, done.restart_pending) == (1, False)


def test_a_server_listed_down_runs_no_scanner() -> None:
    history = StandbyHistory()
    history.observe(values(51), [], T0)
    servers = [server("ms-1", T0 + timedelta(seconds=30)), server("ms-old", T0 - timedelta(days=9), "Down")]
    lowered = history.observe(values(50), servers, T0 + timedelta(seconds=20))
    assert (lowered.in_force, lowered.restart_pending) == (1, False)


def test_a_raised_standby_is_not_counted_before_the_restart() -> None:
    history = StandbyHistory()
    servers = [server("ms-1", T0)]
    history.observe(values(10), servers, T0 + timedelta(seconds=1))
    raised = history.observe(values(51), servers, T0 + timedelta(seconds=2))
    assert (raised.in_force, raised.database) == (1, 2)


def test_a_server_started_between_two_readings_may_have_read_either_pair() -> None:
    """The operator reads every poll: a change seen late still counts from the reading before it."""
    history = StandbyHistory()
    history.observe(values(10), [], T0)
    started = T0 + timedelta(seconds=5)
    seen_late = history.observe(values(51), [server("ms-1", started)], T0 + timedelta(seconds=10))
    assert seen_late.in_force == 2, "ms-1 may have read 51 already"
    lowered = history.observe(values(50), [server("ms-1", started)], T0 + timedelta(seconds=20))
    assert (lowered.in_force, lowered.waiting_for) == (2, ("ms-1",))


# The planner: surplus with the values in force, the template processor, the loop guard.

SURPLUS = ActionKind.DESTROY_SURPLUS
PENDING = StandbyInForce(
    in_force=2,
    database=1,
    waiting_for=("ms-1",),
    changed=("secstorage.capacity.standby",),
    in_force_values={"secstorage.capacity.standby": "51", "secstorage.session.max": "50"},
)


def test_lowering_replicas_waits_for_the_restart_and_names_settings_and_servers() -> None:
    inv = replace(inventory(ssvm(1), ssvm(2), standby=2), standby=PENDING)
    result = plan(inv, spec(replicas=1))
    assert kinds(result) == [(SURPLUS, "s-2-VM")] and runnable(result) == []
    blocked = result.actions[0].blocked or ""
    assert "secstorage.capacity.standby is 51 in force" in blocked and "ms-1" in blocked
    assert "ms-1" in reasons(result)["StandbyRestartPending"]


def test_after_the_restart_the_surplus_goes() -> None:
    result = plan(inventory(ssvm(1), ssvm(2)), spec(replicas=1))
    assert runnable(result) == [(SURPLUS, "s-2-VM")]


def test_the_replacement_of_an_ssvm_given_up_is_given_up_last() -> None:
    """s-3 was created after the operator gave up s-2: it is the template processor CloudStack recreated."""
    inv = inventory(ssvm(1), ssvm(3, created_ago=60))
    result = plan(inv, spec(replicas=1), surplus_given_up=(ago(120),))
    assert runnable(result) == [(SURPLUS, "s-1-VM")]


def test_the_loop_guard_stops_giving_up_what_cloudstack_keeps_recreating() -> None:
    inv = inventory(ssvm(1), ssvm(4, created_ago=200), ssvm(5, created_ago=30))
    result = plan(inv, spec(replicas=1, max_unavailable=2), surplus_given_up=(ago(300), ago(100)))
    assert runnable(result) == [], "CloudStack answered each of the last two give-ups with a new SSVM"
    assert "recreated an SSVM in zone zone1" in reasons(result)["SurplusRecreated"]


def test_the_loop_guard_lifts_once_every_server_restarted_since() -> None:
    inv = inventory(ssvm(1), ssvm(4, created_ago=200), ssvm(5, created_ago=30))
    inv = replace(inv, management_servers=(server("ms-1", ago(10)), server("ms-0", ago(9999), "Down")))
    result = plan(inv, spec(replicas=1), surplus_given_up=(ago(300), ago(100)))
    assert "SurplusRecreated" not in reasons(result) and len(runnable(result)) == 1


def test_mid_restart_every_server_listed_down_keeps_the_old_values_in_force() -> None:
    history = StandbyHistory()
    history.observe(values(51), [server("ms-1", T0)], T0 + timedelta(seconds=10))
    down = [server("ms-1", T0, "Down")]
    lowered = history.observe(values(50), down, T0 + timedelta(seconds=20))
    assert (lowered.in_force, lowered.waiting_for) == (2, ("ms-1",))
