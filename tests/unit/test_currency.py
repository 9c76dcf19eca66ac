"""Whether an SSVM runs its management servers' release: agent version and system VM template."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ssvm_operator.cloud.inventory import management_server_version
from ssvm_operator.model.snapshot import Inventory, SystemTemplate, SystemVm
from ssvm_operator.plan.currency import currency, live_patch_available, outdated
from tests.unit.plan_builders import NOW, ZONE_ID, inventory, ssvm

OLD = SystemTemplate(
    "tpl-418", "systemvm-kvm-4.18", ZONE_ID, True, "KVM", "x86_64", NOW - timedelta(days=400)
)
NEW = SystemTemplate("tpl-420", "systemvm-kvm-4.20", ZONE_ID, True, "KVM", "x86_64", NOW - timedelta(days=1))
XEN = SystemTemplate("tpl-xen", "systemvm-xen-4.22", ZONE_ID, True, "XenServer", "x86_64", NOW)


def on(vm: SystemVm, template: SystemTemplate, version: str) -> SystemVm:
    return replace(
        vm, template_id=template.id, template_name=template.name, agent_version=version, hypervisor="KVM"
    )


def cloud(
    *vms: SystemVm, servers: str = "4.20.0.0", templates: tuple[SystemTemplate, ...] = (OLD, NEW)
) -> Inventory:
    return replace(inventory(*vms), management_server_version=servers, system_templates=templates)


def test_an_ssvm_on_the_newest_template_with_the_servers_agent_is_current() -> None:
    vm = on(ssvm(1), NEW, "4.20.0.0")
    assert currency(vm, cloud(vm)).current is True


def test_an_agent_behind_the_servers_is_outdated_and_says_so() -> None:
    vm = on(ssvm(1), NEW, "4.19.0.0")
    found = currency(vm, cloud(vm))
    assert found.current is False and found.agent_behind and not found.template_behind
    assert found.reason(vm) == "agent 4.19.0.0 is behind the management servers' 4.20.0.0"


def test_an_ssvm_on_an_older_template_is_outdated_even_with_a_patched_agent() -> None:
    vm = on(ssvm(1), OLD, "4.20.0.0")
    found = currency(vm, cloud(vm))
    assert found.current is False and found.template_behind and found.target_template == NEW
    assert "older than the system VM template systemvm-kvm-4.20" in found.reason(vm)


def test_a_newer_template_of_another_hypervisor_does_not_count() -> None:
    vm = on(ssvm(1), NEW, "4.20.0.0")
    assert currency(vm, cloud(vm, templates=(OLD, NEW, XEN))).current is True


def test_without_versions_or_templates_the_answer_is_unknown() -> None:
    vm = ssvm(1)
    assert currency(vm, inventory(vm)).current is None


def test_outdated_lists_only_ssvms_behind() -> None:
    current, behind = on(ssvm(1), NEW, "4.20.0.0"), on(ssvm(2), OLD, "4.18.0.0")
    assert [vm.id for vm, _ in outdated((current, behind), cloud(current, behind))] == ["vm-2"]


def test_the_servers_version_is_the_newest_of_the_up_servers() -> None:
    servers = [
        {"state": "Up", "version": "4.20.0.0"},
        {"state": "Up", "version": "4.20.1.0"},
        {"state": "Down", "version": "4.22.0.0"},
    ]
    assert management_server_version(servers) == "4.20.1.0"
    assert management_server_version([]) is None


def test_live_patch_needs_4_17() -> None:
    assert not live_patch_available(cloud(servers="4.16.1.0"))
    assert live_patch_available(cloud(servers="4.17.0.0"))
