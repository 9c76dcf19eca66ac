"""Runs the real helm binary on the chart, offline, with its caches in a temporary directory."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import REPOSITORY

CHART = REPOSITORY / "charts" / "ssvm-operator"
RELEASE = "ssvm"
NAMESPACE = "ssvm-system"

Manifest = dict[str, Any]


def load_sync() -> Any:
    """The chart's generator script (charts/ssvm-operator/hack/sync.py) as a module."""
    spec = importlib.util.spec_from_file_location("chart_sync", CHART / "hack" / "sync.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class HelmResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Helm:
    """`helm lint` and `helm template` of the chart with values given as a dict (written to a file)."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.home = home
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        self._renders: dict[str, list[Manifest]] = {}

    def run(self, *args: str) -> HelmResult:
        done = subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=self.env, timeout=60, check=False
        )
        return HelmResult(done.returncode, done.stdout, done.stderr)

    def _values_args(self, values: Mapping[str, Any]) -> list[str]:
        if not values:
            return []
        handle, name = tempfile.mkstemp(suffix=".yaml", dir=self.home)
        with os.fdopen(handle, "w") as file:
            yaml.safe_dump(dict(values), file)
        return ["--values", name]

    def lint(self, values: Mapping[str, Any] | None = None, *extra: str) -> HelmResult:
        return self.run("lint", "--strict", str(CHART), *self._values_args(values or {}), *extra)

    def template(self, values: Mapping[str, Any] | None = None, *extra: str) -> HelmResult:
        values_args = self._values_args(values or {})
        return self.run("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *values_args, *extra)

    def render(self, values: Mapping[str, Any] | None = None, *extra: str) -> list[Manifest]:
        """Every manifest `helm template` renders (hooks included); fails the test when helm fails."""
        key = json.dumps([values or {}, extra], sort_keys=True)
        if key not in self._renders:
            result = self.template(values, *extra)
            assert result.returncode == 0, f"helm template failed:\n{result.output}"
            docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
            self._renders[key] = docs
        return self._renders[key]


def of_kind(manifests: Sequence[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: Sequence[Manifest], kind: str) -> Manifest:
    found = of_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]
