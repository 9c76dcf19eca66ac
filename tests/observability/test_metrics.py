"""The real operator's /metrics, scraped while it manages a zone and repairs an SSVM, as Prometheus sees it.

One operator process (kopf inside) runs against the Kubernetes emulator and the CloudStack simulator with
`--metrics-port`; the scrape must pass `promtool check metrics` and carry every family the operator
promises: reconciles, CloudStack calls, errors and latency, SSVMs by state, desired and ready replicas,
remediations, the circuit breaker and the last successful contact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from kube_emulator.testing import EmulatedCluster, emulated_cluster
from tests.e2e.cluster_helpers import apply, endpoint_docs, eventually, get, pool_doc, wait_condition
from tests.observability.lua import run_health
from tests.support.network import free_port
from tests.support.paths import REPOSITORY
from tests.support.tools import require_tool

SCAN_SECONDS = 0.5
FAST_HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}


@dataclass
class Scene:
    cluster: EmulatedCluster
    cloudstack: SimulatorHandle
    metrics_url: str
    replaced: str
    """The SSVM that was failed and replaced while the operator ran."""

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            return str(response.read().decode())


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    port = free_port()
    with (
        simulator_in_thread(scan_interval=SCAN_SECONDS) as cloudstack,
        emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=["default"]) as cluster,
        log_path.open("ab") as log,
    ):
        env = {**cluster.env(), "SSVM_OPERATOR_TICK_SECONDS": "0.3", "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "ssvm_operator.cli", "run", "--log-level", "DEBUG"]
        command += ["--metrics-port", str(port), "--metrics-address", "127.0.0.1"]
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            apply(cluster, *endpoint_docs(cloudstack.api_url, cloudstack.api_key, cloudstack.secret_key))
            apply(cluster, pool_doc("zone-1", "zone-1", health=FAST_HEALTH))
            wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
            # One refused CloudStack request, so the error counter has a sample with CloudStack's code.
            cloudstack.admin.inject_fault(command="listZones", kind="error", count=1, status=530)
            failed = cloudstack.admin.ssvms(zone="zone-1")[0]["name"]
            cloudstack.admin.fail_vm(failed)
            eventually(
                lambda: cloudstack.admin.call_counts().get("destroySystemVm"),
                timeout=40,
                what="the failed SSVM removed",
            )
            wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
            wait_condition(cluster, "CloudStackEndpoint", "region-1", "Ready", "True", timeout=30)
            yield Scene(cluster, cloudstack, f"http://127.0.0.1:{port}/metrics", failed)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def samples(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Samples by family name (counters without `_total`, as the exposition format's parser names them)."""
    return {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_the_scrape_passes_promtool(scene: Scene) -> None:
    promtool = require_tool("promtool")
    text = scene.scrape()
    checked = subprocess.run(
        [str(promtool), "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, f"promtool check metrics: {checked.stdout}{checked.stderr}"


def test_reconciles_are_counted_by_kind_and_result_and_timed(scene: Scene) -> None:
    found = samples(scene.scrape())
    results = {(labels["kind"], labels["result"]) for _, labels, _ in found["ssvm_operator_reconciles"]}
    assert {("SSVMPool", "success"), ("CloudStackEndpoint", "success")} <= results
    counts = [
        value
        for name, labels, value in found["ssvm_operator_reconcile_duration_seconds"]
        if name.endswith("_count") and labels["kind"] == "SSVMPool"
    ]
    assert counts and counts[0] > 0


def test_cloudstack_calls_errors_and_latency_are_counted_by_command(scene: Scene) -> None:
    found = samples(scene.scrape())
    calls = {
        (labels["command"], labels["code"]) for _, labels, _ in found["ssvm_operator_cloudstack_api_calls"]
    }
    assert {("listZones", "0"), ("listSystemVms", "0"), ("destroySystemVm", "0")} <= calls
    errors = {
        (labels["command"], labels["code"]) for _, labels, _ in found["ssvm_operator_cloudstack_api_errors"]
    }
    assert ("listZones", "530") in errors
    latency = [labels["command"] for name, labels, _ in found["ssvm_operator_cloudstack_api_latency_seconds"]]
    assert "listZones" in latency


def test_pool_gauges_show_ssvms_by_state_and_desired_against_ready(scene: Scene) -> None:
    found = samples(scene.scrape())
    by_state = {
        labels["state"]: value
        for _, labels, value in found["ssvm_operator_ssvms"]
        if labels["pool"] == "default/zone-1" and labels["zone"] == "zone-1"
    }
    # Every state is reported, at zero too, so a dashboard sees a state empty rather than a series vanish.
    assert by_state["Running"] == 1.0 and by_state["Error"] == 0.0
    desired = [
        v for _, labels, v in found["ssvm_operator_pool_desired_replicas"] if labels["zone"] == "zone-1"
    ]
    ready = [v for _, labels, v in found["ssvm_operator_pool_ready_replicas"] if labels["zone"] == "zone-1"]
    assert desired == [1.0] and ready == [1.0]


def test_the_repair_is_counted_by_action_and_outcome(scene: Scene) -> None:
    found = samples(scene.scrape())
    outcomes = {
        (labels["action"], labels["result"]): value
        for _, labels, value in found["ssvm_operator_remediations"]
    }
    removals = [key for key in outcomes if key[0] in ("Recreate", "DestroySurplus")]
    assert removals, f"no removal counted: {outcomes}"
    assert any(result == "Succeeded" for _, result in removals), outcomes


def test_endpoint_gauges_show_the_breaker_closed_and_a_recent_contact(scene: Scene) -> None:
    found = samples(scene.scrape())
    breaker = {labels["endpoint"]: v for _, labels, v in found["ssvm_operator_circuit_breaker_open"]}
    assert breaker == {"default/region-1": 0.0}
    contact = {
        labels["endpoint"]: v
        for _, labels, v in found["ssvm_operator_last_successful_contact_timestamp_seconds"]
    }
    assert contact["default/region-1"] > 0


def test_argo_cd_reads_the_live_objects_as_healthy(scene: Scene) -> None:
    lua = require_tool("lua5.4")
    for kind, name in (("SSVMPool", "zone-1"), ("CloudStackEndpoint", "region-1")):
        health = run_health(lua, get(scene.cluster, kind, name))
        assert health.status == "Healthy", (kind, health)
