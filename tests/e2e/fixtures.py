"""Fixtures shared by the end-to-end and reliability suites: one simulator, one cluster and one real operator
process per test. Each suite's conftest imports them by name.

The cluster is the real control plane (kube-apiserver and etcd, shared by the session, cleaned after each
test) unless the test is marked `emulator` (it reads the request log, which only the emulator keeps) or
SSVM_TESTS_KUBE=emulator asks for the emulator everywhere. A test marked `kube_faults` reaches the real
server through a fault-injecting proxy (tests/support/fault_proxy.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from kube_emulator.testing import emulated_cluster
from tests.e2e.cluster_helpers import Cluster, apply, endpoint_docs
from tests.e2e.operator_process import OperatorProcess
from tests.support.control_plane import ControlPlane, real_backend
from tests.support.fault_proxy import fault_proxy

REPOSITORY = Path(__file__).resolve().parents[2]
SCAN_SECONDS = 0.5


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(scan_interval=SCAN_SECONDS) as sim:
        yield sim


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    if request.node.get_closest_marker("emulator") or not real_backend():
        with emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=["default"]) as running:
            yield running
        return
    plane: ControlPlane = request.getfixturevalue("kube_control_plane")
    if request.node.get_closest_marker("kube_faults"):
        tmp_path: Path = request.getfixturevalue("tmp_path")
        with fault_proxy(plane.admin, tmp_path / "proxied.kubeconfig") as proxied:
            yield proxied
    else:
        yield plane.admin
    plane.admin.reset()


@pytest.fixture
def operator(cluster: Cluster, tmp_path: Path) -> Iterator[OperatorProcess]:
    process = OperatorProcess(cluster.env(), tmp_path / "operator.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def endpoint(cluster: Cluster, cloudstack: SimulatorHandle) -> str:
    apply(cluster, *endpoint_docs(cloudstack.api_url, cloudstack.api_key, cloudstack.secret_key))
    return "region-1"
