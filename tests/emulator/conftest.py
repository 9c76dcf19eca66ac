"""Fixtures for the emulator's own tests: a fresh emulated cluster per test, with a small test CRD."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kube_emulator.testing import EmulatedCluster, emulated_cluster
from tests.support.tools import require_tool

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
WIDGETS_CRD = FIXTURES / "widgets-crd.yaml"

WidgetFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def cluster() -> Iterator[EmulatedCluster]:
    with emulated_cluster(crds=[WIDGETS_CRD], namespaces=["default", "other"]) as running:
        yield running


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
