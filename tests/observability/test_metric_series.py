"""A series lives as long as what it describes (ssvm_operator.metrics): an alert on a deleted pool, a pool's
former zone or a condition that no longer holds must resolve, not fire until the operator restarts."""

from __future__ import annotations

from prometheus_client import REGISTRY

from ssvm_operator import metrics

RUNNING = {"Running": 1, "Stopped": 0}


def value(family: str, /, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(family, labels)


def test_a_pool_moved_to_another_zone_stops_exporting_the_old_one() -> None:
    metrics.export_pool("ns-move", "edge", "zone-1", RUNNING, 1, 0, [("Reboot", "Started")])
    assert value("ssvm_operator_pool_ready_replicas", namespace="ns-move", name="edge", zone="zone-1") == 0
    metrics.export_pool("ns-move", "edge", "zone-2", RUNNING, 1, 1)
    for family in ("ssvm_operator_pool_ready_replicas", "ssvm_operator_pool_desired_replicas"):
        assert value(family, namespace="ns-move", name="edge", zone="zone-1") is None, family
        assert value(family, namespace="ns-move", name="edge", zone="zone-2") == 1, family
    assert (
        value("ssvm_operator_ssvms", namespace="ns-move", name="edge", zone="zone-1", state="Running") is None
    )
    old_action = {
        "namespace": "ns-move",
        "name": "edge",
        "zone": "zone-1",
        "action": "Reboot",
        "result": "Started",
    }
    assert value("ssvm_operator_remediations_total", **old_action) is None


def test_a_deleted_pool_leaves_no_series() -> None:
    metrics.export_pool("ns-gone", "edge", "zone-1", RUNNING, 2, 1, [("Recreate", "Succeeded")])
    metrics.export_conditions(
        "SSVMPool", "ns-gone", "edge", [{"type": "Ready", "status": "False", "reason": "X"}]
    )
    metrics.forget("SSVMPool", "ns-gone", "edge")
    left = [
        sample
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.labels.get("namespace") == "ns-gone"
    ]
    assert left == []


def test_a_condition_that_no_longer_holds_is_removed_not_zeroed() -> None:
    ready_false = {
        "kind": "SSVMSettings",
        "namespace": "ns-c",
        "name": "s",
        "type": "Ready",
        "status": "False",
    }
    restart = {**ready_false, "reason": "ManagementServerRestartRequired"}
    metrics.export_conditions(
        "SSVMSettings", "ns-c", "s", [{"type": "Ready", "status": "False", "reason": restart["reason"]}]
    )
    assert value("ssvm_operator_condition", **restart) == 1
    metrics.export_conditions(
        "SSVMSettings", "ns-c", "s", [{"type": "Ready", "status": "True", "reason": "InSync"}]
    )
    assert value("ssvm_operator_condition", **restart) is None
    in_sync = {**ready_false, "status": "True", "reason": "InSync"}
    assert value("ssvm_operator_condition", **in_sync) == 1


def test_a_deleted_endpoint_leaves_no_series() -> None:
    metrics.export_endpoint("ns-e", "region-9", breaker_open=True, poll_interval=30, contact=1.0)
    metrics.forget("CloudStackEndpoint", "ns-e", "region-9")
    for family in (
        "ssvm_operator_circuit_breaker_open",
        "ssvm_operator_endpoint_poll_interval_seconds",
        "ssvm_operator_last_successful_contact_timestamp_seconds",
    ):
        assert value(family, namespace="ns-e", name="region-9") is None, family
