"""`ssvm-operator plan`: a GitOps pull-request check that shows what Enforce would do, without Kubernetes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.support.paths import REPOSITORY


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(scan_interval=0.5) as sim:
        yield sim


def plan(sim: SimulatorHandle, *files: Path, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLOUDSTACK_API_KEY": sim.api_key, "CLOUDSTACK_SECRET_KEY": secret or sim.secret_key}
    args = [arg for f in files for arg in ("-f", str(f))]
    return subprocess.run(
        [sys.executable, "-m", "ssvm_operator.cli", "plan", "--endpoint", sim.api_url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_examples_plan_cleanly_against_a_healthy_cloud(cloudstack: SimulatorHandle) -> None:
    result = plan(cloudstack, REPOSITORY / "examples" / "pools.yaml")
    assert result.returncode == 0, result.stderr
    assert "SSVMPool zone-1 (zone zone-1): 1/1 ready" in result.stdout
    assert "SSVMPool zone-2 (zone zone-2): 1/1 ready" in result.stdout


def test_a_pull_request_with_an_unknown_zone_fails_the_check_and_changes_nothing(
    cloudstack: SimulatorHandle, tmp_path: Path
) -> None:
    pool = {
        "apiVersion": "ssvm.cloudstack.io/v1alpha1",
        "kind": "SSVMPool",
        "metadata": {"name": "typo"},
        "spec": {"endpointRef": {"name": "region-1"}, "zone": "zone-l", "serviceOffering": "SSVM Large"},
    }
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(pool))
    result = plan(cloudstack, path)
    assert result.returncode == 1
    assert "Stalled: ZoneNotFound" in result.stdout and "zone-1" in result.stdout
    assert not {k for k in cloudstack.admin.call_counts() if not k.startswith(("list", "query"))}


def test_an_offering_change_is_shown_as_the_actions_it_would_take(
    cloudstack: SimulatorHandle, tmp_path: Path
) -> None:
    docs = [
        {
            "kind": "SSVMPool",
            "metadata": {"name": "zone-1"},
            "spec": {
                "endpointRef": {"name": "r"},
                "zone": "zone-1",
                "serviceOffering": "SSVM Large",
                "mode": "Observe",
            },
        },
    ]
    path = tmp_path / "pools.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    result = plan(cloudstack, path)
    assert result.returncode == 0
    assert (
        "ChangeOffering s-1-VM" in result.stdout
        and "[not now" not in result.stdout.split("ChangeOffering")[1]
    )


def test_wrong_keys_and_bad_files_are_clear_errors(cloudstack: SimulatorHandle, tmp_path: Path) -> None:
    refused = plan(cloudstack, REPOSITORY / "examples" / "pools.yaml", secret="wrong")
    assert refused.returncode == 2 and "401" in refused.stderr and "wrong" not in refused.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: SSVMPool\nmetadata: {name: b}\nspec: {endpointRef: {name: r}, zone: z, replicas: -3}\n"
    )
    invalid = plan(cloudstack, bad)
    assert invalid.returncode == 2 and "spec.replicas" in invalid.stderr
