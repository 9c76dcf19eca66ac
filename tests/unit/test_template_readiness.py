"""Without a Ready system VM template CloudStack creates no SSVM in the zone, so none is destroyed there."""

from __future__ import annotations

from dataclasses import replace

from ssvm_operator.plan.types import ActionKind
from tests.unit.plan_builders import inventory, kinds, plan, spec, ssvm, unhealthy_for


def test_a_broken_ssvm_is_not_destroyed_where_no_system_template_is_ready() -> None:
    broken = inventory(ssvm(1, "Error", None))
    zone_id = broken.zones[0].id
    without = plan(replace(broken, ready_template_zones=frozenset()), spec(), memory={1: unhealthy_for(600)})
    with_template = plan(
        replace(broken, ready_template_zones=frozenset({zone_id})), spec(), memory={1: unhealthy_for(600)}
    )
    assert (
        kinds(with_template) == [(ActionKind.RECREATE, "s-1-VM")] and with_template.actions[0].blocked is None
    )
    [held] = without.actions
    assert held.kind is ActionKind.RECREATE and "no system VM template is Ready" in (held.blocked or "")
    assert any(f.reason == "SystemTemplateNotReady" for f in without.findings)


def test_reboots_still_happen_without_a_ready_template() -> None:
    lost = inventory(ssvm(1, "Running", "Disconnected"))
    result = plan(replace(lost, ready_template_zones=frozenset()), spec(), memory={1: unhealthy_for(600)})
    assert kinds(result) == [(ActionKind.REBOOT, "s-1-VM")] and result.actions[0].blocked is None


def test_an_unknown_template_state_holds_nothing() -> None:
    result = plan(inventory(ssvm(1, "Error", None)), spec(), memory={1: unhealthy_for(600)})
    assert result.actions[0].blocked is None
