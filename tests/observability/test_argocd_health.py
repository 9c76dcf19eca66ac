"""docs/argocd-health.lua, run by a real Lua 5.4 as Argo CD runs it, reads our statuses as a user expects.

The statuses come from tests/observability/statuses.py; tests/observability/test_kstatus_health.py reads the
same objects as Flux does.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ssvm_operator.kube.conditions import Condition
from ssvm_operator.model.snapshot import SystemVm
from ssvm_operator.plan.types import ActionKind, InFlight, VmMemory
from tests.observability.lua import HEALTH_SCRIPT, run_health
from tests.observability.statuses import NOW, RESTART, endpoint, just_applied, other, pool, settings, up
from tests.support.paths import REPOSITORY
from tests.support.tools import require_tool


@pytest.fixture(scope="module")
def lua() -> Path:
    return require_tool("lua5.4")


def test_a_pool_whose_ssvms_serve_is_healthy(lua: Path) -> None:
    health = run_health(lua, pool(up()))
    assert health.status == "Healthy"
    assert health.message.startswith("SSVMsReady: 1 of 1 SSVMs ready")


def test_a_pool_waiting_on_a_cloudstack_job_is_progressing_and_names_the_job(lua: Path) -> None:
    broken = SystemVm("vm-1", "s-1-VM", "z1", "Running", "Disconnected")
    reboot = InFlight(ActionKind.REBOOT, "vm-1", "s-1-VM", "job-1", NOW - timedelta(seconds=20))
    health = run_health(lua, pool(broken, in_flight=(reboot,)))
    assert health.status == "Progressing"
    assert health.message == "ActionInProgress: waiting for CloudStack: Reboot s-1-VM"


def test_a_pool_waiting_for_cloudstacks_scanner_is_progressing(lua: Path) -> None:
    health = run_health(lua, pool())  # the zone has no SSVM yet: CloudStack's scanner creates it
    assert health.status == "Progressing"
    assert health.message.startswith("WaitingForCloudStack")


def test_a_pool_whose_ssvm_stays_down_without_remediation_is_degraded(lua: Path) -> None:
    down = SystemVm("vm-1", "s-1-VM", "z1", "Running", "Down")
    since = {"vm-1": VmMemory(unhealthy_since=NOW - timedelta(hours=1))}
    health = run_health(lua, pool(down, memory=since, health={"remediation": "None"}))
    assert health.status == "Degraded"
    assert health.message.startswith("SSVMUnhealthy: 0 of 1 SSVMs ready")


def test_a_pool_naming_a_zone_that_does_not_exist_is_degraded_with_the_fix(lua: Path) -> None:
    health = run_health(lua, pool(up(), zone="zone-9"))
    assert health.status == "Degraded"
    assert health.message.startswith("ZoneNotFound:") and "zone-1" in health.message


def test_a_paused_pool_is_suspended_even_with_a_broken_ssvm(lua: Path) -> None:
    down = SystemVm("vm-1", "s-1-VM", "z1", "Running", "Down")
    since = {"vm-1": VmMemory(unhealthy_since=NOW - timedelta(hours=1))}
    health = run_health(lua, pool(down, memory=since, paused=True))
    assert health.status == "Suspended"
    assert health.message.startswith("Paused:")


def test_a_spec_change_the_operator_has_not_read_yet_is_progressing_not_healthy(lua: Path) -> None:
    health = run_health(lua, pool(up(), generation=3, observed=2))
    assert health.status == "Progressing"
    assert health.message == "the operator has not yet observed generation 3"


def test_a_new_object_without_status_is_progressing(lua: Path) -> None:
    statuses: list[dict[str, Any] | None] = [None, {"conditions": []}, {"observedGeneration": -1}]
    for status in statuses:
        health = run_health(lua, just_applied("SSVMPool", status))
        assert health.status == "Progressing", status


@pytest.mark.parametrize(
    ("state", "expected"),
    [("connected", "Healthy"), ("unreachable", "Progressing"), ("unauthorized", "Degraded")],
)
def test_endpoint_health(lua: Path, state: str, expected: str) -> None:
    assert run_health(lua, endpoint(state)).status == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("in-sync", "Healthy"),
        ("restart-required", "Degraded"),
        ("rolling", "Progressing"),
        ("waiting-for-agents", "Progressing"),
        ("observe-drift", "Degraded"),
        ("secret-missing", "Degraded"),
    ],
)
def test_settings_health(lua: Path, state: str, expected: str) -> None:
    assert run_health(lua, settings(state)).status == expected


def test_a_management_server_restart_shows_the_action_to_take(lua: Path) -> None:
    health = run_health(lua, settings("restart-required"))
    assert health.message == f"ManagementServerRestartRequired: {RESTART}"


def test_messages_with_quotes_and_non_ascii_reach_argo_cd_intact(lua: Path) -> None:
    message = 'CloudStack said "no" — zone «zone-1» \\ retry'
    obj = other("CloudStackEndpoint", Condition("Ready", False, "Unreachable", message))
    assert run_health(lua, obj).message == f"Unreachable: {message}"


def test_gitops_guide_embeds_the_same_script_in_its_wildcard_entry() -> None:
    guide = (REPOSITORY / "docs" / "gitops.md").read_text()
    script = HEALTH_SCRIPT.read_text().strip()
    key = re.escape("  resource.customizations: |\n    ssvm.cloudstack.io/*:\n      health.lua: |")
    match = re.search(key + r"\n(?P<body>(?:        .*\n|\n)+)", guide)
    assert match, "docs/gitops.md has no wildcard health customization for ssvm.cloudstack.io"
    embedded = "\n".join(line[8:] for line in match["body"].splitlines()).strip()
    assert embedded == script, "the script in docs/gitops.md differs from docs/argocd-health.lua"
