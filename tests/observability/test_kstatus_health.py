"""Flux's view of our objects: kstatus's `Compute` (tests/observability/kstatus.py, a port of cli-utils) over
the statuses the operator writes, beside the Argo CD Lua test, so docs/gitops.md's Flux table stays true.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from ssvm_operator.model.snapshot import SystemVm
from ssvm_operator.plan.types import ActionKind, InFlight, VmMemory
from tests.e2e.cluster_helpers import Cluster, apply, get, pool_doc
from tests.e2e.fixtures import cluster
from tests.observability.kstatus import CURRENT, FAILED, IN_PROGRESS, compute
from tests.observability.lua import run_health
from tests.observability.statuses import NOW, RESTART, endpoint, just_applied, pool, settings, up
from tests.support.paths import REPOSITORY
from tests.support.tools import require_tool

__all__ = ["cluster"]  # the fixture: the real API server, or the emulator with SSVM_TESTS_KUBE=emulator

DOWN = SystemVm("vm-1", "s-1-VM", "z1", "Running", "Down")
DOWN_FOR_AN_HOUR = {"vm-1": VmMemory(unhealthy_since=NOW - timedelta(hours=1))}


def test_a_pool_whose_ssvms_serve_is_current() -> None:
    assert compute(pool(up())).status == CURRENT


def test_a_pool_waiting_on_a_cloudstack_job_is_in_progress_with_the_job() -> None:
    broken = SystemVm("vm-1", "s-1-VM", "z1", "Running", "Disconnected")
    reboot = InFlight(ActionKind.REBOOT, "vm-1", "s-1-VM", "job-1", NOW - timedelta(seconds=20))
    result = compute(pool(broken, in_flight=(reboot,)))
    assert (result.status, result.message) == (IN_PROGRESS, "waiting for CloudStack: Reboot s-1-VM")


def test_a_pool_with_a_broken_ssvm_nobody_repairs_is_in_progress_not_current() -> None:
    # kstatus falls back to Ready=False: a Kustomization that waits on it times out, naming the SSVM.
    result = compute(pool(DOWN, memory=DOWN_FOR_AN_HOUR, health={"remediation": "None"}))
    assert result.status == IN_PROGRESS
    assert result.message.startswith("0 of 1 SSVMs ready")


def test_a_pool_naming_a_zone_that_does_not_exist_fails_with_the_fix() -> None:
    result = compute(pool(up(), zone="zone-9"))
    assert result.status == FAILED and "zone-1" in result.message


def test_a_spec_change_the_operator_has_not_read_is_in_progress() -> None:
    result = compute(pool(up(), generation=3, observed=2))
    assert result.status == IN_PROGRESS
    assert result.message == "SSVMPool generation is 3, but latest observed generation is 2"


def test_an_object_without_any_status_would_be_current_which_the_crd_default_prevents() -> None:
    assert compute(just_applied("SSVMPool", None)).status == CURRENT
    defaulted = compute(just_applied("SSVMPool", {"observedGeneration": -1}))
    assert defaulted.status == IN_PROGRESS


@pytest.mark.parametrize(
    ("state", "expected"), [("connected", CURRENT), ("unreachable", IN_PROGRESS), ("unauthorized", FAILED)]
)
def test_endpoint(state: str, expected: str) -> None:
    assert compute(endpoint(state)).status == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("in-sync", CURRENT),
        ("restart-required", FAILED),
        ("rolling", IN_PROGRESS),
        ("waiting-for-agents", IN_PROGRESS),
        ("observe-drift", IN_PROGRESS),
        ("secret-missing", FAILED),
    ],
)
def test_settings(state: str, expected: str) -> None:
    assert compute(settings(state)).status == expected


def test_a_management_server_restart_fails_the_wait_with_the_action_to_take() -> None:
    # Only a person can take it further: Flux says so at once instead of after its timeout.
    assert compute(settings("restart-required")).message == RESTART


def test_each_crd_defaults_status_so_a_new_object_is_not_current_before_the_operator_looked() -> None:
    for path in sorted((REPOSITORY / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
            assert status.get("default") == {"observedGeneration": -1}, path.name


def test_a_pool_just_applied_reads_back_in_progress_for_flux_and_argo_cd(cluster: Cluster) -> None:
    # What the API server stores and returns (the schema's status default) is what Flux and Argo CD read.
    apply(cluster, pool_doc("zone-1", "zone-1"))
    fresh = get(cluster, "SSVMPool", "zone-1")
    assert fresh["status"] == {"observedGeneration": -1}
    assert compute(fresh).status == IN_PROGRESS
    assert run_health(require_tool("lua5.4"), fresh).status == "Progressing"
