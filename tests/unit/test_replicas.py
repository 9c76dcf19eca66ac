"""Replicas: the operator never creates SSVMs (CloudStack's scanner does), toggles the zone detail for 0,
reports >1 honestly, and destroys only surplus SSVMs that CloudStack would not recreate."""

from __future__ import annotations

from ssvm_operator.plan.types import TRAITS, ActionKind, Severity
from tests.unit.plan_builders import (
    flight,
    inventory,
    kinds,
    only,
    plan,
    reasons,
    runnable,
    spec,
    ssvm,
    unhealthy_for,
    zone,
)

DISABLE, ENABLE, SURPLUS = ActionKind.DISABLE_ZONE, ActionKind.ENABLE_ZONE, ActionKind.DESTROY_SURPLUS
DISABLED = (zone(ssvm_enabled=False),)


class TestReplicasZero:
    def test_first_the_zone_detail_is_turned_off_and_nothing_destroyed(self) -> None:
        action = only(plan(inventory(ssvm(1), ssvm(2)), spec(replicas=0)))
        assert (action.kind, action.vm_id, action.blocked) == (DISABLE, None, None)
        assert "enable.secstorage.vm=false" in action.reason

    def test_once_off_the_remaining_ssvms_are_destroyed_newest_first_within_budget(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), zones=DISABLED), spec(replicas=0))
        assert kinds(result) == [(SURPLUS, "s-2-VM"), (SURPLUS, "s-1-VM")]
        assert runnable(result) == [(SURPLUS, "s-2-VM")]
        assert result.actions[0].reason == (
            "replicas is 0 and SSVMs are disabled in zone zone1: CloudStack will not recreate it"
        )

    def test_a_wider_budget_destroys_more_at_once(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), zones=DISABLED), spec(replicas=0, max_unavailable=2))
        assert runnable(result) == [(SURPLUS, "s-2-VM"), (SURPLUS, "s-1-VM")]

    def test_an_unhealthy_remaining_ssvm_is_destroyed_too(self) -> None:
        result = plan(
            inventory(ssvm(1, "Stopped", None), zones=DISABLED),
            spec(replicas=0),
            memory={1: unhealthy_for(60)},
        )
        assert runnable(result) == [(SURPLUS, "s-1-VM")]

    def test_an_empty_disabled_zone_needs_nothing(self) -> None:
        result = plan(inventory(zones=DISABLED), spec(replicas=0))
        assert result.actions == () and not result.converging and result.findings == ()

    def test_a_disable_in_flight_is_not_planned_again(self) -> None:
        result = plan(inventory(ssvm(1)), spec(replicas=0), in_flight=(flight(DISABLE, None),))
        assert result.actions == ()


class TestEnablingAgain:
    def test_a_zone_with_ssvms_off_is_turned_back_on(self) -> None:
        action = only(plan(inventory(zones=DISABLED), spec(replicas=1)))
        assert (action.kind, action.blocked) == (ENABLE, None)
        assert action.reason.startswith("replicas is 1 but zone detail enable.secstorage.vm is false")

    def test_a_zone_with_ssvms_off_is_turned_back_on_for_several_replicas_too(self) -> None:
        action = only(plan(inventory(zones=DISABLED, standby=2), spec(replicas=2)))
        assert (action.kind, action.blocked) == (ENABLE, None)
        assert action.reason.startswith("replicas is 2 but zone detail enable.secstorage.vm is false")

    def test_an_enable_in_flight_is_not_planned_again(self) -> None:
        assert plan(inventory(zones=DISABLED), in_flight=(flight(ENABLE, None),)).actions == ()

    def test_the_opposite_toggle_waits_for_the_one_in_flight(self) -> None:
        action = only(plan(inventory(zones=DISABLED), in_flight=(flight(DISABLE, None),)))
        assert action.kind is ENABLE
        assert action.blocked == "waiting for the DisableZone in flight to finish"

    def test_a_disable_waits_for_an_enable_in_flight(self) -> None:
        action = only(plan(inventory(ssvm(1)), spec(replicas=0), in_flight=(flight(ENABLE, None),)))
        assert action.kind is DISABLE
        assert action.blocked == "waiting for the EnableZone in flight to finish"


class TestStandbyCapacity:
    def test_more_than_one_replica_needs_the_global_standby_settings(self) -> None:
        result = plan(inventory(ssvm(1)), spec(replicas=3))
        finding = next(f for f in result.findings if f.reason == "StandbyCapacityMissing")
        assert finding.severity is Severity.DEGRADED
        for needed in (
            "replicas is 3",
            "keeps 1 SSVM(s)",
            "secstorage.capacity.standby",
            "secstorage.session.max",
            "SSVMSettings",
            "restart of every management server",
        ):
            assert needed in finding.message
        assert result.actions == ()

    def test_two_replicas_already_need_the_global_standby_settings(self) -> None:
        result = plan(inventory(ssvm(1)), spec(replicas=2))
        assert "StandbyCapacityMissing" in reasons(result)

    def test_one_replica_needs_no_standby_even_with_the_standby_setting_at_zero(self) -> None:
        # CloudStack keeps one SSVM per enabled zone whatever secstorage.capacity.standby says.
        result = plan(inventory(ssvm(1), standby=0), spec(replicas=1))
        assert result.findings == () and result.actions == ()

    def test_standby_settings_that_keep_enough_satisfy_the_pool(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), standby=2), spec(replicas=2))
        assert result.findings == () and result.actions == ()

    def test_a_global_standby_above_replicas_is_explained_not_fought(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), ssvm(3), standby=3), spec(replicas=1))
        finding = next(f for f in result.findings if f.reason == "StandbyAboveReplicas")
        assert finding.severity is Severity.INFO
        assert "keeps 3 SSVMs although replicas is 1" in finding.message
        assert result.actions == ()

    def test_a_global_standby_above_several_replicas_is_explained_too(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), ssvm(3), standby=3), spec(replicas=2))
        assert [f.reason for f in result.findings] == ["StandbyAboveReplicas"]
        assert result.actions == ()


class TestSurplus:
    def test_ssvms_above_what_is_kept_are_destroyed_newest_first(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), ssvm(3)), spec(replicas=1))
        assert kinds(result) == [(SURPLUS, "s-3-VM"), (SURPLUS, "s-2-VM")]
        assert runnable(result) == [(SURPLUS, "s-3-VM")]
        assert result.actions[0].reason == (
            "zone zone1 has 3 SSVMs and keeps 1 (replicas 1, CloudStack's standby count 1); "
            "s-3-VM is the newest surplus one and CloudStack would not recreate it"
        )

    def test_newest_means_created_last_not_named_last(self) -> None:
        result = plan(inventory(ssvm(1, created_ago=100), ssvm(2, created_ago=9000)), spec(replicas=1))
        assert kinds(result) == [(SURPLUS, "s-1-VM")]

    def test_a_zone_short_of_ssvms_gives_none_up(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), standby=3), spec(replicas=3))
        assert SURPLUS not in [kind for kind, _ in kinds(result)]

    def test_the_floor_is_the_larger_of_replicas_and_what_cloudstack_keeps(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), ssvm(3), standby=2), spec(replicas=1))
        assert kinds(result) == [(SURPLUS, "s-3-VM")]

    def test_ssvms_already_leaving_are_not_counted(self) -> None:
        result = plan(
            inventory(ssvm(1), ssvm(2), ssvm(3)),
            spec(replicas=1),
            in_flight=(flight(SURPLUS, 3),),
        )
        assert kinds(result) == [(SURPLUS, "s-2-VM")]
        assert result.actions[0].blocked == (
            "1 of 1 allowed unavailable SSVMs in use (s-3-VM DestroySurplus in flight); "
            "a serving SSVM is not taken down now"
        )

    def test_an_ssvm_being_rollout_recreated_is_leaving_like_any_destroyed_one(self) -> None:
        # ROLLOUT_RECREATE destroys the SSVM as RECREATE does: it is not a surplus candidate's sibling.
        for kind in (ActionKind.RECREATE, ActionKind.ROLLOUT_RECREATE):
            result = plan(inventory(ssvm(1), ssvm(2)), spec(replicas=1), in_flight=(flight(kind, 2),))
            assert result.actions == (), kind

    def test_an_expunging_ssvm_is_not_counted(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2, "Expunging", None)), spec(replicas=1))
        assert result.actions == ()


class TestMissingSsvms:
    def test_an_empty_scanned_zone_waits_for_cloudstack_to_create_one(self) -> None:
        result = plan(inventory())
        assert result.actions == ()
        assert result.converging
        assert reasons(result)["WaitingForCloudStackScanner"] == (
            "zone zone1 has 0 of the 1 SSVM(s) CloudStack keeps there; waiting for CloudStack's scanner "
            "(every 30s) to create 1 (there is no API to create an SSVM)"
        )

    def test_the_wait_counts_what_cloudstack_keeps_not_what_the_pool_asks(self) -> None:
        result = plan(inventory(ssvm(1), standby=2), spec(replicas=2))
        assert "has 1 of the 2 SSVM(s)" in reasons(result)["WaitingForCloudStackScanner"]

    def test_a_zone_with_more_than_cloudstack_keeps_awaits_nothing(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2)), spec(replicas=1))
        assert "WaitingForCloudStackScanner" not in reasons(result)

    def test_the_wait_names_how_many_cloudstack_still_creates(self) -> None:
        result = plan(inventory(ssvm(1), standby=3), spec(replicas=3))
        message = reasons(result)["WaitingForCloudStackScanner"]
        assert "has 1 of the 3 SSVM(s)" in message and "to create 2 " in message

    def test_the_wait_names_the_one_ssvm_still_missing(self) -> None:
        result = plan(inventory(ssvm(1), standby=2), spec(replicas=2))
        message = reasons(result)["WaitingForCloudStackScanner"]
        assert "has 1 of the 2 SSVM(s)" in message and "to create 1 " in message

    def test_cloudstack_keeps_one_ssvm_even_with_the_standby_setting_at_zero(self) -> None:
        result = plan(inventory(standby=0))
        assert "has 0 of the 1 SSVM(s)" in reasons(result)["WaitingForCloudStackScanner"]

    def test_an_ssvm_being_recreated_is_awaited(self) -> None:
        result = plan(inventory(ssvm(1, "Expunging", None)))
        assert "WaitingForCloudStackScanner" in reasons(result)

    def test_nothing_is_awaited_where_cloudstack_does_not_scan(self) -> None:
        result = plan(inventory(zones=(zone(allocation_state="Disabled"),)))
        assert "WaitingForCloudStackScanner" not in reasons(result)
        assert not result.converging


class TestReplacedSSVM:
    def test_a_failed_ssvm_that_cloudstack_already_replaced_is_the_one_given_up(self) -> None:
        # The scanner does not count an Error VM as active and starts a new one; the zone then holds two.
        result = plan(inventory(ssvm(1, "Error", None), ssvm(5)), spec(), memory={1: unhealthy_for(600)})
        assert kinds(result) == [(SURPLUS, "s-1-VM")]
        assert "an unhealthy surplus one" in result.actions[0].reason

    def test_the_replacement_still_booting_is_kept_over_the_failed_one_even_within_grace(self) -> None:
        for unhealthy in (unhealthy_for(600), unhealthy_for(1)):
            result = plan(
                inventory(ssvm(1, "Error", None), ssvm(5, "Starting", None)), spec(), memory={1: unhealthy}
            )
            assert kinds(result) == [(SURPLUS, "s-1-VM")]

    def test_a_serving_ssvm_is_given_up_before_one_still_booting(self) -> None:
        # The booting one is likely CloudStack's newest replacement; the plan shows the serving one, held
        # until the zone settles.
        result = plan(inventory(ssvm(1), ssvm(5, "Starting", None)), spec())
        assert kinds(result) == [(SURPLUS, "s-1-VM")]
        assert result.runnable == ()

    def test_a_failed_surplus_ssvm_is_given_up_at_once_even_within_its_grace(self) -> None:
        # Giving up a failed SSVM is a repair, not a disruption of a serving one: the budget's remediation
        # share applies, and the failed SSVM itself does not count against it.
        result = plan(inventory(ssvm(1, agent="Down"), ssvm(5)), spec(), memory={1: unhealthy_for(10)})
        assert runnable(result) == [(SURPLUS, "s-1-VM")]
        assert "s-1-VM is an unhealthy surplus one" in only(result).reason

    def test_a_failed_vm_is_given_up_before_a_running_replacement_whose_agent_is_late(self) -> None:
        # On a busy or badly networked cloud the replacement's agent may still not be Up after the grace;
        # it is unhealthy too, but the failed VM is the one CloudStack already gave up on.
        for agent in (None, "Connecting"):
            replacement = ssvm(5, "Running", agent, created_ago=600)
            result = plan(
                inventory(ssvm(1, "Error", None), replacement), spec(grace=60), memory={1: unhealthy_for(600)}
            )
            assert (SURPLUS, "s-1-VM") in kinds(result)
            removing = [name for kind, name in kinds(result) if TRAITS[kind].removes_vm]
            assert removing == ["s-1-VM"], f"the replacement is not given up: {kinds(result)}"
