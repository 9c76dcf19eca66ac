"""secstorage.allowed.internal.sites reaches an SSVM when its agent connects: the management-server restart
that puts it in force reconnects every agent, so no SSVM is rebooted for it; SSVMs with no Up agent wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ssvm_operator.kube.reasons import ConditionType, Reason
from ssvm_operator.kube.settings_status import render_rollout, rollout_from_status, settings_conditions
from ssvm_operator.model.config import ManagementServer
from ssvm_operator.model.settings import ALLOWED_SITES_KEY, RolloutStrategy, SettingsSpec
from ssvm_operator.model.snapshot import Inventory, SystemVm
from ssvm_operator.model.spec import SpecError
from ssvm_operator.plan.rollout_status import RolloutPhase, RolloutStatus
from ssvm_operator.plan.settings import DesiredSetting
from ssvm_operator.plan.settings_plan import AppliedRecord, plan_rollout

CHANGED = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
RESTARTED = CHANGED + timedelta(minutes=5)
BEFORE = CHANGED - timedelta(days=3)
MTU_KEY = "secstorage.vm.mtu.size"


def spec(**rollout: str) -> SettingsSpec:
    return SettingsSpec.parse(
        {"endpointRef": {"name": "c"}, "allowedInternalSites": ["10.10.0.0/16"], "rollout": rollout}
    )


def applied(*keys: str) -> dict[str, AppliedRecord]:
    return {k: AppliedRecord.of(DesiredSetting(k, "x"), None, CHANGED, dynamic=False) for k in keys}


def ssvm(name: str, agent: str | None, created: datetime = BEFORE) -> SystemVm:
    return SystemVm(id=name, name=name, zone_id="z1", state="Running", agent_state=agent, created=created)


def rollout_of(
    *vms: SystemVm, keys: tuple[str, ...] = (ALLOWED_SITES_KEY,), **strategy: str
) -> RolloutStatus:
    servers = [ManagementServer("ms-1", "ms-1", "Up", RESTARTED)]
    inventory = Inventory(observed_at=RESTARTED + timedelta(minutes=1), ssvms=vms)
    return plan_rollout(spec(**strategy), applied(*keys), servers, inventory, active_zone=None)


def test_after_the_restart_ssvms_whose_agent_reconnected_are_done_and_none_is_rolled() -> None:
    rollout = rollout_of(ssvm("s-1-VM", "Up"), ssvm("s-2-VM", "Up"))
    assert rollout.phase is RolloutPhase.DONE
    assert rollout.strategy is RolloutStrategy.RECONNECT
    assert (rollout.done, rollout.total) == (2, 2)
    assert rollout.request() is None, "the pools have nothing to reboot"


def test_only_an_ssvm_whose_agent_did_not_reconnect_waits_and_the_pools_still_roll_nothing() -> None:
    rollout = rollout_of(ssvm("s-1-VM", "Up"), ssvm("s-2-VM", "Disconnected"), ssvm("s-3-VM", None))
    assert rollout.phase is RolloutPhase.WAITING_FOR_AGENTS
    assert rollout.pending == ("s-2-VM", "s-3-VM")
    assert (rollout.done, rollout.total) == (1, 3)
    assert rollout.request() is None
    written = rollout_from_status(render_rollout(rollout))
    assert written.phase is RolloutPhase.WAITING_FOR_AGENTS and written.request() is None


def test_an_ssvm_created_after_the_change_gets_the_value_at_its_first_connect() -> None:
    rollout = rollout_of(ssvm("s-1-VM", "Up"), ssvm("s-9-VM", "Connecting", created=RESTARTED))
    assert rollout.phase is RolloutPhase.DONE


def test_a_boot_argument_beside_it_still_needs_a_stop_and_start_of_every_ssvm() -> None:
    rollout = rollout_of(ssvm("s-1-VM", "Up"), keys=(ALLOWED_SITES_KEY, MTU_KEY))
    assert rollout.phase is RolloutPhase.ROLLING
    assert rollout.strategy is RolloutStrategy.STOP_START
    request = rollout.request()
    assert request is not None and request.restart


def test_a_declared_reboot_reboots_even_ssvms_that_reconnected() -> None:
    rollout = rollout_of(ssvm("s-1-VM", "Up"), strategy="Reboot")
    assert rollout.phase is RolloutPhase.ROLLING
    assert rollout.strategy is RolloutStrategy.REBOOT
    request = rollout.request()
    assert request is not None and not request.restart and not request.recreate


def test_waiting_for_agents_is_reconciling_and_names_the_ssvms() -> None:
    rollout = rollout_of(ssvm("s-1-VM", "Up"), ssvm("s-2-VM", "Alert"))
    conditions = {c.type: c for c in settings_conditions(spec(), [], [], rollout, [])}
    ready = conditions[ConditionType.READY]
    assert (ready.status, ready.reason) == (False, Reason.WAITING_FOR_AGENTS)
    assert "s-2-VM" in ready.message and "nothing to reboot" in ready.message
    assert conditions[ConditionType.RECONCILING].status is True


def test_the_default_strategy_is_auto_and_only_declarable_ones_are_accepted() -> None:
    assert spec().rollout.strategy is RolloutStrategy.AUTO
    for internal in ("StopStart", "Reconnect"):
        with pytest.raises(SpecError, match=r"rollout\.strategy"):
            spec(strategy=internal)
