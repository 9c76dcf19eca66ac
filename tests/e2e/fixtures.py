"""Fixtures shared by the end-to-end and reliability suites: one simulator, one emulated cluster and one
real operator process per test. Each suite's conftest imports them by name."""

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
