"""The operator end to end against CloudStack releases years apart, and refusing one below its floor.

A representative subset per release (the full matrix runs in `make compat`): the endpoint shows the release
it found, a pool becomes Ready, and an SSVM whose agent went down is repaired. `SSVM_COMPAT_VERSIONS`
(comma-separated, e.g. "4.15,4.16,4.17") replaces the default releases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    endpoint_docs,
    events,
    eventually,
    pool_doc,
    status,
    wait_condition,
    watched_status,
)
from tests.e2e.operator_process import OperatorProcess

DEFAULT_RELEASES = ("4.15", "4.18", "4.20", "4.22")
"""The oldest supported release, two in between, and the newest the simulator models."""
RELEASES = tuple(
    r.strip() for r in os.environ.get("SSVM_COMPAT_VERSIONS", ",".join(DEFAULT_RELEASES)).split(",") if r
)
ENDPOINT = "region-1"
SCAN_SECONDS = 0.5
"""As fast as the `cloudstack` fixture's simulator (conftest.py), so the same operator timings hold."""


@pytest.fixture
def cloudstack_at(request: pytest.FixtureRequest) -> Iterator[SimulatorHandle]:
    with running_simulator(scan_interval=SCAN_SECONDS, cloudstack_version=request.param) as sim:
        yield sim


def reported(sim: SimulatorHandle) -> str:
    """The release as listCapabilities gives it, e.g. 4.18.0.0."""
    return str(sim.client().listCapabilities()["capability"]["cloudstackversion"])


@pytest.mark.parametrize("cloudstack_at", RELEASES, indirect=True)
def test_a_pool_is_kept_healthy_on_every_supported_release(
    cluster: Cluster, cloudstack_at: SimulatorHandle, operator: OperatorProcess
) -> None:
    sim = cloudstack_at
    version = reported(sim)
    apply(cluster, *endpoint_docs(sim.api_url, sim.api_key, sim.secret_key, name=ENDPOINT))
    apply(
        cluster,
        pool_doc("zone-1", "zone-1", health={"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 10}),
    )

    connected = wait_condition(cluster, "CloudStackEndpoint", ENDPOINT, "Ready", "True", reason="Connected")
    assert status(cluster, "CloudStackEndpoint", ENDPOINT)["cloudstackVersion"] == version
    assert version in connected["message"]
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=30)
    [ssvm] = status(cluster, "SSVMPool", "zone-1")["ssvms"]
    assert ssvm["state"] == "Running" and ssvm["agentState"] == "Up"

    broken = sim.admin.ssvms(zone="zone-1")[0]
    with watched_status(cluster, "ssvmpools", "zone-1") as history:
        sim.admin.set_agent_state(broken["name"], "Alert")
        eventually(
            lambda: "RebootStarted" in [reason for _, reason, _ in events(cluster, "zone-1")],
            timeout=20,
            what=f"a reboot of {broken['name']} on CloudStack {version}",
        )
        wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=30)
    # The pool said it was not Ready while the agent was down, however briefly that lasted.
    assert any(
        c["type"] == "Ready" and c["status"] == "False"
        for written in history.seen()
        for c in written.get("conditions") or ()
    ), "Ready=False while the agent was down"
    [repaired] = status(cluster, "SSVMPool", "zone-1")["ssvms"]
    assert repaired["name"] == broken["name"], "a reboot was enough: the same SSVM is healthy again"
    assert sim.admin.call_counts().get("destroySystemVm") is None


def test_a_release_below_the_supported_floor_is_refused_by_name(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    with running_simulator(scan_interval=SCAN_SECONDS, cloudstack_version="4.14") as sim:
        apply(cluster, *endpoint_docs(sim.api_url, sim.api_key, sim.secret_key, name=ENDPOINT))
        apply(cluster, pool_doc("zone-1", "zone-1", health={"unhealthyAfterSeconds": 1}))
        refused = wait_condition(
            cluster, "CloudStackEndpoint", ENDPOINT, "Ready", "False", reason="UnsupportedVersion", timeout=10
        )
        assert "4.14.0.0" in refused["message"] and "4.15" in refused["message"]
        assert status(cluster, "CloudStackEndpoint", ENDPOINT)["cloudstackVersion"] == "4.14.0.0"
        stalled = wait_condition(cluster, "CloudStackEndpoint", ENDPOINT, "Stalled", "True", timeout=5)
        assert stalled["reason"] == "UnsupportedVersion"
        sim.admin.set_agent_state(sim.admin.ssvms(zone="zone-1")[0]["name"], "Alert")
        pool_ready = wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "False", timeout=10)
        assert "4.14.0.0" in pool_ready["message"]
        calls = sim.admin.call_counts()
        assert not {"rebootSystemVm", "stopSystemVm", "destroySystemVm", "updateConfiguration"} & set(calls)
