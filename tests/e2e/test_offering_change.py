"""Changing a pool's service offering rolls the zone's SSVMs one at a time, each by a stop and a start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudstack_sim import scenario as scenarios
from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    endpoint_docs,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_polls,
)
from tests.e2e.fixtures import REPOSITORY, SCAN_SECONDS
from tests.e2e.operator_process import OperatorProcess

LARGE = "SSVM Large"
GPU = "SSVM GPU"


def two_ssvms_per_zone(cloudstack: SimulatorHandle) -> None:
    """S=1, B=2 makes CloudStack keep two SSVMs per zone once the management server has restarted."""
    api = cloudstack.client()
    api.updateConfiguration(name="secstorage.session.max", value="1")
    api.updateConfiguration(name="secstorage.capacity.standby", value="2")
    cloudstack.admin.restart_management_server()
    cloudstack.admin.wait_for(
        lambda: len(cloudstack.admin.ssvms(zone="zone-1", running=True)) == 2, timeout=20
    )


def test_an_offering_change_rolls_one_ssvm_at_a_time(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    two_ssvms_per_zone(cloudstack)
    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)

    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2, serviceOffering=LARGE))
    # What the operator takes out of service: SSVMs with one of its jobs in flight. (CloudStack's own
    # scanner may start an extra SSVM while one is stopped, because its standby rule sees capacity short.)
    operator_disruptions: list[set[str]] = []

    def rolled() -> bool:
        in_flight = status(cluster, "SSVMPool", "zone-1").get("inFlight") or []
        operator_disruptions.append({entry["vmName"] for entry in in_flight})
        vms = cloudstack.admin.ssvms(zone="zone-1")
        return len(vms) == 2 and all(
            vm["offering"]["name"] == LARGE and vm["state"] == "Running" for vm in vms
        )

    eventually(rolled, timeout=90, what=f"both SSVMs of zone-1 on {LARGE}")
    most = max(operator_disruptions, key=len)
    assert len(most) == 1, (
        f"never more than one SSVM out of service by the operator (maxUnavailable 1): {most}"
    )
    counts = cloudstack.admin.call_counts()
    assert counts.get("changeServiceForSystemVm", 0) >= 2
    assert counts.get("stopSystemVm") == counts.get("changeServiceForSystemVm"), (
        "each change is a stop and start"
    )
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=30)
    assert {row["offering"] for row in status(cluster, "SSVMPool", "zone-1")["ssvms"]} == {LARGE}


def test_an_offering_cloudstack_would_refuse_stalls_the_pool_and_stops_nothing(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    # Every install has a "- Local Storage" twin of each system offering; the SSVMs' ROOT volumes are on
    # shared storage, so CloudStack refuses the change with 431, after the operator's stop.
    local = "System Offering For Secondary Storage VM - Local Storage"
    apply(cluster, pool_doc("zone-1", "zone-1"))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    apply(cluster, pool_doc("zone-1", "zone-1", serviceOffering=local))
    stalled = wait_condition(cluster, "SSVMPool", "zone-1", "Stalled", "True", reason="OfferingRefused")
    assert "target offering use local storage" in stalled["message"], stalled["message"]
    wait_polls(cloudstack)
    counts = cloudstack.admin.call_counts()
    assert not counts.get("stopSystemVm") and not counts.get("changeServiceForSystemVm")
    assert all(vm["state"] == "Running" for vm in cloudstack.admin.ssvms(zone="zone-1"))


@pytest.fixture
def gpu_cloud() -> Iterator[SimulatorHandle]:
    region = scenarios.load(REPOSITORY / "examples" / "sim" / "default.yaml")
    gpu = {"name": GPU, "cpunumber": 1, "cpuspeed": 500, "memory": 512, "systemvmtype": "secondarystoragevm"}
    region["offerings"] = [*(region.get("offerings") or []), {**gpu, "hosttags": "gpu"}]
    with simulator_in_thread(scan_interval=SCAN_SECONDS, scenario=region) as sim:
        yield sim


def test_an_offering_no_host_could_start_stalls_the_pool_and_stops_nothing(
    cluster: Cluster, gpu_cloud: SimulatorHandle, operator: OperatorProcess
) -> None:
    sim = gpu_cloud
    apply(cluster, *endpoint_docs(sim.api_url, sim.api_key, sim.secret_key))
    apply(cluster, pool_doc("zone-1", "zone-1"))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    apply(cluster, pool_doc("zone-1", "zone-1", serviceOffering=GPU))
    stalled = wait_condition(cluster, "SSVMPool", "zone-1", "Stalled", "True", reason="OfferingRefused")
    assert "no Up host of zone zone-1 has its host tags [gpu]" in stalled["message"], stalled["message"]
    wait_polls(sim)
    counts = sim.admin.call_counts()
    assert not counts.get("stopSystemVm") and not counts.get("changeServiceForSystemVm")
