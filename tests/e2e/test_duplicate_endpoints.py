"""Two CloudStackEndpoints for one CloudStack: claims count per CloudStack, and both endpoints say so."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    condition,
    endpoint_docs,
    pool_doc,
    status,
    wait_condition,
    wait_event,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import settings_doc

TWIN = "region-1-again"


def test_a_second_endpoint_for_the_same_cloudstack_claims_nothing_twice_and_both_say_so(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(
        cluster,
        pool_doc("zone-1", "zone-1"),
        settings_doc(settings={"diagnostics.data.max.file.age": "40000"}),
    )
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", timeout=30)

    # Another name, the same CloudStack: a copy a second team applied, say.
    apply(cluster, *endpoint_docs(cloudstack.api_url, cloudstack.api_key, cloudstack.secret_key, name=TWIN))
    twin_settings = settings_doc(settings={"diagnostics.data.max.file.age": "7000"})
    twin_settings["metadata"]["name"] = TWIN
    twin_settings["spec"]["endpointRef"] = {"name": TWIN}
    apply(cluster, pool_doc("zone-1-again", "zone-1", endpoint=TWIN), twin_settings)

    duplicate = wait_condition(cluster, "SSVMPool", "zone-1-again", "Stalled", "True", reason="DuplicatePool")
    assert "SSVMPool zone-1 already manages zone zone-1" in duplicate["message"]
    conflict = wait_condition(cluster, "SSVMSettings", TWIN, "Stalled", "True", reason="Conflict")
    assert "SSVMSettings region-1 already manages" in conflict["message"]
    # Stalled is written only while True (kstatus's abnormal-true polarity): absent means the older ones act.
    assert not condition(cluster, "SSVMPool", "zone-1", "Stalled"), "the older pool acts"
    assert not condition(cluster, "SSVMSettings", "region-1", "Stalled")

    for name, other in (("region-1", TWIN), (TWIN, "region-1")):
        found = wait_condition(
            cluster, "CloudStackEndpoint", name, "DuplicateEndpoint", "True", reason="SameCloudStack"
        )
        assert f"default/{other}" in found["message"] and "same CloudStack" in found["message"]
        assert f"default/{other}" in wait_event(cluster, name, "SameCloudStack", "Warning")
        assert condition(cluster, "CloudStackEndpoint", name, "Ready")["status"] == "True"

    # The younger objects changed nothing: the value is the older SSVMSettings'.
    [row] = [
        c
        for c in cloudstack.client().listConfigurations(name="diagnostics.data.max.file.age", fetch_list=True)
        if c["name"] == "diagnostics.data.max.file.age"
    ]
    assert row["value"] == "40000"
    assert not status(cluster, "SSVMPool", "zone-1-again").get("inFlight")

    # One endpoint goes: the other stops saying it has a twin.
    cluster.kubectl("delete", "ssvmpool", "zone-1-again", check=True)
    cluster.kubectl("delete", "ssvmsettings", TWIN, "--wait=false", check=True)
    cluster.kubectl("delete", "cloudstackendpoint", TWIN, check=True)
    wait_condition(cluster, "CloudStackEndpoint", "region-1", "DuplicateEndpoint", "False", reason="Unique")
