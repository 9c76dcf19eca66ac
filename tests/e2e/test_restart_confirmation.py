"""Before 4.17 CloudStack does not say when its management servers started: the admin confirms the restart
with an annotation, and only then are the SSVMs rolled onto a boot-time setting."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    endpoint_docs,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
)
from tests.e2e.operator_process import OperatorProcess

ANNOTATION = "ssvm.cloudstack.io/management-servers-restarted-at"
SITES_KEY = "secstorage.allowed.internal.sites"


@pytest.fixture
def cloudstack_416() -> Iterator[SimulatorHandle]:
    with running_simulator(scan_interval=0.5, cloudstack_version="4.16") as sim:
        yield sim


PLACEHOLDER = "<time of the restart, e.g. 2026-11-27T10:00:00Z>"


def run_the_command_given(cluster: Cluster, message: str, restarted_at: str) -> None:
    """What an admin does: copy the kubectl command from the condition message, with the time filled in."""
    given = message.split("kubectl ", 1)[1].split(PLACEHOLDER, 1)[0] + restarted_at
    assert given.startswith("annotate") and f"{ANNOTATION}=" in given, message
    cluster.kubectl(*shlex.split(given), check=True)


def test_a_restart_cloudstack_cannot_report_is_confirmed_by_the_admin(
    cluster: Cluster, cloudstack_416: SimulatorHandle, operator: OperatorProcess
) -> None:
    sim = cloudstack_416
    apply(cluster, *endpoint_docs(sim.api_url, sim.api_key, sim.secret_key))
    apply(cluster, pool_doc("zone-1", "zone-1"), pool_doc("zone-2", "zone-2"))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=40)
    apply(
        cluster,
        {
            "apiVersion": API_VERSION,
            "kind": "SSVMSettings",
            "metadata": {"name": "region-1", "namespace": NAMESPACE},
            "spec": {"endpointRef": {"name": "region-1"}, "allowedInternalSites": ["10.10.0.0/16"]},
        },
    )
    pending = wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )

    sim.admin.restart_management_server()
    restarted = datetime.now(UTC).replace(microsecond=0)
    # A confirmation that cannot be read is refused by name; CloudStack alone cannot end the wait.
    run_the_command_given(cluster, pending["message"], "'after lunch'")
    problem = wait_event(cluster, "region-1", "InvalidAnnotation", "Warning")
    assert ANNOTATION in problem and "'after lunch'" in problem
    # The Event goes out before the status patch of the same pass lands: wait for the message to say it too.
    still = wait_condition(
        cluster,
        "SSVMSettings",
        "region-1",
        "Ready",
        "False",
        reason="ManagementServerRestartRequired",
        containing="'after lunch'",
    )
    assert not sim.admin.call_counts().get("rebootSystemVm"), "nothing is rolled before the confirmation"

    run_the_command_given(cluster, still["message"], restarted.isoformat().replace("+00:00", "Z"))
    eventually(
        lambda: (status(cluster, "SSVMSettings", "region-1").get("rollout") or {}).get("phase") == "Done",
        timeout=60,
        what="every SSVM counted as reached once the restart was confirmed",
    )
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", reason="InSync", timeout=30)
    wait_event(cluster, "region-1", "ManagementServerRestarted")
    for vm in sim.admin.ssvms():
        connected_with = vm["boot"]["connect_settings"].get(SITES_KEY)
        assert connected_with == "10.10.0.0/16", f"{vm['name']} runs with sites {connected_with}"
