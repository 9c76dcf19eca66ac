"""Failed actions back off, persisted in status.remediation, and a spec change starts afresh; a permanent
error stalls the pool with CloudStack's reason instead of being retried in a loop. Calls are counted."""

from __future__ import annotations

import time
from typing import Any

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    condition,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
    watched_status,
)
from tests.e2e.operator_process import OperatorProcess
from tests.reliability.conftest import FAST_HEALTH

LARGE = "SSVM Large"
WINDOW_SECONDS = 10.0


def watch_backoff(
    cluster: Cluster, cloudstack: SimulatorHandle, pool: str, command: str, seconds: float
) -> tuple[int, list[dict[str, Any]]]:
    """Calls of `command` over `seconds`, and every distinct status.remediation written meanwhile."""
    before = cloudstack.admin.call_counts().get(command, 0)
    with watched_status(cluster, "ssvmpools", pool) as history:
        time.sleep(seconds)  # the observation window itself, not a wait for something to happen
    seen: list[dict[str, Any]] = []
    for written in history.seen():
        remediation = written.get("remediation") or {}
        if remediation and (not seen or remediation != seen[-1]):
            seen.append(remediation)
    return cloudstack.admin.call_counts().get(command, 0) - before, seen


def assert_growing(seen: list[dict[str, Any]]) -> None:
    """failures counts up and nextAttemptAfter moves further out each time."""
    failing = [r for r in seen if r.get("failures")]
    failures = [r["failures"] for r in failing]
    assert failures == sorted(failures) and failures[-1] >= 3, seen
    gaps = [
        (_seconds(r["nextAttemptAfter"]) - _seconds(r["lastFailureTime"]))
        for r in failing
        if "nextAttemptAfter" in r
    ]
    assert gaps[-1] > gaps[0] * 2, f"the wait after a failure grows: {gaps}"


def failures_at(statuses: list[dict[str, Any]], generation: int) -> list[int]:
    """status.remediation.failures as written for one generation of the spec, in order."""
    return [
        int((s.get("remediation") or {}).get("failures") or 0)
        for s in statuses
        if s.get("observedGeneration") == generation
    ]


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_retryable_failure_backs_off_and_a_success_resets_it(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.inject_fault("destroySystemVm", "error", status=530)
    cloudstack.admin.fail_vm(cloudstack.admin.ssvms(zone="zone-1")[0]["name"])
    eventually(
        lambda: cloudstack.admin.call_counts().get("destroySystemVm"), timeout=20, what="a first destroy"
    )

    calls, seen = watch_backoff(cluster, cloudstack, "zone-1", "destroySystemVm", WINDOW_SECONDS)
    # Polls every second: without backoff ten more; with it at 1, 2, 4, 8 s (+-10 %) at most four.
    assert 2 <= calls <= 4, f"{calls} destroySystemVm calls in {WINDOW_SECONDS}s"
    assert_growing(seen)
    ready = condition(cluster, "SSVMPool", "zone-1", "Ready")
    assert ready["status"] == "False" and "next remediation attempt after" in ready["message"]
    assert condition(cluster, "SSVMPool", "zone-1", "Stalled") == {}, "530 is worth retrying: not Stalled"

    cloudstack.admin.clear_faults()
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    assert status(cluster, "SSVMPool", "zone-1")["remediation"]["failures"] == 0


def test_a_success_clears_the_whole_backoff_record(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.inject_fault("destroySystemVm", "error", status=530, count=1)
    with watched_status(cluster, "ssvmpools", "zone-1") as history:
        cloudstack.admin.fail_vm(cloudstack.admin.ssvms(zone="zone-1")[0]["name"])
        eventually(
            lambda: 1 in failures_at(history.seen(), generation=1),
            timeout=20,
            what="one failed destroy",
        )
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    assert status(cluster, "SSVMPool", "zone-1")["remediation"] == {"failures": 0}


def test_a_permanent_refusal_stalls_the_pool_without_a_hot_loop_and_a_spec_change_retries_at_once(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.inject_fault(
        "changeServiceForSystemVm", "error", status=431, message="Unable to upgrade: insufficient capacity"
    )
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH, serviceOffering=LARGE))
    stalled = wait_condition(cluster, "SSVMPool", "zone-1", "Stalled", "True", reason="ActionRejected")
    assert "insufficient capacity" in stalled["message"] and "431" in stalled["message"]
    wait_event(cluster, "zone-1", "ChangeOfferingFailed", "Warning")

    cloudstack.admin.reset_call_counts()
    calls, seen = watch_backoff(cluster, cloudstack, "zone-1", "changeServiceForSystemVm", WINDOW_SECONDS)
    assert calls <= 4, f"{calls} changeServiceForSystemVm calls in {WINDOW_SECONDS}s"
    assert_growing(seen)
    every_call = sum(cloudstack.admin.call_counts().values())
    assert every_call / WINDOW_SECONDS < 20, f"{every_call} CloudStack calls in {WINDOW_SECONDS}s"
    assert not cloudstack.admin.call_counts().get("stopSystemVm"), "nothing is stopped for a refused change"

    # A new generation is a new attempt: the backoff is forgotten and the change is tried again at once.
    failures = status(cluster, "SSVMPool", "zone-1")["remediation"]["failures"]
    before = cloudstack.admin.call_counts().get("changeServiceForSystemVm", 0)
    health = {**FAST_HEALTH, "rebootTimeoutSeconds": 4}
    with watched_status(cluster, "ssvmpools", "zone-1") as history:
        apply(cluster, pool_doc("zone-1", "zone-1", health=health, serviceOffering=LARGE))
        eventually(
            lambda: cloudstack.admin.call_counts().get("changeServiceForSystemVm", 0) > before,
            timeout=3,
            what="a retry right after the spec change",
        )
        eventually(
            lambda: 1 in failures_at(history.seen(), generation=3),
            timeout=5,
            what="one failure recorded for the new generation",
        )
    counted = failures_at(history.seen(), generation=3)
    assert counted == sorted(counted), f"failures count afresh from 1 after {failures}: {counted}"
    assert not cloudstack.admin.call_counts().get("stopSystemVm")


def test_a_setting_value_cloudstack_refuses_stalls_the_settings_with_its_field(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    # A whole number to the operator's own check, too big for Java's Integer: only CloudStack refuses it.
    apply(
        cluster,
        {
            "apiVersion": API_VERSION,
            "kind": "SSVMSettings",
            "metadata": {"name": "region-1", "namespace": NAMESPACE},
            "spec": {
                "endpointRef": {"name": "region-1"},
                "settings": {"secstorage.cmd.execution.time.max": "31415926535897932384"},
            },
        },
    )
    eventually(lambda: cloudstack.admin.call_counts().get("updateConfiguration"), what="CloudStack asked")
    stalled = wait_condition(cluster, "SSVMSettings", "region-1", "Stalled", "True", timeout=8)
    assert "spec.settings.secstorage.cmd.execution.time.max" in stalled["message"]
