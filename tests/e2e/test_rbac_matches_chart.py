"""The Helm chart grants exactly the Kubernetes API calls the running operator makes.

The operator runs a full scenario (endpoint, pools, settings with a secret value, an action and its Event)
against the emulator, whose request log records every call; the chart's declared list must cover every call
made, and every permission it declares must have been used.
"""

from __future__ import annotations

import pytest

from cloudstack_sim.testing import SimulatorHandle
from kube_emulator.requestlog import permissions_of
from kube_emulator.testing import EmulatedCluster
from tests.chart.rbac_needs import needed_calls
from tests.e2e.cluster_helpers import (
    NAMESPACE,
    apply,
    condition,
    eventually,
    pool_doc,
    status,
    wait_condition,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import settings_doc

# The emulator records every API call with its verb and resource; the real server keeps no log a test reads.
pytestmark = pytest.mark.emulator


def test_the_chart_grants_what_the_operator_uses_and_nothing_more(
    cluster: EmulatedCluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "proxy", "namespace": NAMESPACE},
            "stringData": {"url": "http://proxy:3128"},
        },
        pool_doc("zone-1", "zone-1", health={"unhealthyAfterSeconds": 1}),
        settings_doc(secretSettings={"secstorage.proxy": {"name": "proxy", "key": "url"}}),
    )
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    cloudstack.admin.fail_vm(cloudstack.admin.ssvms(zone="zone-1")[0]["name"])
    eventually(
        lambda: status(cluster, "SSVMPool", "zone-1").get("recentActions"), what="an action and its Event"
    )
    # The settings were read and applied (the Secret too): in sync, or waiting for a restart.
    eventually(
        lambda: (
            condition(cluster, "SSVMSettings", "region-1", "Ready").get("reason")
            in ("InSync", "ManagementServerRestartRequired")
        ),
        what="the settings applied",
    )

    # The test's own reads go through kubectl and urllib; the rest are the operator's.
    operator_calls = [
        c
        for c in cluster.request_log.resource_calls()
        if not c.user_agent.startswith(("kubectl", "Python-urllib"))
    ]
    used = {(p.api_group, p.resource, p.verb) for p in permissions_of(operator_calls)}
    granted = {(c.group, c.resource, c.verb) for c in needed_calls(clusterwide=True, peering=False)}
    assert used - granted == set(), "the operator made calls the chart does not grant"
    assert granted - used == set(), "the chart grants permissions the operator never used"
