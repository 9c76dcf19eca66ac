"""A region on an older CloudStack with two zones, pools that roll upgrades, and what the tests watch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.e2e.cluster_helpers import Cluster, apply, endpoint_docs, pool_doc, status, wait_condition

OLD_RELEASE = "4.20"
NEW_RELEASE = "4.22"
NEW_VERSION = "4.22.0.0"
ZONES = ("zone-1", "zone-2")


@pytest.fixture
def old_cloud() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(scan_interval=0.5, cloudstack_version=OLD_RELEASE, zones=2) as sim:
        yield sim


def upgrading_pool(zone: str, strategy: str = "Recreate", **spec: Any) -> dict[str, Any]:
    health = {"maxUnavailable": 1, "evidence": {"collect": False}, **spec.pop("health", {})}
    return pool_doc(zone, zone, upgrade={"strategy": strategy}, health=health, **spec)


def start_pools(cluster: Cluster, cloud: SimulatorHandle, *pools: dict[str, Any]) -> None:
    apply(cluster, *endpoint_docs(cloud.api_url, cloud.api_key, cloud.secret_key))
    apply(cluster, *pools)
    for pool in pools:
        wait_condition(cluster, "SSVMPool", pool["metadata"]["name"], "Ready", "True", timeout=60)


def on_new_release(cloud: SimulatorHandle, zone: str, template: str) -> bool:
    vms = cloud.admin.ssvms(zone=zone)
    return bool(vms) and all(
        vm["template"] == template and vm["version"] == NEW_VERSION and vm["agent_state"] == "Up"
        for vm in vms
    )


def upgrade_actions(cluster: Cluster, pool: str) -> list[dict[str, Any]]:
    planned = status(cluster, "SSVMPool", pool).get("plannedActions") or []
    return [a for a in planned if str(a.get("action", "")).startswith("Upgrade")]
