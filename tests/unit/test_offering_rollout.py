"""The pool's service offering: resolved against CloudStack, rolled out to serving SSVMs one at a time."""

from __future__ import annotations

from ssvm_operator.model.snapshot import Health
from ssvm_operator.model.spec import Remediation
from ssvm_operator.plan.types import ActionKind, Severity
from tests.unit.plan_builders import (
    LARGE,
    STANDARD,
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
)

CHANGE = ActionKind.CHANGE_OFFERING
TWO = spec(replicas=2, offering=LARGE.name)


class TestResolution:
    def test_an_unknown_offering_stalls_and_lists_the_valid_ones(self) -> None:
        result = plan(inventory(ssvm(1)), spec(offering="Huge"))
        finding = next(f for f in result.findings if f.reason == "OfferingNotFound")
        assert finding.severity is Severity.STALLED
        assert finding.message == (
            "spec.serviceOffering: service offering 'Huge' does not exist on this CloudStack endpoint; "
            "system offerings for SSVMs: SSVM Large, System Offering For Secondary Storage VM"
        )
        assert result.actions == ()

    def test_an_offering_for_another_system_vm_type_stalls(self) -> None:
        result = plan(inventory(ssvm(1)), spec(offering="System Offering For Software Router"))
        message = reasons(result)["OfferingNotForSSVM"]
        assert "(for domainrouter) cannot run an SSVM" in message
        assert result.actions == ()

    def test_a_user_offering_stalls(self) -> None:
        result = plan(inventory(ssvm(1)), spec(offering="Small Instance"))
        assert "(not a system offering)" in reasons(result)["OfferingNotForSSVM"]

    def test_the_offering_may_be_named_by_id(self) -> None:
        action = only(plan(inventory(ssvm(1)), spec(offering=LARGE.id)))
        assert (action.kind, action.offering_id) == (CHANGE, LARGE.id)

    def test_ssvms_already_on_the_offering_need_nothing(self) -> None:
        result = plan(inventory(ssvm(1, offering=LARGE.id)), spec(offering=LARGE.name))
        assert result.actions == () and result.findings == ()


class TestRollout:
    def test_a_serving_ssvm_on_another_offering_is_changed(self) -> None:
        action = only(plan(inventory(ssvm(1)), spec(offering=LARGE.name)))
        assert (action.kind, action.vm_id, action.offering_id, action.blocked) == (
            CHANGE,
            "vm-1",
            LARGE.id,
            None,
        )
        assert action.reason == (
            f"runs offering {STANDARD.name!r}, the pool declares {LARGE.name!r} (applied by a stop and start)"
        )

    def test_one_ssvm_at_a_time_even_when_the_budget_allows_more(self) -> None:
        result = plan(
            inventory(ssvm(1), ssvm(2), standby=2), spec(replicas=2, offering=LARGE.name, max_unavailable=2)
        )
        assert kinds(result) == [(CHANGE, "s-1-VM"), (CHANGE, "s-2-VM")]
        assert runnable(result) == [(CHANGE, "s-1-VM")]
        assert result.actions[1].blocked == "offering changes go one SSVM at a time: s-1-VM goes first"

    def test_the_next_ssvm_waits_while_a_change_is_in_flight(self) -> None:
        result = plan(inventory(ssvm(1), ssvm(2), standby=2), TWO, in_flight=(flight(CHANGE, 1),))
        assert kinds(result) == [(CHANGE, "s-2-VM")]
        assert result.actions[0].blocked == "offering changes go one SSVM at a time: s-1-VM is changing now"

    def test_the_next_ssvm_follows_once_the_first_serves_on_the_new_offering(self) -> None:
        result = plan(inventory(ssvm(1, offering=LARGE.id), ssvm(2), standby=2), TWO)
        assert runnable(result) == [(CHANGE, "s-2-VM")]

    def test_an_unhealthy_ssvm_is_not_changed(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Disconnected")), spec(offering=LARGE.name), memory={1: unhealthy_for(10)}
        )
        assert result.actions == ()

    def test_no_change_while_another_ssvm_is_unavailable_and_the_budget_is_one(self) -> None:
        result = plan(
            inventory(ssvm(1, "Error", None), ssvm(2), standby=2),
            spec(replicas=2, offering=LARGE.name, remediation=Remediation.NONE),
            memory={1: unhealthy_for(900)},
        )
        change = next(a for a in result.actions if a.kind is CHANGE)
        assert change.blocked == (
            "1 of 1 allowed unavailable SSVMs in use (s-1-VM unhealthy); a serving SSVM is not taken down now"
        )

    def test_an_ssvm_cloudstack_recreated_gets_the_offering_again(self) -> None:
        """CloudStack creates replacements with the global secstorage.service.offering, not the pool's."""
        after_recreate = plan(inventory(ssvm(5, offering=STANDARD.id)), spec(offering=LARGE.name))
        assert runnable(after_recreate) == [(CHANGE, "s-5-VM")]

    def test_without_a_reported_offering_the_operator_says_it_cannot_check(self) -> None:
        result = plan(inventory(ssvm(1, offering=None)), spec(offering=LARGE.name))
        assert result.actions == ()
        finding = next(f for f in result.findings if f.reason == "OfferingNotReported")
        assert finding.severity is Severity.INFO
        assert "s-1-VM" in finding.message and "before 4.19" in finding.message

    def test_nothing_is_changed_in_a_zone_with_replicas_zero(self) -> None:
        result = plan(inventory(ssvm(1)), spec(replicas=0, offering=LARGE.name))
        assert CHANGE not in [a.kind for a in result.actions]

    def test_the_changed_ssvm_shows_healthy_until_it_stops(self) -> None:
        result = plan(inventory(ssvm(1)), spec(offering=LARGE.name))
        assert result.vms[0].health is Health.HEALTHY
