"""Without a system VM template CloudStack would use, none is destroyed in the zone. CloudStack's rule
(VMTemplateDaoImpl.findSystemVMReadyTemplates): a SYSTEM template for a hypervisor and arch of the zone's
hosts, downloaded in any image store."""

from __future__ import annotations

from dataclasses import replace

from ssvm_operator.model.snapshot import Inventory, SystemTemplate
from ssvm_operator.plan.template import template_ready
from ssvm_operator.plan.types import ActionKind
from tests.unit.plan_builders import inventory, kinds, plan, spec, ssvm, unhealthy_for

KVM = SystemTemplate("tpl-kvm", "systemvm-kvm", "zone-1-id", True, "KVM", "x86_64")
XEN = SystemTemplate("tpl-xen", "systemvm-xen", "zone-1-id", True, "XenServer", "x86_64")


def with_templates(built: Inventory, *rows: SystemTemplate) -> Inventory:
    zone_id = built.zones[0].id
    located = tuple(replace(r, zone_id=r.zone_id if r.zone_id != "zone-1-id" else zone_id) for r in rows)
    kvm = tuple(replace(vm, hypervisor="KVM", arch="x86_64") for vm in built.ssvms)
    return replace(built, ssvms=kvm, system_templates=located, ready_template_zones=frozenset())


def test_a_broken_ssvm_is_not_destroyed_where_no_system_template_is_ready() -> None:
    broken = inventory(ssvm(1, "Error", None))
    without = plan(with_templates(broken, replace(KVM, ready=False)), spec(), memory={1: unhealthy_for(600)})
    with_template = plan(with_templates(broken, KVM), spec(), memory={1: unhealthy_for(600)})
    assert (
        kinds(with_template) == [(ActionKind.RECREATE, "s-1-VM")] and with_template.actions[0].blocked is None
    )
    [held] = without.actions
    assert held.kind is ActionKind.RECREATE and "no system VM template is Ready" in (held.blocked or "")
    assert any(f.reason == "SystemTemplateNotReady" for f in without.findings)


def test_a_ready_template_of_another_hypervisor_does_not_count() -> None:
    broken = with_templates(inventory(ssvm(1, "Error", None)), replace(KVM, ready=False), XEN)
    assert template_ready(broken.zones[0], broken) is False
    [held] = plan(broken, spec(), memory={1: unhealthy_for(600)}).actions
    assert held.kind is ActionKind.RECREATE and held.blocked is not None


def test_a_template_downloaded_only_in_another_zones_store_counts() -> None:
    elsewhere = with_templates(inventory(ssvm(1, "Error", None)), replace(KVM, zone_id="zone-2-id"))
    assert template_ready(elsewhere.zones[0], elsewhere) is True
    [action] = plan(elsewhere, spec(), memory={1: unhealthy_for(600)}).actions
    assert action.kind is ActionKind.RECREATE and action.blocked is None


def test_reboots_still_happen_without_a_ready_template() -> None:
    lost = with_templates(inventory(ssvm(1, "Running", "Disconnected")))
    result = plan(lost, spec(), memory={1: unhealthy_for(600)})
    assert kinds(result) == [(ActionKind.REBOOT, "s-1-VM")] and result.actions[0].blocked is None


def test_an_unknown_template_state_holds_nothing() -> None:
    result = plan(inventory(ssvm(1, "Error", None)), spec(), memory={1: unhealthy_for(600)})
    assert result.actions[0].blocked is None


def _template(hypervisor: str, ready: bool, zone: str | None) -> SystemTemplate:
    return SystemTemplate(f"t-{hypervisor}", f"systemvm-{hypervisor}", zone, ready, hypervisor, "x86_64")


def test_readiness_is_cloudstacks_rule_a_template_of_the_zones_hypervisor_ready_in_any_store() -> None:
    broken = inventory(ssvm(1, "Error", None))
    zone_id = broken.zones[0].id
    vmware_zone = {zone_id: frozenset({("VMware", "x86_64")})}
    # Ready in another zone's store only: CloudStack still creates the SSVM (findSystemVMReadyTemplate).
    elsewhere = replace(
        broken,
        zone_hypervisors=vmware_zone,
        system_templates=(_template("VMware", True, "other-zone"),),
        ready_template_zones=frozenset({"other-zone"}),
    )
    result = plan(elsewhere, spec(), memory={1: unhealthy_for(600)})
    assert kinds(result) == [(ActionKind.RECREATE, "s-1-VM")] and result.actions[0].blocked is None
    # Ready here, but for another hypervisor: CloudStack would create nothing.
    wrong = replace(
        broken,
        zone_hypervisors=vmware_zone,
        system_templates=(_template("KVM", True, zone_id), _template("VMware", False, zone_id)),
        ready_template_zones=frozenset({zone_id}),
    )
    [held] = plan(wrong, spec(), memory={1: unhealthy_for(600)}).actions
    assert "no system VM template is Ready" in (held.blocked or "")
