"""docs/argocd-health.lua, run by a real Lua 5.4 as Argo CD runs it, reads our statuses as a user expects.

Pool statuses are rendered by the operator's own status code from real plans, so a renamed condition or
reason breaks this test rather than a user's dashboard. Endpoint and settings statuses follow the shapes
their reconcilers write (kube/endpoints.py, kube/ssvm_settings.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ssvm_operator.kube.conditions import Condition, render
from ssvm_operator.kube.pool_status import Backoff, pool_conditions
from ssvm_operator.model.snapshot import Inventory, SystemVm, Zone
from ssvm_operator.model.spec import PoolSpec
from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.types import ActionKind, InFlight, PoolContext, VmMemory
from tests.observability.lua import HEALTH_SCRIPT, run_health
from tests.support.paths import REPOSITORY
from tests.support.tools import require_tool

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ZONE = Zone("z1", "zone-1")
API_VERSION = "ssvm.cloudstack.io/v1alpha1"


@pytest.fixture(scope="module")
def lua() -> Path:
    return require_tool("lua5.4")


def pool(
    *vms: SystemVm,
    generation: int = 1,
    observed: int | None = None,
    in_flight: tuple[InFlight, ...] = (),
    memory: dict[str, VmMemory] | None = None,
    zone: str = "zone-1",
    **spec: Any,
) -> dict[str, Any]:
    """An SSVMPool as the operator leaves it after one reconcile of the given CloudStack state."""
    parsed = PoolSpec.parse({"endpointRef": {"name": "region-1"}, "zone": zone, **spec})
    context = PoolContext(
        parsed, Inventory(observed_at=NOW, zones=(ZONE,), ssvms=vms), NOW, in_flight, memory or {}
    )
    plan = plan_pool(context)
    conditions = pool_conditions(parsed, plan, in_flight, (), Backoff())
    seen = generation if observed is None else observed
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMPool",
        "metadata": {"name": "zone-1", "namespace": "ssvm-operator", "generation": generation},
        "spec": {"zone": zone, **spec},
        "status": {
            "observedGeneration": seen,
            "conditions": render(conditions, None, seen, NOW),
            "desiredReplicas": plan.desired_replicas,
            "readyReplicas": plan.ready_replicas,
        },
    }


def other(kind: str, *conditions: Condition, generation: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": "region-1", "namespace": "ssvm-operator", "generation": generation},
        "status": {"observedGeneration": generation, "conditions": render(conditions, None, generation, NOW)},
    }


def up(number: int = 1) -> SystemVm:
    return SystemVm(f"vm-{number}", f"s-{number}-VM", "z1", "Running", "Up")


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
    fresh = {"apiVersion": API_VERSION, "kind": "SSVMPool", "metadata": {"name": "zone-1", "generation": 1}}
    assert run_health(lua, fresh).status == "Progressing"
    assert run_health(lua, {**fresh, "status": {"conditions": []}}).status == "Progressing"


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (
            (
                Condition("Ready", True, "Connected", "CloudStack 4.20.1.0 at https://cloud/client/api"),
                Condition("Stalled", False, "Connected", "nothing blocks the connection"),
                Condition("Reconciling", False, "Connected", "connected"),
            ),
            "Healthy",
        ),
        (
            (
                Condition("Ready", False, "Unreachable", "connection refused; retrying every 30s"),
                Condition("Stalled", False, "Retrying", "the failure may be temporary"),
                Condition("Reconciling", True, "Unreachable", "connection refused; retrying every 30s"),
            ),
            "Progressing",
        ),
        (
            (
                Condition("Ready", False, "Unauthorized", "CloudStack refused the API keys (401)"),
                Condition("Stalled", True, "Unauthorized", "CloudStack refused the API keys (401)"),
                Condition("Reconciling", False, "Unauthorized", "waiting for valid API keys"),
            ),
            "Degraded",
        ),
    ],
    ids=["connected", "unreachable", "unauthorized"],
)
def test_endpoint_health(lua: Path, conditions: tuple[Condition, ...], expected: str) -> None:
    assert run_health(lua, other("CloudStackEndpoint", *conditions)).status == expected


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (
            (
                Condition("Stalled", False, "Applied", "every declared setting is valid"),
                Condition("Reconciling", False, "InSync", "CloudStack holds every declared setting"),
                Condition("Ready", True, "InSync", "CloudStack holds every declared setting"),
            ),
            "Healthy",
        ),
        (
            (
                Condition("Stalled", False, "Applied", "every declared setting is valid"),
                Condition("Reconciling", True, "ManagementServerRestartRequired", "restart ms-1"),
                Condition("Ready", False, "ManagementServerRestartRequired", "restart ms-1"),
            ),
            "Progressing",
        ),
        (
            (
                Condition("Stalled", True, "SecretMissing", "secretSettings[0]: Secret ssvm-proxy not found"),
                Condition("Reconciling", False, "SecretMissing", "nothing is applied until this is fixed"),
                Condition("Ready", False, "SecretMissing", "secretSettings[0]: Secret ssvm-proxy not found"),
            ),
            "Degraded",
        ),
    ],
    ids=["in-sync", "restart-required", "secret-missing"],
)
def test_settings_health(lua: Path, conditions: tuple[Condition, ...], expected: str) -> None:
    assert run_health(lua, other("SSVMSettings", *conditions)).status == expected


def test_messages_with_quotes_and_non_ascii_reach_argo_cd_intact(lua: Path) -> None:
    message = 'CloudStack said "no" — zone «zone-1» \\ retry'
    obj = other("CloudStackEndpoint", Condition("Ready", False, "Unreachable", message))
    assert run_health(lua, obj).message == f"Unreachable: {message}"


def test_gitops_guide_embeds_the_same_script_for_each_kind() -> None:
    guide = (REPOSITORY / "docs" / "gitops.md").read_text()
    script = HEALTH_SCRIPT.read_text().strip()
    for kind in ("SSVMPool", "CloudStackEndpoint", "SSVMSettings"):
        key = re.escape(f"resource.customizations.health.ssvm.cloudstack.io_{kind}: |")
        match = re.search(key + r"\n(?P<body>(?:      .*\n|\n)+)", guide)
        assert match, f"docs/gitops.md has no health customization for {kind}"
        embedded = "\n".join(line[6:] for line in match["body"].splitlines()).strip()
        assert embedded == script, f"the {kind} script in docs/gitops.md differs from docs/argocd-health.lua"
