"""The upgrade roll: which SSVM is patched or recreated, one at a time, and where it is held."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from ssvm_operator.act.upgrade import upgraded_already
from ssvm_operator.model.snapshot import Inventory, SystemTemplate, SystemVm
from ssvm_operator.model.spec import Mode, PoolSpec, UpgradeStrategy
from ssvm_operator.plan import plan_pool
from ssvm_operator.plan.types import ActionKind, PlannedAction
from ssvm_operator.plan.upgrade import upgrade_turn
from tests.unit.plan_builders import NOW, ZONE_ID, context, flight, inventory, spec, ssvm, unhealthy_for, zone

OLD = SystemTemplate("tpl-old", "systemvm-kvm-4.19", ZONE_ID, True, "KVM", None, NOW - timedelta(days=300))
NEW = SystemTemplate("tpl-new", "systemvm-kvm-4.20", ZONE_ID, True, "KVM", None, NOW - timedelta(hours=2))
NEW_NOT_READY = replace(NEW, ready=False)


def on(number: int, template: SystemTemplate = OLD, version: str = "4.19.0.0", **kw: Any) -> SystemVm:
    vm = ssvm(number, **kw)
    return replace(
        vm, template_id=template.id, template_name=template.name, agent_version=version, hypervisor="KVM"
    )


def cloud(
    *vms: SystemVm,
    templates: tuple[SystemTemplate, ...] = (OLD, NEW),
    servers: str = "4.20.0.0",
    **kw: Any,
) -> Inventory:
    return replace(inventory(*vms, **kw), management_server_version=servers, system_templates=templates)


def pool(strategy: UpgradeStrategy, **kw: Any) -> PoolSpec:
    return replace(spec(**kw), upgrade=strategy)


def upgrades(actions: tuple[PlannedAction, ...]) -> list[PlannedAction]:
    return [a for a in actions if a.kind in (ActionKind.UPGRADE_PATCH, ActionKind.UPGRADE_RECREATE)]


def test_strategy_none_only_reports() -> None:
    plan = plan_pool(context(cloud(on(1)), pool(UpgradeStrategy.NONE)))
    assert upgrades(plan.actions) == []


def test_recreate_destroys_an_ssvm_on_the_old_template() -> None:
    [action] = upgrades(plan_pool(context(cloud(on(1)), pool(UpgradeStrategy.RECREATE))).actions)
    assert action.kind is ActionKind.UPGRADE_RECREATE and action.vm_id == "vm-1" and action.blocked is None
    assert "older than the system VM template systemvm-kvm-4.20" in action.reason


def test_patch_is_used_where_only_the_agent_is_behind() -> None:
    vm = on(1, NEW, "4.19.0.0")
    [action] = upgrades(plan_pool(context(cloud(vm), pool(UpgradeStrategy.PATCH))).actions)
    assert action.kind is ActionKind.UPGRADE_PATCH
    assert action.target_version == "4.20.0.0"


def test_patch_falls_back_to_recreate_where_the_template_is_behind() -> None:
    [action] = upgrades(plan_pool(context(cloud(on(1)), pool(UpgradeStrategy.PATCH))).actions)
    assert action.kind is ActionKind.UPGRADE_RECREATE


def test_patch_falls_back_to_recreate_before_4_17() -> None:
    vm = on(1, NEW, "4.15.0.0")
    inv = cloud(vm, servers="4.16.1.0")
    [action] = upgrades(plan_pool(context(inv, pool(UpgradeStrategy.PATCH))).actions)
    assert action.kind is ActionKind.UPGRADE_RECREATE


def test_one_ssvm_at_a_time_even_with_room_in_the_budget() -> None:
    inv = cloud(on(1), on(2), standby=2)
    actions = upgrades(
        plan_pool(context(inv, pool(UpgradeStrategy.RECREATE, replicas=2, max_unavailable=2))).actions
    )
    assert [a.blocked is None for a in actions] == [True, False]
    assert actions[1].blocked == "the upgrade goes one SSVM at a time: s-1-VM first"


def test_the_next_ssvm_waits_for_the_replacement() -> None:
    replacement_missing = cloud(on(2), standby=2)
    [waiting] = upgrades(
        plan_pool(
            context(replacement_missing, pool(UpgradeStrategy.RECREATE, replicas=2, max_unavailable=2))
        ).actions
    )
    assert waiting.blocked == "waiting for CloudStack to create 1 SSVM(s) before the next upgrade"

    coming_up = cloud(on(2), on(3, NEW, "4.20.0.0", agent="Connecting"), standby=2)
    [waiting] = upgrades(
        plan_pool(context(coming_up, pool(UpgradeStrategy.RECREATE, replicas=2, max_unavailable=2))).actions
    )
    assert waiting.blocked is not None and "s-3-VM to be Up" in waiting.blocked


def test_an_upgrade_in_flight_holds_the_next() -> None:
    inv = cloud(on(1), on(2), standby=2)
    ctx = context(
        inv,
        pool(UpgradeStrategy.RECREATE, replicas=2, max_unavailable=2),
        in_flight=(flight(ActionKind.UPGRADE_RECREATE, 1),),
    )
    [held] = upgrades(plan_pool(ctx).actions)
    assert held.vm_id == "vm-2"
    assert held.blocked == "the upgrade goes one SSVM at a time: s-1-VM in progress"


def test_a_zone_whose_new_template_is_not_ready_is_held_and_says_why() -> None:
    inv = cloud(on(1), templates=(OLD, NEW_NOT_READY))
    [held] = upgrades(plan_pool(context(inv, pool(UpgradeStrategy.RECREATE))).actions)
    assert held.blocked == (
        "the system VM template systemvm-kvm-4.20 is not Ready in any image store: CloudStack could not "
        "create the replacement in zone zone1 on it"
    )


def test_a_disabled_zone_is_held() -> None:
    inv = cloud(on(1), zones=(zone(allocation_state="Disabled"),))
    [held] = upgrades(plan_pool(context(inv, pool(UpgradeStrategy.RECREATE))).actions)
    assert held.blocked is not None and "would not create a replacement in zone zone1" in held.blocked


def test_another_zones_turn_holds_this_one() -> None:
    ctx = context(cloud(on(1)), pool(UpgradeStrategy.RECREATE), upgrade_turn="zone0")
    [held] = upgrades(plan_pool(ctx).actions)
    assert held.blocked == "the upgrade goes one zone at a time: zone zone0 first"


def test_observe_mode_only_plans() -> None:
    [action] = upgrades(
        plan_pool(context(cloud(on(1)), pool(UpgradeStrategy.RECREATE, mode=Mode.OBSERVE))).actions
    )
    assert action.blocked is not None and action.blocked.startswith("Observe mode")


def test_a_broken_outdated_ssvm_is_repaired_not_upgraded() -> None:
    inv = cloud(on(1, state="Stopped", agent="Disconnected"))
    plan = plan_pool(context(inv, pool(UpgradeStrategy.RECREATE), memory={1: unhealthy_for(900)}))
    assert upgrades(plan.actions) == []
    assert [a.kind for a in plan.actions] == [ActionKind.START]


def test_current_ssvms_get_nothing() -> None:
    plan = plan_pool(context(cloud(on(1, NEW, "4.20.0.0")), pool(UpgradeStrategy.RECREATE)))
    assert upgrades(plan.actions) == []


def test_a_patch_is_not_sent_to_an_agent_already_on_the_release() -> None:
    """After a restart the re-read SSVM may show the patch done while the operator was down."""
    action = PlannedAction(
        ActionKind.UPGRADE_PATCH, ZONE_ID, "agent behind", "vm-1", "s-1-VM", target_version="4.20.0.0"
    )
    assert upgraded_already(action, on(1, NEW, "4.20.0.0")) == "its agent already runs 4.20.0.0"
    assert upgraded_already(action, on(1, NEW, "4.19.0.0")) is None


def two_zones(*vms: SystemVm, templates: tuple[SystemTemplate, ...] = (OLD, NEW)) -> Inventory:
    zones = (zone(), zone(id="zone-2-id", name="zone2"))
    rows = (*templates, *(replace(t, zone_id="zone-2-id") for t in templates))
    return cloud(*vms, zones=zones, templates=rows)


def test_the_turn_goes_to_a_zone_already_rolling_else_the_first_outdated_by_name() -> None:
    inv = two_zones(on(1), on(2, zone_id="zone-2-id"))
    assert (
        upgrade_turn([("zone2", False), ("zone1", False)], inv, "zone2", UpgradeStrategy.RECREATE) == "zone1"
    )
    assert (
        upgrade_turn([("zone2", True), ("zone1", False)], inv, "zone1", UpgradeStrategy.RECREATE) == "zone2"
    )


def test_a_template_downloaded_in_another_zones_store_is_ready_for_every_zone() -> None:
    # VMTemplateDaoImpl.findSystemVMReadyTemplates: the template_store_ref join is not limited to the zone.
    rows = (OLD, NEW_NOT_READY, replace(OLD, zone_id="zone-2-id"), replace(NEW, zone_id="zone-2-id"))
    inv = replace(two_zones(on(1), on(2, zone_id="zone-2-id")), system_templates=rows)
    assert (
        upgrade_turn([("zone1", False), ("zone2", False)], inv, "zone1", UpgradeStrategy.RECREATE) == "zone1"
    )


def test_no_zone_takes_the_turn_while_the_new_template_is_downloaded_nowhere() -> None:
    rows = (
        OLD,
        NEW_NOT_READY,
        replace(OLD, zone_id="zone-2-id"),
        replace(NEW_NOT_READY, zone_id="zone-2-id"),
    )
    inv = replace(two_zones(on(1), on(2, zone_id="zone-2-id")), system_templates=rows)
    assert upgrade_turn([("zone1", False), ("zone2", False)], inv, "zone1", UpgradeStrategy.RECREATE) is None


def test_no_turn_when_nothing_is_outdated() -> None:
    inv = two_zones(on(1, NEW, "4.20.0.0"))
    assert upgrade_turn([("zone1", False)], inv, "zone1", UpgradeStrategy.RECREATE) is None
