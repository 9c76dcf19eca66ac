"""The safety contract, by example: every candidate action stays in the plan, and the ones that must not run
now say why in words a CloudStack admin understands."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from ssvm_operator.model.spec import Mode
from ssvm_operator.plan import plan_pool
from ssvm_operator.plan.types import ActionKind, InFlight, PoolContext
from tests.unit.plan_builders import (
    LARGE,
    NOW,
    ago,
    flight,
    inventory,
    kinds,
    plan,
    remediated,
    runnable,
    spec,
    ssvm,
    unhealthy_for,
    zone,
)

START, REBOOT, RECREATE = ActionKind.START, ActionKind.REBOOT, ActionKind.RECREATE
CHANGE, SURPLUS = ActionKind.CHANGE_OFFERING, ActionKind.DESTROY_SURPLUS
BROKEN = inventory(ssvm(1, agent="Disconnected"), ssvm(2, "Error", None), standby=2)
BROKEN_MEMORY = {1: unhealthy_for(412), 2: unhealthy_for(900)}


class TestPausedAndObserve:
    def test_a_paused_pool_plans_but_executes_nothing(self) -> None:
        result = plan(BROKEN, spec(replicas=2, paused=True), memory=BROKEN_MEMORY)
        assert kinds(result) == [(REBOOT, "s-1-VM"), (RECREATE, "s-2-VM")]
        assert result.runnable == ()
        assert result.actions[0].blocked == "pool is paused"

    def test_observe_mode_shows_what_enforce_would_do_and_executes_nothing(self) -> None:
        result = plan(BROKEN, spec(replicas=2, mode=Mode.OBSERVE), memory=BROKEN_MEMORY)
        assert result.runnable == ()
        assert [a.blocked for a in result.actions] == [
            "Observe mode: not executed",
            "Observe mode: not executed; 1 of 1 allowed disruptions in use (s-1-VM Reboot)",
        ]

    def test_a_paused_pool_in_observe_mode_says_it_is_paused(self) -> None:
        # Pausing is the stronger stop: it is what an admin must undo before anything runs.
        result = plan(BROKEN, spec(replicas=2, paused=True, mode=Mode.OBSERVE), memory=BROKEN_MEMORY)
        assert result.runnable == ()
        assert result.actions[0].blocked == "pool is paused"

    def test_a_paused_pool_also_toggles_no_zone(self) -> None:
        result = plan(inventory(zones=(zone(ssvm_enabled=False),)), spec(paused=True))
        assert [a.blocked for a in result.actions] == ["pool is paused"]


class TestDisruptionBudget:
    def test_remediation_runs_while_fewer_than_max_unavailable_are_disrupted(self) -> None:
        result = plan(BROKEN, spec(replicas=2, max_unavailable=2), memory=BROKEN_MEMORY)
        assert runnable(result) == [(REBOOT, "s-1-VM"), (RECREATE, "s-2-VM")]

    def test_an_action_in_flight_uses_the_budget(self) -> None:
        result = plan(
            inventory(ssvm(1), ssvm(2, agent="Disconnected"), standby=2),
            spec(replicas=2, offering=LARGE.name),
            memory={2: unhealthy_for(900)},
            in_flight=(flight(CHANGE, 1),),
        )
        assert kinds(result) == [(REBOOT, "s-2-VM")]
        assert (
            result.actions[0].blocked == "1 of 1 allowed disruptions in use (s-1-VM ChangeOffering in flight)"
        )

    def test_an_in_flight_recreate_of_an_ssvm_already_gone_still_uses_the_budget(self) -> None:
        result = plan(
            inventory(ssvm(2, agent="Disconnected"), standby=2),
            spec(replicas=2),
            memory={2: unhealthy_for(900)},
            in_flight=(flight(RECREATE, 1),),
        )
        assert result.actions[0].blocked == "1 of 1 allowed disruptions in use (s-1-VM Recreate in flight)"

    def test_max_unavailable_zero_blocks_every_ssvm_action(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2), zones=(zone(),), standby=2),
            spec(replicas=2, max_unavailable=0, offering=LARGE.name),
            memory={1: unhealthy_for(900)},
        )
        assert kinds(result) == [(REBOOT, "s-1-VM"), (CHANGE, "s-2-VM")]
        assert {a.blocked for a in result.actions} == {
            "health.maxUnavailable is 0: the operator disrupts no SSVM of this zone"
        }

    def test_with_more_in_flight_than_the_budget_no_repair_starts(self) -> None:
        # maxUnavailable lowered from 2 to 1 while two actions run: nothing more until they are done.
        result = plan(
            inventory(ssvm(1), ssvm(2), ssvm(3, agent="Down"), standby=3),
            spec(replicas=3, max_unavailable=1),
            memory={3: unhealthy_for(900)},
            in_flight=(flight(CHANGE, 1), flight(CHANGE, 2)),
        )
        assert kinds(result) == [(REBOOT, "s-3-VM")]
        assert result.runnable == ()

    def test_max_unavailable_zero_still_toggles_the_zone(self) -> None:
        result = plan(inventory(ssvm(1)), spec(replicas=0, max_unavailable=0))
        assert runnable(result) == [(ActionKind.DISABLE_ZONE, None)]

    def test_a_serving_ssvm_is_not_taken_down_while_another_is_unavailable(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2), standby=2),
            spec(replicas=2, offering=LARGE.name),
            memory={1: unhealthy_for(900)},
        )
        assert runnable(result) == [(REBOOT, "s-1-VM")]
        assert result.actions[1].blocked == (
            "1 of 1 allowed unavailable SSVMs in use (s-1-VM Reboot); a serving SSVM is not taken down now"
        )

    def test_an_ssvm_within_its_grace_counts_as_unavailable(self) -> None:
        # s-1-VM's agent is down but not yet for long enough to repair it: it is not serving all the same,
        # so changing s-2-VM's offering under maxUnavailable 1 would leave the zone with no SSVM serving.
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2), standby=2),
            spec(replicas=2, offering=LARGE.name),
            memory={1: unhealthy_for(10)},
        )
        assert kinds(result) == [(CHANGE, "s-2-VM")]
        assert result.runnable == ()
        assert result.actions[0].blocked == (
            "1 of 1 allowed unavailable SSVMs in use (s-1-VM converging); "
            "a serving SSVM is not taken down now"
        )

    def test_an_in_flight_recreate_of_an_ssvm_already_gone_is_counted_once(self) -> None:
        # s-1-VM's recreation is in flight and its row is gone; the budget of 2 has room for one more.
        result = plan(
            inventory(ssvm(2), standby=2),
            spec(replicas=2, offering=LARGE.name, max_unavailable=2),
            in_flight=(flight(RECREATE, 1),),
        )
        assert runnable(result) == [(CHANGE, "s-2-VM")]

    def test_a_missing_ssvm_counts_as_unavailable(self) -> None:
        result = plan(inventory(ssvm(1), standby=2), spec(replicas=2, offering=LARGE.name))
        assert result.actions[0].blocked == (
            "1 of 1 allowed unavailable SSVMs in use (1 SSVM(s) not created yet); "
            "a serving SSVM is not taken down now"
        )

    def test_missing_and_unavailable_ssvms_add_up(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2), standby=3),
            spec(replicas=3, offering=LARGE.name, max_unavailable=2),
            memory={1: unhealthy_for(10)},
        )
        assert kinds(result) == [(CHANGE, "s-2-VM")]
        assert result.actions[0].blocked == (
            "2 of 2 allowed unavailable SSVMs in use (s-1-VM converging, 1 SSVM(s) not created yet); "
            "a serving SSVM is not taken down now"
        )

    def test_with_a_wider_budget_repair_and_rollout_go_together(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2), standby=2),
            spec(replicas=2, offering=LARGE.name, max_unavailable=2),
            memory={1: unhealthy_for(900)},
        )
        assert runnable(result) == [(REBOOT, "s-1-VM"), (CHANGE, "s-2-VM")]


class TestConverging:
    def test_nothing_is_done_while_another_ssvm_of_the_zone_is_starting(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2, "Starting", None), standby=2),
            spec(replicas=2, max_unavailable=2),
            memory={1: unhealthy_for(900)},
        )
        assert result.actions[0].blocked == (
            "waiting for the zone to settle: s-2-VM is converging (VM Starting)"
        )

    def test_a_pending_cloudstack_job_blocks_the_zone(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2, job="4711"), standby=2),
            spec(replicas=2, max_unavailable=2),
            memory={1: unhealthy_for(900)},
        )
        assert result.actions[0].blocked == (
            "waiting for the zone to settle: s-2-VM has CloudStack job 4711 pending"
        )

    def test_an_ssvm_recovering_from_the_operators_reboot_blocks_the_zone(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), ssvm(2, agent="Disconnected"), standby=2),
            spec(replicas=2, max_unavailable=2),
            memory={1: unhealthy_for(900), 2: remediated(REBOOT, 100)},
        )
        assert result.actions[0].blocked == (
            "waiting for the zone to settle: s-2-VM was rebooted 100s ago; waiting up to 600s for it to "
            "recover (agent Disconnected)"
        )

    def test_zone_toggles_proceed_while_ssvms_converge(self) -> None:
        result = plan(inventory(ssvm(1, "Starting", None)), spec(replicas=0))
        assert runnable(result) == [(ActionKind.DISABLE_ZONE, None)]


class TestOneActionPerSsvm:
    def test_an_ssvm_with_an_action_in_flight_gets_no_new_one(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down")),
            memory={1: unhealthy_for(9000)},
            in_flight=(flight(START, 1, started_ago=5000),),
        )
        assert result.actions == ()

    def test_a_surplus_ssvm_is_destroyed_not_also_repaired(self) -> None:
        result = plan(
            inventory(ssvm(1), ssvm(2, agent="Down")),
            spec(max_unavailable=2),
            memory={2: unhealthy_for(900)},
        )
        assert kinds(result) == [(SURPLUS, "s-2-VM")]

    def test_a_surplus_ssvm_gets_no_offering_change_as_well(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), ssvm(3)), spec(offering=LARGE.name, max_unavailable=3))
        targets = [a.vm_name for a in result.actions]
        assert len(targets) == len(set(targets)), kinds(result)
        assert sorted(kinds(result)) == [(CHANGE, "s-1-VM"), (SURPLUS, "s-2-VM"), (SURPLUS, "s-3-VM")]

    def test_running_the_plan_again_with_its_actions_in_flight_plans_nothing_new(self) -> None:
        first = plan(BROKEN, spec(replicas=2, max_unavailable=2), memory=BROKEN_MEMORY)
        in_flight = tuple(
            InFlight(a.kind, a.vm_id, a.vm_name, f"job-{i}", NOW) for i, a in enumerate(first.runnable)
        )
        again = plan_pool(
            PoolContext(
                spec=spec(replicas=2, max_unavailable=2),
                inventory=BROKEN,
                now=NOW,
                in_flight=in_flight,
                memory=first.memory,
            )
        )
        assert again.actions == ()


class TestEndpointAndBackoff:
    def test_an_open_circuit_breaker_blocks_remediation(self) -> None:
        result = plan(BROKEN, spec(replicas=2), memory=BROKEN_MEMORY, endpoint_tripped=True)
        assert result.runnable == ()
        assert result.actions[0].blocked == (
            "endpoint circuit breaker open: CloudStack calls to this endpoint keep failing"
        )

    def test_a_backoff_blocks_until_its_time_and_says_when(self) -> None:
        until = NOW.replace(minute=2)
        result = plan(BROKEN, spec(replicas=2), memory=BROKEN_MEMORY, backoff_until=until)
        assert result.actions[0].blocked == (
            "backing off after failed actions until 2025-10-30T12:02:00+00:00 (121s from now)"
        )

    def test_a_backoff_blocks_to_its_last_fraction_of_a_second(self) -> None:
        until = NOW + timedelta(seconds=0.5)
        result = plan(BROKEN, spec(replicas=2), memory=BROKEN_MEMORY, backoff_until=until)
        assert result.runnable == ()

    def test_the_seconds_left_are_rounded_up(self) -> None:
        until = NOW + timedelta(seconds=61.5)
        result = plan(BROKEN, spec(replicas=2), memory=BROKEN_MEMORY, backoff_until=until)
        assert (result.actions[0].blocked or "").endswith("(62s from now)")

    def test_a_backoff_ending_now_blocks_nothing(self) -> None:
        result = plan(BROKEN, spec(replicas=2), memory=BROKEN_MEMORY, backoff_until=NOW)
        assert runnable(result) == [(REBOOT, "s-1-VM")]

    def test_a_backoff_in_the_past_blocks_nothing(self) -> None:
        result = plan(BROKEN, spec(replicas=2), memory=BROKEN_MEMORY, backoff_until=ago(1))
        assert runnable(result) == [(REBOOT, "s-1-VM")]


class TestDeterminism:
    def test_the_plan_does_not_depend_on_the_order_cloudstack_lists_things_in(self) -> None:
        vms = [ssvm(n, agent="Down" if n % 2 else "Up") for n in (3, 12, 7, 1, 20)]
        memory = {f"vm-{n}": unhealthy_for(900) for n in (3, 7, 1)}
        in_flight = (flight(REBOOT, 12), flight(ActionKind.ENABLE_ZONE, None))
        pool = spec(replicas=2, max_unavailable=3, offering=LARGE.name)
        plans = set()
        rng = random.Random(7)
        for _ in range(5):
            rng.shuffle(vms)
            shuffled = list(in_flight)
            rng.shuffle(shuffled)
            ctx = PoolContext(
                spec=pool, inventory=inventory(*vms), now=NOW, in_flight=tuple(shuffled), memory=memory
            )
            plans.add(replace(plan_pool(ctx), vms=()))
        assert len(plans) == 1
