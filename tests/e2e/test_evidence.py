"""Before the operator destroys a broken SSVM, it asks CloudStack for the SSVM's diagnostics data: the URL (or
why there is none) is in the Event, recentActions and the log, and the repair never waits past the timeout."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Any

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, apply, eventually, pool_doc, status, wait_condition, wait_event
from tests.e2e.operator_process import OperatorProcess

LADDER = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}


def two_ssvms(cloudstack: SimulatorHandle) -> list[str]:
    """S=1, B=2 makes CloudStack keep two SSVMs in the zone once the management server has restarted."""
    api = cloudstack.client()
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="2")
    cloudstack.admin.restart_management_server()
    cloudstack.admin.wait_for(
        lambda: len(cloudstack.admin.ssvms(zone="zone-1", running=True)) == 2, timeout=20
    )
    return sorted(vm["name"] for vm in cloudstack.admin.ssvms(zone="zone-1"))


def jobs(cloudstack: SimulatorHandle, command: str) -> list[dict[str, Any]]:
    return [j for j in cloudstack.admin.state()["jobs"] if j["command"] == command]


def created(job: dict[str, Any]) -> datetime:
    return datetime.strptime(job["created"], "%Y-%m-%dT%H:%M:%S%z")


def recreate_started(cluster: Cluster, timeout: float = 60) -> str:
    return wait_event(cluster, "zone-1", "RecreateStarted", timeout=timeout)


def recent_recreate(cluster: Cluster) -> dict[str, Any]:
    """The Started row of the recreation; the status patch of a pass may land after its Event."""

    def row() -> dict[str, Any] | None:
        rows = status(cluster, "SSVMPool", "zone-1").get("recentActions") or []
        return next((r for r in rows if r["action"] == "Recreate" and r["result"] == "Started"), None)

    found: dict[str, Any] = eventually(row, timeout=10, what="the recreation in status.recentActions")
    return found


def test_a_broken_ssvm_is_recreated_with_the_url_of_its_diagnostics_data(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    broken, _ = two_ssvms(cloudstack)
    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2, health=LADDER))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    broken_id = cloudstack.admin.vm(broken)["id"]  # type: ignore[index]
    cloudstack.admin.set_agent_state(broken, "Alert", sticky=True)

    message = recreate_started(cluster)
    assert message.startswith(f"{broken}:"), message
    assert "evidence: http://" in message and "/userdata/" in message, message
    assert "users' download links of this zone stop working" in message, "destroySystemVm clears them"
    url = message.split("evidence: ", 1)[1].split(";", 1)[0]
    assert url in recent_recreate(cluster)["message"]
    operator.wait_for_log(url)

    [collection] = jobs(cloudstack, "getDiagnosticsData")
    assert collection["status"] == "SUCCEEDED"
    [destroy] = jobs(cloudstack, "destroySystemVm")
    assert created(destroy) >= created(collection), "the collection comes first"
    [store] = [s for s in cloudstack.admin.state()["image_stores"] if s["files"]]
    [(path, zipped)] = store["files"].items()
    assert path.startswith("diagnostics_data/diagnostics_files_") and zipped["vm"] == broken_id
    assert "/var/log/cloud.log" in zipped["contents"]


def test_a_guest_cloudstack_cannot_reach_fails_quickly_and_the_event_says_why(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    health = {**LADDER, "evidence": {"timeoutSeconds": 30}}
    apply(cluster, pool_doc("zone-1", "zone-1", health=health))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.set_reachability(vm["name"], "link-local", reachable=False)
    cloudstack.admin.set_agent_state(vm["name"], "Alert", sticky=True)

    message = recreate_started(cluster)
    assert "no evidence: getDiagnosticsData job" in message, message
    assert "Failed to generate diagnostics zip file" in message
    [collection] = jobs(cloudstack, "getDiagnosticsData")
    [destroy] = jobs(cloudstack, "destroySystemVm")
    held = (created(destroy) - created(collection)).total_seconds()
    assert held <= 3, f"a failed collection does not hold the repair for its 30 s timeout (held {held}s)"


def test_a_collection_that_never_ends_holds_the_repair_only_until_the_timeout(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    health = {"unhealthyAfterSeconds": 1, "evidence": {"timeoutSeconds": 3}}
    apply(cluster, pool_doc("zone-1", "zone-1", health=health))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.inject_fault("getDiagnosticsData", "job_stuck")
    cloudstack.admin.pause_scanner()  # CloudStack would replace the failed VM itself
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.fail_vm(vm["name"], "Error")

    message = recreate_started(cluster)
    assert "still running after 3s (spec.health.evidence.timeoutSeconds); not waited for" in message
    [collection] = jobs(cloudstack, "getDiagnosticsData")
    [destroy] = jobs(cloudstack, "destroySystemVm")
    held = (created(destroy) - created(collection)).total_seconds()
    assert 2 <= held <= 5, f"held {held}s for a 3 s timeout"


def test_an_operator_restarted_mid_collection_destroys_once_without_asking_again(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    health = {"unhealthyAfterSeconds": 1, "evidence": {"timeoutSeconds": 8}}
    apply(cluster, pool_doc("zone-1", "zone-1", health=health))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.inject_fault("getDiagnosticsData", "job_stuck")
    cloudstack.admin.pause_scanner()  # CloudStack would replace the failed VM itself
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.fail_vm(vm["name"], "Error")

    def recorded() -> list[dict[str, Any]]:
        rows = status(cluster, "SSVMPool", "zone-1").get("inFlight") or []
        return [r for r in rows if r.get("step") == "evidence"]

    [row] = eventually(recorded, timeout=20, what="the collection recorded in status.inFlight")
    operator.restart()

    message = recreate_started(cluster, timeout=40)
    assert "still running after 8s" in message, message
    counts = cloudstack.admin.call_counts()
    assert counts.get("getDiagnosticsData") == 1, "the recorded job is followed, not asked for again"
    assert counts.get("destroySystemVm") == 1
    [collection] = jobs(cloudstack, "getDiagnosticsData")
    assert collection["id"] == row["jobId"]
    [destroy] = jobs(cloudstack, "destroySystemVm")
    held = (created(destroy) - created(collection)).total_seconds()
    assert held <= 8 + 2, f"the deadline counts from the request, not from the restart (held {held}s)"


def test_observe_mode_plans_the_collection_and_runs_nothing(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", mode="Observe", health={"unhealthyAfterSeconds": 1}))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.pause_scanner()  # CloudStack would replace the failed VM itself
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.fail_vm(vm["name"], "Error")

    def planned_recreate() -> list[dict[str, Any]]:
        rows = status(cluster, "SSVMPool", "zone-1").get("plannedActions") or []
        return [r for r in rows if r["action"] == "Recreate"]

    [row] = eventually(planned_recreate, timeout=20, what="a planned recreate")
    assert row["evidence"] == "getDiagnosticsData first, waiting at most 60s"
    assert "Observe" in row["blocked"]
    counts = cloudstack.admin.call_counts()
    assert not counts.get("getDiagnosticsData") and not counts.get("destroySystemVm")


def test_a_cloudstack_without_the_command_skips_the_collection_and_says_so(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    # A release without getDiagnosticsData answers it as an unknown command: 401 under API-key signing.
    apply(cluster, pool_doc("zone-1", "zone-1", health={"unhealthyAfterSeconds": 1}))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.inject_fault("getDiagnosticsData", "error", status=401)
    cloudstack.admin.pause_scanner()  # CloudStack would replace the failed VM itself
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.fail_vm(vm["name"], "Error")

    message = recreate_started(cluster)
    assert "does not offer getDiagnosticsData" in message and "collection skipped" in message, message
    assert cloudstack.admin.call_counts().get("destroySystemVm") == 1
    ready = wait_condition(cluster, "CloudStackEndpoint", endpoint, "Ready", "True")
    assert ready["reason"] == "Connected", "a refused collection is not a credentials problem"


def collect_command(cluster: Cluster, cloudstack: SimulatorHandle) -> subprocess.CompletedProcess[str]:
    env = {
        **cluster.env(),
        "CLOUDSTACK_API_KEY": cloudstack.api_key,
        "CLOUDSTACK_SECRET_KEY": cloudstack.secret_key,
    }
    return subprocess.run(
        [sys.executable, "-m", "ssvm_operator.cli", "diagnose", "--collect", "zone-1", "--timeout", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_diagnose_collect_prints_where_each_ssvm_of_the_pool_left_its_data(
    cluster: Cluster, cloudstack: SimulatorHandle, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1"))
    [vm] = cloudstack.admin.ssvms(zone="zone-1")

    shown = collect_command(cluster, cloudstack)
    assert shown.returncode == 0, shown.stderr
    assert "SSVMPool default/zone-1 (zone zone-1): diagnostics data of 1 SSVM(s)" in shown.stdout
    [line] = [line for line in shown.stdout.splitlines() if vm["name"] in line]
    assert "Running  http://" in line and "/userdata/" in line, shown.stdout
    assert cloudstack.api_key not in shown.stdout + shown.stderr
    assert cloudstack.admin.call_counts().get("getDiagnosticsData") == 1

    cloudstack.admin.set_reachability(vm["name"], "link-local", reachable=False)
    failed = collect_command(cluster, cloudstack)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "none: getDiagnosticsData job" in failed.stdout and "Failed to generate" in failed.stdout
