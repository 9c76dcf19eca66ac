"""Reliability tests: the real operator process against the simulator and the emulated cluster, under faults.

The fixtures are those of tests/e2e (one simulator, one emulated cluster, one operator per test); the
helpers there are reused rather than copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from kube_emulator.testing import EmulatedCluster, emulated_cluster
from tests.e2e.cluster_helpers import apply, endpoint_docs
from tests.e2e.operator_process import OperatorProcess

REPOSITORY = Path(__file__).resolve().parents[2]
SCAN_SECONDS = 0.5
FAST_HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(scan_interval=SCAN_SECONDS) as sim:
        yield sim


@pytest.fixture
def cluster() -> Iterator[EmulatedCluster]:
    with emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=["default"]) as running:
        yield running


@pytest.fixture
def operator(cluster: EmulatedCluster, tmp_path: Path) -> Iterator[OperatorProcess]:
    process = OperatorProcess(cluster.env(), tmp_path / "operator.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def endpoint(cluster: EmulatedCluster, cloudstack: SimulatorHandle) -> str:
    apply(cluster, *endpoint_docs(cloudstack.api_url, cloudstack.api_key, cloudstack.secret_key))
    return "region-1"
