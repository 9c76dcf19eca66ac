"""destroySystemVm clears every extract URL of the SSVM's zone (ManagementServerImpl.destroySecondaryStorageVm
calls cleanupDownloadUrlsInZone): the Started Event of every destroy says users' download links stop working,
with and without the diagnostics collection before it. Through the real client against the simulator."""

from __future__ import annotations

import pytest

from cloudstack_sim.testing import SimulatorHandle
from ssvm_operator.act.outcome import Result
from ssvm_operator.cloud.client import CloudClient
from ssvm_operator.model.spec import EvidencePolicy
from ssvm_operator.plan.types import TRAITS, ActionKind
from tests.act.test_evidence_before_destroy import Status, action, actor, client, cloudstack

__all__ = ["client", "cloudstack"]

LINKS = "users' download links of this zone stop working"
DESTROYS = [
    kind for kind in ActionKind if TRAITS[kind].removes_vm and kind is not ActionKind.UPGRADE_RECREATE
]


@pytest.mark.parametrize("collect", [True, False], ids=["with-evidence", "without-evidence"])
@pytest.mark.parametrize("kind", DESTROYS, ids=lambda kind: kind.value)
async def test_every_destroy_says_the_zone_download_links_break(
    cloudstack: SimulatorHandle, client: CloudClient, kind: ActionKind, collect: bool
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    if kind is not ActionKind.DESTROY_SURPLUS:
        cloudstack.admin.set_agent_state(vm["name"], "Alert", sticky=True)
    outcome = await actor(client, Status(), EvidencePolicy(collect=collect)).execute(action(kind, vm))
    assert outcome.result is Result.STARTED, outcome
    assert LINKS in outcome.message and "destroySystemVm" in outcome.message


async def test_a_reboot_says_nothing_about_download_links(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    cloudstack.admin.set_agent_state(vm["name"], "Alert", sticky=True)
    outcome = await actor(client, Status(), EvidencePolicy(collect=False)).execute(
        action(ActionKind.REBOOT, vm)
    )
    assert outcome.result is Result.STARTED and LINKS not in outcome.message
