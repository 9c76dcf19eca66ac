"""The real operator's /metrics, scraped while it manages a zone and repairs an SSVM, as Prometheus sees it.

One operator process (kopf inside) runs against the Kubernetes emulator and the CloudStack simulator with
`--metrics-port`; the scrape must pass `promtool check metrics` and carry every family the operator
promises: reconciles, CloudStack calls, errors and request durations, SSVMs by state, desired and ready
replicas, remediations, conditions, the circuit breaker, the last successful contact and the build.
"""

from __future__ import annotations

import subprocess
from importlib.metadata import version as package_version

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.cluster_helpers import get
from tests.observability.conftest import RepairedZone
from tests.observability.kstatus import CURRENT, compute
from tests.observability.lua import run_health
from tests.support.tools import require_tool


def samples(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Samples by family name (counters without `_total`, as the exposition format's parser names them)."""
    return {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_the_scrape_passes_promtool(repaired_zone: RepairedZone) -> None:
    promtool = require_tool("promtool")
    text = repaired_zone.scene.scrape()
    checked = subprocess.run(
        [str(promtool), "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, f"promtool check metrics: {checked.stdout}{checked.stderr}"


def test_reconciles_are_counted_by_kind_and_result_and_timed(repaired_zone: RepairedZone) -> None:
    found = samples(repaired_zone.scene.scrape())
    results = {(labels["kind"], labels["result"]) for _, labels, _ in found["ssvm_operator_reconciles"]}
    assert {("SSVMPool", "success"), ("CloudStackEndpoint", "success")} <= results
    counts = [
        value
        for name, labels, value in found["ssvm_operator_reconcile_duration_seconds"]
        if name.endswith("_count") and labels["kind"] == "SSVMPool"
    ]
    assert counts and counts[0] > 0


def test_cloudstack_calls_errors_and_latency_are_counted_by_command(repaired_zone: RepairedZone) -> None:
    found = samples(repaired_zone.scene.scrape())
    calls = {
        (labels["command"], labels["code"]) for _, labels, _ in found["ssvm_operator_cloudstack_api_calls"]
    }
    assert {("listZones", "0"), ("listSystemVms", "0"), ("destroySystemVm", "0")} <= calls
    errors = {
        (labels["command"], labels["code"]) for _, labels, _ in found["ssvm_operator_cloudstack_api_errors"]
    }
    assert ("listZones", "530") in errors
    durations = {
        labels["command"]
        for name, labels, _ in found["ssvm_operator_cloudstack_api_request_duration_seconds"]
        if name.endswith("_count")
    }
    assert "listZones" in durations


def test_pool_gauges_show_ssvms_by_state_and_desired_against_ready(repaired_zone: RepairedZone) -> None:
    found = samples(repaired_zone.scene.scrape())
    by_state = {
        labels["state"]: value
        for _, labels, value in found["ssvm_operator_ssvms"]
        if (labels["namespace"], labels["name"], labels["zone"]) == ("default", "zone-1", "zone-1")
    }
    # Every state is reported, at zero too, so a dashboard sees a state empty rather than a series vanish.
    assert by_state["Running"] == 1.0 and by_state["Error"] == 0.0
    desired = [
        v for _, labels, v in found["ssvm_operator_pool_desired_replicas"] if labels["zone"] == "zone-1"
    ]
    ready = [v for _, labels, v in found["ssvm_operator_pool_ready_replicas"] if labels["zone"] == "zone-1"]
    assert desired == [1.0] and ready == [1.0]


def test_the_repair_is_counted_by_action_and_outcome(repaired_zone: RepairedZone) -> None:
    found = samples(repaired_zone.scene.scrape())
    outcomes = {
        (labels["action"], labels["result"]): value
        for _, labels, value in found["ssvm_operator_remediations"]
        if (labels["namespace"], labels["name"], labels["zone"]) == ("default", "zone-1", "zone-1")
    }
    removals = [key for key in outcomes if key[0] in ("Recreate", "DestroySurplus")]
    assert removals, f"no removal counted: {outcomes}"
    assert any(result == "Succeeded" for _, result in removals), outcomes


def test_endpoint_gauges_show_the_breaker_closed_and_a_recent_contact(repaired_zone: RepairedZone) -> None:
    found = samples(repaired_zone.scene.scrape())

    def by_endpoint(family: str) -> dict[tuple[str, str], float]:
        return {(labels["namespace"], labels["name"]): v for _, labels, v in found[family]}

    assert by_endpoint("ssvm_operator_circuit_breaker_open") == {("default", "region-1"): 0.0}
    assert by_endpoint("ssvm_operator_last_successful_contact_timestamp_seconds")[("default", "region-1")] > 0
    assert by_endpoint("ssvm_operator_endpoint_poll_interval_seconds") == {("default", "region-1"): 1.0}


def test_conditions_are_a_gauge_per_object_type_status_and_reason(repaired_zone: RepairedZone) -> None:
    found = samples(repaired_zone.scene.scrape())
    pool = {
        (labels["type"], labels["status"], labels["reason"])
        for _, labels, value in found["ssvm_operator_condition"]
        if (labels["kind"], labels["namespace"], labels["name"]) == ("SSVMPool", "default", "zone-1")
        and value == 1
    }
    assert ("Ready", "True", "SSVMsReady") in pool
    # What held during the repair (Ready=False, Reconciling=True) is gone, not left at a stale 1.
    assert not [c for c in pool if c[0] in ("Reconciling", "Stalled") or c[:2] == ("Ready", "False")], pool


def test_build_info_and_no_created_series(repaired_zone: RepairedZone) -> None:
    text = repaired_zone.scene.scrape()
    found = samples(text)
    [(_, labels, value)] = found["ssvm_operator_build_info"]
    assert value == 1 and labels["version"] == package_version("ssvm-operator")
    assert "_created" not in text


def test_flux_and_argo_cd_read_the_live_objects_as_healthy(repaired_zone: RepairedZone) -> None:
    lua = require_tool("lua5.4")
    for kind, name in (("SSVMPool", "zone-1"), ("CloudStackEndpoint", "region-1")):
        live = get(repaired_zone.scene.cluster, kind, name)
        assert compute(live).status == CURRENT, (kind, compute(live))
        health = run_health(lua, live)
        assert health.status == "Healthy", (kind, health)
