"""Fixtures of the chart tests: the real helm binary, with its caches in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helm_runner import Helm, find_helm


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helm]:
    binary = find_helm()
    if binary is None:
        pytest.skip("helm is not installed: run `make tools`")
    home: Path = tmp_path_factory.mktemp("helm")
    yield Helm(binary, home)
