"""One operator run shared by the metrics, Events and logs tests: it manages zone-1, an SSVM fails and is
replaced, then the zone is left alone for a while, as a quiet production zone would be."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.cluster_helpers import eventually, pool_doc, wait_condition
from tests.observability.scene import Scene, operator_scene

FAST_HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}


@dataclass
class RepairedZone:
    scene: Scene
    replaced: str
    """The SSVM that was failed and replaced while the operator ran."""
    quiet_from: int
    """The first log line written after the zone settled."""


@pytest.fixture(scope="session")
def repaired_zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepairedZone]:
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    with operator_scene(log_path, pool_doc("zone-1", "zone-1", health=FAST_HEALTH)) as scene:
        cluster, cloudstack = scene.cluster, scene.cloudstack
        wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
        # One refused CloudStack request, so the error counter has a sample with CloudStack's code.
        cloudstack.admin.inject_fault(command="listZones", kind="error", count=1, status=530)
        failed = cloudstack.admin.ssvms(zone="zone-1")[0]["name"]
        cloudstack.admin.fail_vm(failed)
        eventually(
            lambda: cloudstack.admin.call_counts().get("destroySystemVm"),
            timeout=40,
            what="the failed SSVM removed",
        )
        wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
        wait_condition(cluster, "CloudStackEndpoint", "region-1", "Ready", "True", timeout=30)
        quiet_from = len(scene.log_lines())
        # Ten reconciles of the pool in which nothing changes, counted by the operator itself.
        settled = pool_reconciles(scene)
        eventually(lambda: pool_reconciles(scene) >= settled + 10, timeout=30, what="ten quiet ticks")
        yield RepairedZone(scene, failed, quiet_from)


def pool_reconciles(scene: Scene) -> float:
    for family in text_string_to_metric_families(scene.scrape()):
        if family.name == "ssvm_operator_reconciles":
            return sum(
                s.value
                for s in family.samples
                if s.name.endswith("_total") and s.labels.get("kind") == "SSVMPool"
            )
    return 0.0
