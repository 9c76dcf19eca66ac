"""Fixtures of the chart tests: the real helm binary, with its caches in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chart.helm_runner import Helm
from tests.support.tools import require_tool


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helm]:
    binary = require_tool("helm")
    home: Path = tmp_path_factory.mktemp("helm")
    yield Helm(binary, home)
