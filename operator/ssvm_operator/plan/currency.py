"""Whether an SSVM runs the release its management servers run: CloudStack's own two tests.

- Its agent: the SSVM's host row reports the agent's `version`; one below the management servers' version
  is the agent of an older release (the classic cause of failed template and snapshot copies after an
  upgrade: `cloud-sysvmadm` and `patchSystemVm` exist for it).
- Its template: a new SSVM gets the newest Ready SYSTEM template for the zone's hypervisor and arch
  (VMTemplateDaoImpl.findSystemVMReadyTemplate, highest id first); an SSVM on another template was created
  before the upgrade registered the new one.

Pure: reads one SSVM and the inventory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ssvm_operator.model.snapshot import Inventory, SystemTemplate, SystemVm
from ssvm_operator.model.templates import newest_for, ready_system_templates

LIVE_PATCH_SINCE = (4, 17)
"""patchSystemVm (PatchSystemVMCmd since = "4.17.0")."""


@dataclass(frozen=True)
class Currency:
    current: bool | None
    """None when CloudStack does not say enough to judge (no agent version, no template rows)."""
    agent_behind: bool = False
    template_behind: bool = False
    target_version: str | None = None
    """The management servers' version, which an up-to-date agent reports."""
    target_template: SystemTemplate | None = None
    """The newest system template for the SSVM's hypervisor: what a replacement would get."""

    def reason(self, vm: SystemVm) -> str:
        parts = []
        if self.agent_behind:
            parts.append(f"agent {vm.agent_version} is behind the management servers' {self.target_version}")
        if self.template_behind and self.target_template is not None:
            parts.append(
                f"template {vm.template_name or vm.template_id} is older than the system VM template "
                f"{self.target_template.name}"
            )
        return "; ".join(parts) or "up to date"


def version_numbers(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    numbers = text.strip().split("-")[0].split(".")
    if not all(n.isdigit() for n in numbers):
        return None
    return tuple([*(int(n) for n in numbers), 0, 0, 0, 0][:4])


def currency(vm: SystemVm, inventory: Inventory) -> Currency:
    servers = version_numbers(inventory.management_server_version)
    agent = version_numbers(vm.agent_version)
    agent_behind = servers is not None and agent is not None and agent < servers
    target = newest_for(inventory.system_templates, vm.hypervisor, vm.arch)
    template_behind = target is not None and vm.template_id is not None and vm.template_id != target.id
    known = (servers is not None and agent is not None) or (target is not None and vm.template_id is not None)
    return Currency(
        current=None if not known else not (agent_behind or template_behind),
        agent_behind=agent_behind,
        template_behind=template_behind,
        target_version=inventory.management_server_version,
        target_template=target,
    )


def ready_in(template: SystemTemplate, rows: Iterable[SystemTemplate]) -> bool:
    """Whether CloudStack would create a new SSVM on the template: it is ready by CloudStack's rule for
    its own hypervisor and arch (model/templates.py ready_system_templates: downloaded in any image store)."""
    kind = (template.hypervisor, template.arch)
    return any(t.id == template.id for t in ready_system_templates(rows, [kind]))


def live_patch_available(inventory: Inventory) -> bool:
    servers = version_numbers(inventory.management_server_version)
    return servers is not None and servers[:2] >= LIVE_PATCH_SINCE


def outdated(vms: Iterable[SystemVm], inventory: Inventory) -> list[tuple[SystemVm, Currency]]:
    found = [(vm, currency(vm, inventory)) for vm in vms]
    return [(vm, c) for vm, c in found if c.current is False]
