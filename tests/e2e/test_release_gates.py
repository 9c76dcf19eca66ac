"""What a release lacks is never called: on 4.16.0 `resetConfiguration` does not exist yet (its `since =
"4.16.0"` is wrong), and CloudStack answers a command it does not have with 401, which would read as bad API
keys. A Restore there puts back what it kept and names what it could not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.e2e.cluster_helpers import (
    NAMESPACE,
    Cluster,
    apply,
    endpoint_docs,
    events,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import SITES_KEY, setting, settings_doc

PROXY_KEY = "secstorage.proxy"


@pytest.fixture
def cloudstack_4160() -> Iterator[SimulatorHandle]:
    with running_simulator(scan_interval=0.5, cloudstack_version="4.16.0") as sim:
        yield sim


def test_a_restore_on_4_16_0_names_the_secret_settings_it_cannot_reset(
    cluster: Cluster, cloudstack_4160: SimulatorHandle, operator: OperatorProcess
) -> None:
    sim = cloudstack_4160
    apply(cluster, *endpoint_docs(sim.api_url, sim.api_key, sim.secret_key))
    proxy = "http://proxy.internal:3128"
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "proxy", "namespace": NAMESPACE},
            "stringData": {"url": proxy},
        },
        settings_doc(
            allowedInternalSites=["10.1.0.0/16"],
            secretSettings={PROXY_KEY: {"name": "proxy", "key": "url"}},
            deletionPolicy="Restore",
        ),
    )
    eventually(lambda: setting(sim, PROXY_KEY) == proxy, what="the proxy applied")
    eventually(lambda: setting(sim, SITES_KEY) == "10.1.0.0/16", what="the sites applied")

    cluster.kubectl("delete", "ssvmsettings", "region-1", "--wait=false", check=True)
    message = wait_event(cluster, "region-1", "SettingsPartlyRestored", "Warning", timeout=20)
    assert PROXY_KEY in message and "4.16.0.0" in message and "resetConfiguration" in message
    assert SITES_KEY not in message
    eventually(
        lambda: cluster.kubectl("get", "ssvmsettings", "region-1", "-o", "name").returncode != 0,
        timeout=20,
        what="the object gone once everything that can be restored is",
    )
    assert setting(sim, SITES_KEY) is None, "the kept previous value is back"
    assert setting(sim, PROXY_KEY) == proxy, "the secret setting keeps its value, as the Event says"
    assert not sim.admin.call_counts().get("resetConfiguration"), "the missing command is never sent"
    reasons = {reason for _, reason, _ in events(cluster, "region-1")}
    assert not {"Unauthorized", "RestorePending", "SettingsRestored"} & reasons


@pytest.mark.parametrize("release", ["4.16.0", "4.16.1"])
def test_replicas_above_one_from_4_16_1_where_scale_down_can_be_turned_off(
    cluster: Cluster, operator: OperatorProcess, release: str
) -> None:
    with running_simulator(scan_interval=0.5, cloudstack_version=release) as sim:
        apply(cluster, *endpoint_docs(sim.api_url, sim.api_key, sim.secret_key))
        apply(cluster, pool_doc("zone-1", "zone-1", replicas=2))
        if release == "4.16.0":
            stalled = wait_condition(
                cluster, "SSVMPool", "zone-1", "Stalled", "True", reason="ReplicasNeedNewerCloudStack"
            )
            assert "4.16.1" in stalled["message"] and "secstorage.vm.auto.scale.down" in stalled["message"]
            return
        # 4.16.1 has the switch: the pool is planned (too few SSVMs until the standby settings keep two).
        ready = wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "False", reason="TooFewSSVMs")
        assert "ReplicasNeedNewerCloudStack" not in str(status(cluster, "SSVMPool", "zone-1"))
        assert ready["reason"] == "TooFewSSVMs"
