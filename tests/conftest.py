"""One real control plane (etcd and kube-apiserver) for the whole test session, started on first use.

Starting it takes seconds, so the tests that run against it share it and each leaves it clean for the next
(see `RealCluster.reset`); tests that need the emulator's fault injection or request log use the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.control_plane import BINARIES, ControlPlane, control_plane
from tests.support.paths import REPOSITORY
from tests.support.tools import require_tool


@pytest.fixture(scope="session")
def kube_control_plane() -> Iterator[ControlPlane]:
    for name in BINARIES:
        require_tool(name)
    with control_plane(crds=[REPOSITORY / "crds"]) as plane:
        yield plane
