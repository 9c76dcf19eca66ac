"""The remediation ladder: start, reboot, recreate; each rung only after CloudStack and the previous rung had
their chance, and recreation only where CloudStack will create the replacement."""

from __future__ import annotations

import pytest

from ssvm_operator.model.snapshot import Health, Zone
from ssvm_operator.model.spec import Mode, Remediation
from ssvm_operator.plan.types import ActionKind, VmMemory
from tests.unit.plan_builders import (
    NOW,
    ago,
    flight,
    inventory,
    kinds,
    only,
    plan,
    reasons,
    remediated,
    runnable,
    spec,
    ssvm,
    unhealthy_for,
    zone,
)

START, REBOOT, RECREATE = ActionKind.START, ActionKind.REBOOT, ActionKind.RECREATE


class TestStoppedSsvm:
    def test_waits_one_scan_for_cloudstack_to_restart_it(self) -> None:
        result = plan(inventory(ssvm(1, "Stopped", None)), memory={1: unhealthy_for(20)})
        assert result.actions == ()
        assert result.vms[0].health is Health.CONVERGING

    def test_is_started_once_a_whole_scan_has_passed(self) -> None:
        assert kinds(plan(inventory(ssvm(1, "Stopped", None)), memory={1: unhealthy_for(30)})) == [
            (START, "s-1-VM")
        ]

    def test_a_shutdown_vm_is_started_like_a_stopped_one_not_recreated(self) -> None:
        # Some hypervisors report a guest that powered itself off as Shutdown; CloudStack treats it as
        # Stopped, and a start brings it back.
        result = plan(inventory(ssvm(1, "Shutdown", None)), memory={1: unhealthy_for(45)})
        assert kinds(result) == [(START, "s-1-VM")]

    def test_is_started_when_cloudstack_did_not_within_one_scan(self) -> None:
        action = only(plan(inventory(ssvm(1, "Stopped", "Disconnected")), memory={1: unhealthy_for(45)}))
        assert (action.kind, action.vm_id, action.blocked) == (START, "vm-1", None)
        assert action.reason == (
            "VM Stopped for 45s and CloudStack's scanner did not restart it within one scan (30s)"
        )

    def test_the_wait_follows_the_scan_interval_cloudstack_uses(self) -> None:
        stopped = inventory(ssvm(1, "Stopped", None))
        assert plan(stopped, memory={1: unhealthy_for(45)}, scan_interval_seconds=60).actions == ()
        assert kinds(plan(stopped, memory={1: unhealthy_for(61)}, scan_interval_seconds=60)) == [
            (START, "s-1-VM")
        ]


class TestAgentLost:
    @pytest.mark.parametrize("agent", ["Disconnected", "Alert", "Down", "Error"])
    def test_a_running_ssvm_whose_agent_is_lost_past_grace_is_rebooted(self, agent: str) -> None:
        action = only(plan(inventory(ssvm(1, agent=agent)), memory={1: unhealthy_for(412)}))
        assert (action.kind, action.blocked) == (REBOOT, None)
        assert action.reason == f"agent {agent} for 412s (grace 300s)"

    def test_within_grace_nothing_is_done(self) -> None:
        assert plan(inventory(ssvm(1, agent="Alert")), memory={1: unhealthy_for(299)}).actions == ()

    def test_the_grace_ends_at_exactly_unhealthy_after_seconds(self) -> None:
        assert kinds(plan(inventory(ssvm(1, agent="Down")), memory={1: unhealthy_for(300)})) == [
            (REBOOT, "s-1-VM")
        ]

    def test_the_grace_is_the_pools_unhealthy_after_seconds(self) -> None:
        result = plan(inventory(ssvm(1, agent="Down")), spec(grace=60), memory={1: unhealthy_for(61)})
        assert kinds(result) == [(REBOOT, "s-1-VM")]


class TestBrokenVm:
    @pytest.mark.parametrize("state", ["Error", "Unknown"])
    def test_is_recreated_past_grace_because_a_start_cannot_fix_it(self, state: str) -> None:
        action = only(plan(inventory(ssvm(1, state, None)), memory={1: unhealthy_for(301)}))
        assert (action.kind, action.blocked) == (RECREATE, None)
        assert action.reason.startswith(f"VM {state} for 301s (grace 300s)")
        assert "CloudStack's scanner creates a replacement" in action.reason

    def test_within_grace_nothing_is_done(self) -> None:
        assert plan(inventory(ssvm(1, "Error", None)), memory={1: unhealthy_for(30)}).actions == ()

    def test_the_reason_names_the_vm_state_even_when_an_agent_state_is_still_listed(self) -> None:
        action = only(plan(inventory(ssvm(1, "Error", "Disconnected")), memory={1: unhealthy_for(301)}))
        assert action.reason.startswith("VM Error for 301s (grace 300s)")


class TestClimbing:
    def test_after_a_start_the_ssvm_gets_the_reboot_timeout_to_come_up(self) -> None:
        result = plan(inventory(ssvm(1, agent="Disconnected")), memory={1: remediated(START, 300)})
        assert result.actions == ()
        assert result.vms[0].health is Health.CONVERGING

    def test_started_but_agent_still_lost_after_the_timeout_is_rebooted(self) -> None:
        action = only(plan(inventory(ssvm(1, agent="Disconnected")), memory={1: remediated(START, 601)}))
        assert action.kind is REBOOT
        assert action.reason == (
            "started 601s ago and still unhealthy (agent Disconnected) after the 600s reboot timeout"
        )

    def test_started_but_still_stopped_after_the_timeout_is_recreated(self) -> None:
        result = plan(inventory(ssvm(1, "Stopped", None)), memory={1: remediated(START, 700)})
        assert kinds(result) == [(RECREATE, "s-1-VM")]

    def test_rebooted_and_still_unhealthy_after_the_timeout_is_recreated(self) -> None:
        action = only(plan(inventory(ssvm(1, agent="Alert")), memory={1: remediated(REBOOT, 650)}))
        assert action.kind is RECREATE
        assert action.reason.startswith("rebooted 650s ago and still unhealthy (agent Alert)")

    def test_an_ssvm_found_stopped_after_a_reboot_is_started_without_waiting_out_the_reboot(self) -> None:
        """A reboot keeps the VM Running; one seen Stopped before it was seen healthy again was stopped by
        something else, and nothing brings it back by waiting (the agent was lost, rebooted, then the VM
        stopped, all between two polls)."""
        result = plan(inventory(ssvm(1, "Stopped", None)), memory={1: remediated(REBOOT, 2)})
        action = only(result)
        assert (action.kind, action.blocked) == (START, None)
        assert action.reason.startswith("rebooted 2s ago, but a reboot leaves the VM running: VM Stopped")

    def test_an_ssvm_broken_after_a_reboot_is_recreated_without_waiting_out_the_reboot(self) -> None:
        action = only(plan(inventory(ssvm(1, "Error", None)), memory={1: remediated(REBOOT, 2)}))
        assert (action.kind, action.blocked) == (RECREATE, None)

    def test_an_ssvm_found_stopped_again_after_its_start_still_waits_then_is_recreated(self) -> None:
        """Not a start loop: a start that left the VM Stopped gets the timeout, then the next rung."""
        assert plan(inventory(ssvm(1, "Stopped", None)), memory={1: remediated(START, 2)}).actions == ()

    def test_the_next_rung_comes_at_exactly_the_reboot_timeout(self) -> None:
        result = plan(inventory(ssvm(1, agent="Alert")), memory={1: remediated(REBOOT, 600)})
        assert kinds(result) == [(RECREATE, "s-1-VM")]

    def test_the_reboot_timeout_is_the_pools(self) -> None:
        memory = {1: remediated(REBOOT, 130)}
        assert plan(inventory(ssvm(1, agent="Alert")), spec(reboot_timeout=120), memory=memory).actions
        assert not plan(inventory(ssvm(1, agent="Alert")), spec(reboot_timeout=180), memory=memory).actions

    def test_a_reboot_recorded_ahead_of_this_clock_reads_as_just_now(self) -> None:
        """Another operator replica's clock may run a few seconds ahead; no "-5s ago" in the reason."""
        result = plan(
            inventory(ssvm(1, agent="Alert"), ssvm(2, "Stopped", None), standby=2),
            spec(replicas=2),
            memory={1: remediated(REBOOT, -5), 2: unhealthy_for(45)},
        )
        assert only(result).blocked == (
            "waiting for the zone to settle: s-1-VM was rebooted 0s ago; "
            "waiting up to 600s for it to recover (agent Alert)"
        )

    def test_only_ladder_rungs_count_as_remediation_history(self) -> None:
        memory = {1: remediated(ActionKind.CHANGE_OFFERING, 700, unhealthy_seconds=400)}
        assert kinds(plan(inventory(ssvm(1, agent="Down")), memory=memory)) == [(REBOOT, "s-1-VM")]

    def test_a_recovered_ssvm_starts_again_from_the_bottom_rung(self) -> None:
        recovered = plan(inventory(ssvm(1)), memory={1: remediated(REBOOT, 100)})
        dropped_again = plan(
            inventory(ssvm(1, agent="Disconnected")),
            memory={1: recovered.memory["vm-1"]},
        )
        assert dropped_again.actions == ()  # grace again, not straight to recreation
        assert dropped_again.memory["vm-1"] == VmMemory(unhealthy_since=NOW)


class TestMemory:
    def test_a_remediation_the_plan_runs_is_remembered_with_its_time(self) -> None:
        result = plan(inventory(ssvm(1, agent="Down")), memory={1: unhealthy_for(400)})
        assert result.memory["vm-1"] == VmMemory(
            unhealthy_since=ago(400), last_remediation=REBOOT, last_remediation_at=NOW
        )

    def test_a_remediation_that_does_not_run_is_not_remembered(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down")), spec(mode=Mode.OBSERVE), memory={1: unhealthy_for(400)}
        )
        assert result.memory["vm-1"] == unhealthy_for(400)

    def test_an_ssvm_healthy_again_forgets_its_remediation_even_while_the_job_is_in_flight(self) -> None:
        result = plan(inventory(ssvm(1)), in_flight=(flight(REBOOT, 1),))
        assert result.memory.get("vm-1", VmMemory()) == VmMemory()

    def test_of_a_remembered_and_an_in_flight_remediation_the_later_one_counts(self) -> None:
        earlier_in_flight = plan(
            inventory(ssvm(1, agent="Alert")),
            memory={1: remediated(REBOOT, 100)},
            in_flight=(flight(START, 1, started_ago=200),),
        )
        assert earlier_in_flight.memory["vm-1"].last_remediation_at == ago(100)
        later_in_flight = plan(
            inventory(ssvm(1, agent="Alert")),
            memory={1: remediated(START, 200)},
            in_flight=(flight(REBOOT, 1, started_ago=100),),
        )
        assert later_in_flight.memory["vm-1"].last_remediation_at == ago(100)

    def test_the_later_remediation_counts_even_a_fraction_of_a_second_apart(self) -> None:
        for remembered, in_flight in (
            (remediated(REBOOT, 100), flight(START, 1, started_ago=100.5)),
            (remediated(START, 100.5), flight(REBOOT, 1, started_ago=100)),
        ):
            result = plan(inventory(ssvm(1, agent="Alert")), memory={1: remembered}, in_flight=(in_flight,))
            memory = result.memory["vm-1"]
            assert (memory.last_remediation, memory.last_remediation_at) == (REBOOT, ago(100))

    def test_a_start_in_flight_is_remembered_while_the_ssvm_boots(self) -> None:
        result = plan(
            inventory(ssvm(1, "Starting", None)),
            memory={1: unhealthy_for(100)},
            in_flight=(flight(START, 1, started_ago=20),),
        )
        assert result.memory["vm-1"] == remediated(START, 20, unhealthy_seconds=100)

    def test_an_in_flight_remediation_is_remembered_from_when_it_started(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down")),
            memory={1: unhealthy_for(400)},
            in_flight=(flight(REBOOT, 1, started_ago=40),),
        )
        assert result.memory["vm-1"].last_remediation is REBOOT
        assert result.memory["vm-1"].last_remediation_at == ago(40)
        assert result.actions == ()


class TestPolicy:
    def test_reboot_policy_starts_and_reboots(self) -> None:
        result = plan(
            inventory(ssvm(1, "Stopped", None), ssvm(2, agent="Down"), standby=2),
            spec(replicas=2, remediation=Remediation.REBOOT, max_unavailable=2),
            memory={1: unhealthy_for(60), 2: unhealthy_for(400)},
        )
        assert runnable(result) == [(START, "s-1-VM"), (REBOOT, "s-2-VM")]

    def test_reboot_policy_reports_but_does_not_recreate(self) -> None:
        action = only(
            plan(
                inventory(ssvm(1, agent="Down")),
                spec(remediation=Remediation.REBOOT),
                memory={1: remediated(REBOOT, 700)},
            )
        )
        assert action.kind is RECREATE
        assert action.blocked == "health.remediation is Reboot: Recreate needs remediation Recreate"

    def test_none_policy_only_reports(self) -> None:
        result = plan(
            inventory(ssvm(1, "Error", None)),
            spec(remediation=Remediation.NONE),
            memory={1: unhealthy_for(900)},
        )
        assert only(result).blocked == "health.remediation is None: the operator only reports unhealthy SSVMs"
        assert "SSVMUnhealthy" in reasons(result)


class TestRecreateOnlyWhereCloudStackRecreates:
    @pytest.mark.parametrize(
        ("the_zone", "why"),
        [
            (zone(allocation_state="Disabled"), "its allocation state is Disabled"),
            (zone(zone_type="Edge"), "it is an Edge zone"),
            (zone(ssvm_enabled=False), "its detail enable.secstorage.vm is false"),
        ],
    )
    def test_no_recreate_in_a_zone_cloudstack_does_not_scan(self, the_zone: Zone, why: str) -> None:
        result = plan(
            inventory(ssvm(1, "Error", None), zones=(the_zone,)),
            memory={1: unhealthy_for(900)},
        )
        assert RECREATE not in [a.kind for a in result.actions]
        assert why in reasons(result)["CannotRecreate"]
        assert "s-1-VM needs recreating" in reasons(result)["CannotRecreate"]

    def test_start_and_reboot_still_happen_where_cloudstack_does_not_scan(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down"), zones=(zone(allocation_state="Disabled"),)),
            memory={1: unhealthy_for(400)},
        )
        assert runnable(result) == [(REBOOT, "s-1-VM")]

    def test_with_replicas_zero_unhealthy_ssvms_are_not_repaired(self) -> None:
        result = plan(
            inventory(ssvm(1, "Stopped", None), zones=(zone(ssvm_enabled=True),)),
            spec(replicas=0),
            memory={1: unhealthy_for(900)},
        )
        assert [a.kind for a in result.actions] == [ActionKind.DISABLE_ZONE]
