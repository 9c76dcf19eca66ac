"""Fixtures for the emulator's own tests: a fresh emulated cluster per test, with a small test CRD.

The contract tests (CONTRACT_MODULES) state how a Kubernetes API server behaves, so each also runs against
the real control plane (tests/conftest.py), with the same CRD: what the emulator claims is checked against
the real thing. A test marked `emulator` reads the emulator's internals and runs on the emulator only.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kube_emulator.testing import EmulatedCluster, emulated_cluster
from tests.support.control_plane import ControlPlane, real_backend
from tests.support.real_cluster import RealCluster
from tests.support.tools import require_tool
from tests.support.waiting import eventually

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
WIDGETS_CRD = FIXTURES / "widgets-crd.yaml"

WidgetFactory = Callable[..., dict[str, Any]]


NAMESPACES = ["default", "other"]
CONTRACT_MODULES = {
    "test_discovery_and_openapi",
    "test_kubectl_contract",
    "test_schema_admission",
    "test_selectors_and_tables",
    "test_storage_semantics",
    "test_watch_streams",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cluster" not in metafunc.fixturenames:
        return
    backends = ["emulator"]
    contract = metafunc.module.__name__.rsplit(".", 1)[-1] in CONTRACT_MODULES
    if contract and real_backend() and not metafunc.definition.get_closest_marker("emulator"):
        backends.append("real")
    metafunc.parametrize("cluster", backends, indirect=True)


@pytest.fixture(scope="session")
def widgets_plane(kube_control_plane: ControlPlane) -> ControlPlane:
    """The session's real control plane with the Widget CRD and the namespaces the emulator starts with."""
    kube_control_plane.admin.install_crds(WIDGETS_CRD)
    for namespace in NAMESPACES:
        kube_control_plane.admin.kubectl("create", "namespace", namespace)  # `default` exists already
    return kube_control_plane


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[EmulatedCluster | RealCluster]:
    if request.param == "emulator":
        with emulated_cluster(crds=[WIDGETS_CRD], namespaces=NAMESPACES) as running:
            yield running
        return
    plane: ControlPlane = request.getfixturevalue("widgets_plane")
    yield plane.admin
    for namespace in NAMESPACES:
        plane.admin.reset(namespace, extra=(("/apis/example.com/v1", "widgets"),))
    drop_test_crds(plane.admin)


def drop_test_crds(cluster: RealCluster) -> None:
    """The CRDs a test posted (group example.org), gone before the next test posts them again."""
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

    def posted() -> list[str]:
        items = (cluster.request("GET", crds).body or {}).get("items") or []
        return [crd["metadata"]["name"] for crd in items if crd["spec"]["group"] == "example.org"]

    for name in posted():
        cluster.request("DELETE", f"{crds}/{name}")
    eventually(lambda: not posted(), 30, "the test's CRDs deleted")


@pytest.fixture
def widgets_crd() -> pathlib.Path:
    return WIDGETS_CRD


@pytest.fixture
def widgets_path() -> str:
    return "/apis/example.com/v1/namespaces/default/widgets"


@pytest.fixture
def kubectl_available() -> None:
    require_tool("kubectl")


def _widget(name: str = "w1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": 1, "zone": "zone-a", **spec},
    }


@pytest.fixture
def widget() -> WidgetFactory:
    """Build a valid Widget body: `widget("name", size=2)`."""
    return _widget
