"""A decommissioned management server stays listed Down for ever: it neither blocks nor confirms a restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudstack_sim import scenario as scenarios
from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.e2e.cluster_helpers import Cluster, apply, eventually, pool_doc, status, wait_condition, wait_event
from tests.e2e.fixtures import REPOSITORY, SCAN_SECONDS
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import settings_doc


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    region = scenarios.load(REPOSITORY / "examples" / "sim" / "default.yaml")
    region["management_servers"] = ["ms-1", {"name": "ms-old", "state": "Down"}]
    with simulator_in_thread(scan_interval=SCAN_SECONDS, scenario=region) as sim:
        yield sim


def test_the_restart_of_the_running_server_is_enough_and_the_down_one_is_named(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1"), pool_doc("zone-2", "zone-2"))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=60)
    apply(cluster, settings_doc(allowedInternalSites=["10.10.0.0/16"]))
    required = wait_event(cluster, "region-1", "ManagementServerRestartRequired", "Warning")
    assert "restart of ms-1 " in required and "ms-old is listed Down" in required

    cloudstack.admin.restart_management_server(["ms-1"])
    eventually(
        lambda: not status(cluster, "SSVMSettings", "region-1").get("pendingManagementServerRestart"),
        timeout=30,
        what="the restart confirmed without ms-old",
    )
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", timeout=60)
