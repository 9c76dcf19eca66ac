"""Idle costs nothing: with every pool healthy and nothing changing, the operator writes nothing at all.

A status that moved with the clock would rewrite every object once per poll: an etcd write and a watch event
to every watcher (the operator itself, Argo CD, Flux) for no news. Read through watches, so no write that
came and went between two samples is missed.
"""

from __future__ import annotations

import contextlib

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    condition,
    eventually,
    pool_doc,
    wait_condition,
    wait_polls,
    watched_versions,
)
from tests.e2e.operator_process import OperatorProcess

ZONES = ("zone-1", "zone-2")
POLLS_WATCHED = 6
"""Endpoint polls (one second each here) over which nothing may be written."""


def settings_doc() -> dict[str, object]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMSettings",
        "metadata": {"name": "region-1", "namespace": NAMESPACE},
        "spec": {"endpointRef": {"name": "region-1"}, "settings": {"secstorage.session.max": "50"}},
    }


def test_healthy_pools_endpoint_and_settings_are_not_rewritten_while_nothing_changes(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, *(pool_doc(zone, zone) for zone in ZONES), settings_doc())
    for zone in ZONES:
        wait_condition(cluster, "SSVMPool", zone, "Ready", "True", timeout=60)
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", timeout=60)
    eventually(
        lambda: all(not condition(cluster, "SSVMPool", zone, "Reconciling") for zone in ZONES),
        what="every pool idle",
    )
    wait_polls(cloudstack)  # whatever the first reconciles had still to say is said

    kinds = {"ssvmpools": len(ZONES), "cloudstackendpoints": 1, "ssvmsettings": 1}
    with contextlib.ExitStack() as watches:
        histories = {
            plural: watches.enter_context(watched_versions(cluster, plural, expected))
            for plural, expected in kinds.items()
        }
        wait_polls(cloudstack, POLLS_WATCHED)
        writes = {plural: history.changes() for plural, history in histories.items()}

    assert writes == {plural: [] for plural in kinds}
    assert not cloudstack.admin.call_counts().get("updateConfiguration"), "the declared value was in place"
