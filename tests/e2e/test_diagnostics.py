"""Connectivity diagnostics from inside the SSVMs tell a storage fault from an SSVM fault, and act on it."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    events,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
)
from tests.e2e.operator_process import OperatorProcess

DIAGNOSE = "ssvm.cloudstack.io/diagnose"
HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 600}


def two_ssvms_per_zone(cloudstack: SimulatorHandle) -> list[str]:
    """S=1, B=2 makes CloudStack keep two SSVMs per zone once the management server has restarted."""
    api = cloudstack.client()
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="2")
    cloudstack.admin.restart_management_server()
    cloudstack.admin.wait_for(
        lambda: len(cloudstack.admin.ssvms(zone="zone-1", running=True)) == 2, timeout=20
    )
    return sorted(vm["name"] for vm in cloudstack.admin.ssvms(zone="zone-1"))


def storage_host(cloudstack: SimulatorHandle) -> str:
    [store] = [s for s in cloudstack.client().listImageStores(fetch_list=True) if s["zonename"] == "zone-1"]
    return str(store["url"]).split("/")[2]


def internal_dns(cloudstack: SimulatorHandle) -> str:
    [zone] = [z for z in cloudstack.client().listZones(fetch_list=True) if z["name"] == "zone-1"]
    return str(zone["internaldns1"])


def connectivity(cluster: Cluster, reason: str, status_: str = "False") -> dict[str, Any]:
    return wait_condition(cluster, "SSVMPool", "zone-1", "Connectivity", status_, reason=reason, timeout=30)


def planned(cluster: Cluster) -> list[dict[str, Any]]:
    return list(status(cluster, "SSVMPool", "zone-1").get("plannedActions") or [])


def diagnose_calls(cloudstack: SimulatorHandle) -> int:
    return cloudstack.admin.call_counts().get("runDiagnostics", 0)


def test_storage_unreachable_from_every_ssvm_is_the_storage_and_no_ssvm_is_repaired(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    ssvms = two_ssvms_per_zone(cloudstack)
    host = storage_host(cloudstack)
    for name in ssvms:
        cloudstack.admin.set_reachability(name, host, reachable=False)
    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2, health=HEALTH))

    found = connectivity(cluster, "StorageUnreachable")
    assert host in found["message"] and "Unable to mount secondary storage" in found["message"]

    def failing() -> set[str]:
        rows = status(cluster, "SSVMPool", "zone-1")["diagnostics"]
        return {r["ssvm"] for r in rows if r["target"] == host and r["reachable"] is False}

    eventually(lambda: failing() == set(ssvms), timeout=10, what="both SSVMs checked")
    assert connectivity(cluster, "StorageUnreachable")["message"].count("-VM") >= 2

    # NFS gone: the agents drop. Rebooting or recreating the SSVMs would not bring the storage back.
    for name in ssvms:
        cloudstack.admin.set_agent_state(name, "Disconnected", sticky=True)
    held = eventually(
        lambda: [a for a in planned(cluster) if a["action"] == "Reboot" and host in a.get("blocked", "")],
        timeout=20,
        what="reboots held for the storage",
    )
    assert "repairing SSVMs would not help" in held[0]["blocked"]
    time.sleep(2)  # well past the 1 s grace period
    counts = cloudstack.admin.call_counts()
    assert not counts.get("rebootSystemVm") and not counts.get("destroySystemVm")
    wait_event(cluster, "zone-1", "StorageUnreachable")

    # The storage answers again: the hold lifts and the ladder repairs, one SSVM at a time.
    for name in ssvms:
        cloudstack.admin.set_reachability(name, host, reachable=True)
    cluster.kubectl("annotate", "--overwrite", "ssvmpool", "zone-1", f"{DIAGNOSE}=restored", check=True)
    connectivity(cluster, "Reachable", "True")
    eventually(
        lambda: cloudstack.admin.call_counts().get("rebootSystemVm"), timeout=20, what="a reboot once allowed"
    )
    assert cloudstack.admin.call_counts().get("rebootSystemVm") == 1


def test_an_ssvm_that_cannot_reach_what_its_sibling_reaches_is_repaired(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    isolated, sibling = two_ssvms_per_zone(cloudstack)
    host = storage_host(cloudstack)
    cloudstack.admin.set_reachability(isolated, host, reachable=False)
    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2, health=HEALTH))

    found = connectivity(cluster, "SSVMIsolated")
    assert isolated in found["message"] and sibling in found["message"]
    started = eventually(
        lambda: [m for _, r, m in events(cluster, "zone-1") if r == "RebootStarted"],
        timeout=20,
        what=f"{isolated} rebooted",
    )
    assert all(m.startswith(f"{isolated}:") for m in started), "only the isolated SSVM"
    time.sleep(1)
    counts = cloudstack.admin.call_counts()
    assert counts.get("rebootSystemVm") == 1 and not counts.get("destroySystemVm")
    degraded = wait_condition(cluster, "SSVMPool", "zone-1", "Degraded", "True", timeout=5)
    assert "SSVMIsolated" in degraded["message"] or degraded["reason"] == "SSVMIsolated"


def test_dns_unreachable_is_reported_with_the_download_hint(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    dns = internal_dns(cloudstack)
    [vm] = cloudstack.admin.ssvms(zone="zone-1")
    cloudstack.admin.set_reachability(vm["name"], dns, reachable=False)
    apply(cluster, pool_doc("zone-1", "zone-1", health=HEALTH))

    found = connectivity(cluster, "DnsUnreachable")
    assert dns in found["message"] and "downloads stay at 0%" in found["message"]
    [row] = [r for r in status(cluster, "SSVMPool", "zone-1")["diagnostics"] if r["target"] == dns]
    assert row["reachable"] is False and row["role"] == "DNS" and "packet loss" in row["error"]
    others = [r for r in status(cluster, "SSVMPool", "zone-1")["diagnostics"] if r["target"] != dns]
    assert others and all(r["reachable"] and r["latencyMs"] > 0 for r in others)
    wait_event(cluster, "zone-1", "ConnectivityLost")
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=10)
    assert not cloudstack.admin.call_counts().get("rebootSystemVm"), "DNS trouble is not an SSVM fault"

    shown = subprocess.run(
        [sys.executable, "-m", "ssvm_operator.cli", "diagnose", "zone-1"],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == 1, shown.stderr
    assert "Connectivity=False (DnsUnreachable)" in shown.stdout and "100% packet loss" in shown.stdout


def test_one_round_at_start_then_none_until_the_annotation_asks(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", diagnostics={"intervalSeconds": 60}))
    connectivity(cluster, "Reachable", "True")
    one_round = diagnose_calls(cloudstack)
    targets = {r["target"] for r in status(cluster, "SSVMPool", "zone-1")["diagnostics"]}
    assert one_round == len(targets) == 3, "storage host, internal DNS and management server, once each"
    time.sleep(3)  # ten operator ticks
    assert diagnose_calls(cloudstack) == one_round, "the interval is honoured"

    cluster.kubectl("annotate", "ssvmpool", "zone-1", f"{DIAGNOSE}=1", check=True)
    eventually(lambda: diagnose_calls(cloudstack) == 2 * one_round, timeout=10, what="a requested round")
    run = eventually(
        lambda: (
            status(cluster, "SSVMPool", "zone-1")["diagnosticsRun"].get("servedRequest") == "1"
            and status(cluster, "SSVMPool", "zone-1")["diagnosticsRun"]
        ),
        timeout=10,
        what="the request marked served",
    )
    assert run["nextRunAfter"] > run["lastRunTime"]
    time.sleep(2)
    assert diagnose_calls(cloudstack) == 2 * one_round, "a request is served once"
