"""`ssvm-operator plan` shows a pending upgrade roll in a pull request: what each pool would do, in order."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread


@pytest.fixture
def upgraded() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(scan_interval=0.5, cloudstack_version="4.20", zones=2) as sim:
        sim.admin.wait_for(lambda: len(sim.admin.ssvms(running=True)) == 2, timeout=20)
        sim.admin.upgrade("4.22")
        yield sim


def pools(strategy: str) -> list[dict[str, object]]:
    return [
        {
            "kind": "SSVMPool",
            "metadata": {"name": zone},
            "spec": {"endpointRef": {"name": "r"}, "zone": zone, "upgrade": {"strategy": strategy}},
        }
        for zone in ("zone-1", "zone-2")
    ]


def plan(
    sim: SimulatorHandle, docs: list[dict[str, object]], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "pools.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    env = {**os.environ, "CLOUDSTACK_API_KEY": sim.api_key, "CLOUDSTACK_SECRET_KEY": sim.secret_key}
    return subprocess.run(
        [sys.executable, "-m", "ssvm_operator.cli", "plan", "--endpoint", sim.api_url, "-f", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_plan_shows_the_roll_zone_by_zone(upgraded: SimulatorHandle, tmp_path: Path) -> None:
    result = plan(upgraded, pools("Recreate"), tmp_path)
    assert result.returncode == 0, result.stderr
    zone_1, zone_2 = result.stdout.split("SSVMPool zone-2")
    [first] = [line for line in zone_1.splitlines() if "UpgradeRecreate" in line]
    assert "agent 4.20.0.0 is behind the management servers' 4.22.0.0" in first
    assert "systemvm-kvm-4.22" in first and "[not now" not in first
    [second] = [line for line in zone_2.splitlines() if "UpgradeRecreate" in line]
    assert second.endswith("[not now: the upgrade goes one zone at a time: zone zone-1 first]")
    assert not {k for k in upgraded.admin.call_counts() if not k.startswith(("list", "query"))}


def test_strategy_none_plans_no_upgrade(upgraded: SimulatorHandle, tmp_path: Path) -> None:
    result = plan(upgraded, pools("None"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Upgrade" not in result.stdout
