"""The safety contract as a user sees it: paused and Observe pools act on nothing, a restarted operator never
repeats a destroy, and bad declarations are refused with the field to fix while CloudStack stays untouched."""

from __future__ import annotations

import time

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    condition,
    events,
    eventually,
    get,
    pool_doc,
    status,
    wait_condition,
    wait_event,
    wait_polls,
)
from tests.e2e.operator_process import OperatorProcess

MUTATING = (
    "startSystemVm",
    "stopSystemVm",
    "rebootSystemVm",
    "destroySystemVm",
    "changeServiceForSystemVm",
    "updateZone",
    "updateConfiguration",
)
REMOVALS = ("Recreate", "DestroySurplus")
FAST_HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}


def mutations(cloudstack: SimulatorHandle) -> dict[str, int]:
    counts = cloudstack.admin.call_counts()
    return {command: counts[command] for command in MUTATING if counts.get(command)}


def test_paused_and_observe_pools_show_the_plan_and_act_on_nothing(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(
        cluster,
        pool_doc("zone-1", "zone-1", paused=True, health=FAST_HEALTH),
        pool_doc("zone-2", "zone-2", mode="Observe", health=FAST_HEALTH),
    )
    wait_condition(cluster, "SSVMPool", "zone-1", "Paused", "True")
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=40)
    failed = {zone: cloudstack.admin.ssvms(zone=zone)[0]["name"] for zone in ("zone-1", "zone-2")}
    for name in failed.values():
        cloudstack.admin.fail_vm(name)

    def blocked_for_failed(pool: str) -> list[dict[str, str]]:
        """The blocked actions on the failed VM; its replacement may have some too (an agent still connecting
        past the short grace on a busy machine)."""
        planned = status(cluster, "SSVMPool", pool).get("plannedActions") or ()
        return [a for a in planned if a.get("blocked") and a.get("vmName") == failed[pool]]

    [paused] = eventually(lambda: blocked_for_failed("zone-1"), what="a blocked plan for the paused pool")
    [observed] = eventually(lambda: blocked_for_failed("zone-2"), what="a blocked plan for the Observe pool")
    # CloudStack's scanner already started a replacement for the failed VM, so the failed one is surplus.
    assert paused["action"] in REMOVALS and paused["blocked"].startswith("pool is paused")
    assert observed["blocked"].startswith("Observe mode: not executed")
    eventually(
        lambda: any(r.endswith("Refused") for _, r, _ in events(cluster, "zone-2")), what="a refusal event"
    )
    wait_polls(cloudstack)
    assert mutations(cloudstack) == {}

    apply(cluster, pool_doc("zone-1", "zone-1", paused=False, health=FAST_HEALTH))
    eventually(lambda: mutations(cloudstack).get("destroySystemVm") == 1, what="the unpaused pool acting")
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
    assert condition(cluster, "SSVMPool", "zone-2", "Ready")["status"] == "False"


def test_an_operator_killed_mid_recreate_resumes_the_recorded_job_instead_of_destroying_again(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.inject_fault(command="destroySystemVm", kind="job_stuck", count=1)
    cloudstack.admin.fail_vm(cloudstack.admin.ssvms(zone="zone-1")[0]["name"])

    # The evidence collection before a destroy is in flight too; the destroy's own job is the one that sticks.
    [recorded] = eventually(
        lambda: [e for e in status(cluster, "SSVMPool", "zone-1").get("inFlight") or () if "step" not in e],
        what="the destroy job recorded in status",
    )
    assert recorded["action"] in REMOVALS and recorded["jobId"]
    operator.kill()
    operator.start()
    operator.wait_for_log("pool.reconciled")
    wait_polls(cloudstack)
    assert status(cluster, "SSVMPool", "zone-1")["inFlight"] == [recorded]
    assert mutations(cloudstack) == {"destroySystemVm": 1}

    cloudstack.admin.restart_management_server()  # CloudStack finishes or fails what was stuck
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)


def test_invalid_declarations_are_refused_with_the_field_and_nothing_in_cloudstack_changes(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    refused = cluster.kubectl(
        "apply",
        "-f",
        "-",
        input="apiVersion: ssvm.cloudstack.io/v1alpha1\nkind: SSVMPool\n"
        "metadata: {name: bad, namespace: default}\n"
        "spec: {endpointRef: {name: region-1}, zone: zone-1, replicas: -1, mode: Sometimes}\n",
    )
    assert refused.returncode != 0
    assert "spec.replicas" in refused.stderr and "spec.mode" in refused.stderr

    apply(
        cluster,
        pool_doc("lost", "zone-9"),
        pool_doc("zone-1", "zone-1"),
        pool_doc("zone-1-again", "zone-1"),
        pool_doc("wrong-offering", "zone-2", serviceOffering="No Such Offering"),
        pool_doc("no-endpoint", "zone-2", endpoint="region-9"),
    )
    stalled = {
        name: wait_condition(cluster, "SSVMPool", name, "Stalled", "True", reason=reason)
        for name, reason in {
            "lost": "ZoneNotFound",
            "zone-1-again": "DuplicatePool",
            "wrong-offering": "OfferingNotFound",
            "no-endpoint": "EndpointNotFound",
        }.items()
    }
    assert "zone-1" in stalled["lost"]["message"] and "zone-2" in stalled["lost"]["message"]
    assert "System Offering For Secondary Storage VM" in stalled["wrong-offering"]["message"]
    wait_event(cluster, "no-endpoint", "EndpointNotFound", "Warning")
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True")
    assert mutations(cloudstack) == {}


def test_wrong_keys_stall_the_endpoint_and_its_pools_without_retrying_hot(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess
) -> None:
    from tests.e2e.cluster_helpers import endpoint_docs

    apply(
        cluster,
        *endpoint_docs(cloudstack.api_url, cloudstack.api_key, "not-the-secret"),
        pool_doc("zone-1", "zone-1"),
    )
    stalled = wait_condition(
        cluster, "CloudStackEndpoint", "region-1", "Stalled", "True", reason="Unauthorized"
    )
    assert "not-the-secret" not in stalled["message"]
    wait_condition(cluster, "SSVMPool", "zone-1", "Stalled", "True", reason="Unauthorized")
    cloudstack.admin.reset_call_counts()
    started = time.monotonic()
    seen = get(cluster, "SSVMPool", "zone-1")["metadata"]["resourceVersion"]
    eventually(lambda: time.monotonic() - started > 3, what="three seconds of polling")
    calls = sum(cloudstack.admin.call_counts().values())
    # A permanent error is retried once per poll interval (1 s here), not in a loop.
    assert calls <= 5 * 5, f"{calls} CloudStack calls in 3 s with wrong keys"
    assert get(cluster, "SSVMPool", "zone-1")["metadata"]["resourceVersion"] == seen, "no status churn"
