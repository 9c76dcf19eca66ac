"""Outside its maintenance window a pool rolls nothing, while a broken SSVM is still repaired at once;
once the window opens, the held work runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    endpoint_docs,
    eventually,
    status,
    wait_condition,
    wait_polls,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.upgrade_helpers import (
    NEW_RELEASE,
    old_cloud,
    on_new_release,
    start_pools,
    upgrade_actions,
    upgrading_pool,
)

__all__ = ["old_cloud"]


def window_at(hours_from_now: int) -> dict[str, str]:
    """A daily one-hour window starting `hours_from_now` hours from now (UTC)."""
    start = datetime.now(UTC) + timedelta(hours=hours_from_now)
    return {"schedule": f"0 {start.hour} * * *", "timeZone": "UTC", "duration": "1h"}


def open_now() -> dict[str, str]:
    return {"schedule": "* * * * *", "timeZone": "UTC", "duration": "2h"}


def test_nothing_rolls_outside_the_window_while_a_broken_ssvm_is_repaired_at_once(
    cluster: Cluster, old_cloud: SimulatorHandle, operator: OperatorProcess
) -> None:
    closed = [window_at(12)]
    pools = [
        upgrading_pool(zone, maintenanceWindows=closed, health={"unhealthyAfterSeconds": 1})
        for zone in ("zone-1", "zone-2")
    ]
    start_pools(cluster, old_cloud, *pools)
    template = old_cloud.admin.upgrade(NEW_RELEASE)["template"]

    [held] = eventually(lambda: upgrade_actions(cluster, "zone-1"), 30, "zone-1's upgrade planned")
    assert held["blocked"].startswith("outside the maintenance window; next window opens at ")
    window = wait_condition(cluster, "SSVMPool", "zone-1", "MaintenanceWindow", "False", reason="Closed")
    assert "action(s) wait for the next window" in window["message"]
    assert status(cluster, "SSVMPool", "zone-1")["waitingForWindow"] >= 1

    # A broken SSVM is not voluntary work: it is repaired now, window or not.
    old_cloud.admin.pause_scanner()
    broken = old_cloud.admin.ssvms(zone="zone-2")[0]
    old_cloud.admin.fail_vm(broken["name"], "Stopped")
    eventually(lambda: old_cloud.admin.call_counts().get("startSystemVm", 0) >= 1, 30, "the repair's start")
    wait_polls(old_cloud, 3)
    counts = old_cloud.admin.call_counts()
    assert not counts.get("destroySystemVm") and not counts.get("patchSystemVm"), (
        "no upgrade outside a window"
    )
    old_cloud.admin.resume_scanner()

    apply(cluster, upgrading_pool("zone-1", maintenanceWindows=[open_now()]))
    eventually(
        lambda: on_new_release(old_cloud, "zone-1", template["name"]), 90, "zone-1 rolled in its window"
    )
    wait_condition(cluster, "SSVMPool", "zone-1", "MaintenanceWindow", "True", reason="Open")
    assert old_cloud.admin.ssvms(zone="zone-2")[0]["template"] != template["name"], (
        "zone-2's window is closed"
    )


def test_an_invalid_window_is_refused_at_admission_or_named_in_stalled(
    cluster: Cluster, old_cloud: SimulatorHandle, operator: OperatorProcess
) -> None:
    bad_duration = upgrading_pool(
        "zone-1", maintenanceWindows=[{"schedule": "0 2 * * *", "duration": "2 hours"}]
    )
    refused = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad_duration))
    assert refused.returncode != 0 and "duration" in refused.stderr

    bad_zone = upgrading_pool(
        "zone-1", maintenanceWindows=[{"schedule": "0 2 * * *", "timeZone": "Mars/Olympus", "duration": "2h"}]
    )
    apply(cluster, *endpoint_docs(old_cloud.api_url, old_cloud.api_key, old_cloud.secret_key), bad_zone)
    stalled = wait_condition(cluster, "SSVMPool", "zone-1", "Stalled", "True", reason="InvalidSpec")
    assert "spec.maintenanceWindows[0].timeZone" in stalled["message"]
