"""SSVMSettings end to end: global settings applied, restarts asked for, SSVMs rolled, secrets kept secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    condition,
    events,
    eventually,
    get,
    pool_doc,
    status,
    wait_condition,
    wait_event,
    wait_polls,
)
from tests.e2e.operator_process import OperatorProcess

SITES_KEY = "secstorage.allowed.internal.sites"


def settings_doc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMSettings",
        "metadata": {"name": "region-1", "namespace": NAMESPACE},
        "spec": {"endpointRef": {"name": "region-1"}, **spec},
    }


def setting(cloudstack: SimulatorHandle, name: str) -> str | None:
    [row] = [
        c for c in cloudstack.client().listConfigurations(name=name, fetch_list=True) if c["name"] == name
    ]
    value = row.get("value")
    return None if value is None else str(value)


def test_allowed_sites_wait_for_a_restart_which_delivers_them_to_every_ssvm_without_a_reboot(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1"), pool_doc("zone-2", "zone-2"))
    wait_condition(cluster, "SSVMPool", "zone-2", "Ready", "True", timeout=40)
    apply(cluster, settings_doc(allowedInternalSites=["10.10.0.0/16", "192.168.100.20"]))

    pending = wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    assert SITES_KEY in pending["message"]
    assert setting(cloudstack, SITES_KEY) == "10.10.0.0/16,192.168.100.20"
    assert [
        p["name"] for p in status(cluster, "SSVMSettings", "region-1")["pendingManagementServerRestart"]
    ] == [SITES_KEY]
    wait_event(cluster, "region-1", "ManagementServerRestartRequired", "Warning")

    # The restart drops every agent (AgentManagerImpl.stop); each reconnects and is sent the new sites.
    cloudstack.admin.restart_management_server()
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", reason="InSync", timeout=60)
    rollout = status(cluster, "SSVMSettings", "region-1")["rollout"]
    assert (rollout["phase"], rollout["strategy"]) == ("Done", "Reconnect")
    assert rollout["done"] == rollout["total"] == len(cloudstack.admin.ssvms())
    for vm in cloudstack.admin.ssvms():
        connected_with = vm["boot"]["connect_settings"].get(SITES_KEY)
        assert connected_with == "10.10.0.0/16,192.168.100.20", (
            f"{vm['name']} runs with sites {connected_with}"
        )
    wait_polls(cloudstack, 2)
    calls = cloudstack.admin.call_counts()
    assert not calls.get("rebootSystemVm") and not calls.get("stopSystemVm"), f"an SSVM was rolled: {calls}"
    assert not status(cluster, "SSVMSettings", "region-1").get("pendingManagementServerRestart")


def test_replicas_two_sets_the_global_standby_and_every_zone_says_so(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(cluster, pool_doc("zone-1", "zone-1", replicas=2), pool_doc("zone-2", "zone-2"), settings_doc())
    degraded = wait_condition(
        cluster, "SSVMPool", "zone-1", "Degraded", "True", reason="StandbyCapacityMissing"
    )
    assert "secstorage.capacity.standby" in degraded["message"]
    eventually(lambda: setting(cloudstack, "secstorage.capacity.standby") == "51", what="standby 51 for S=50")
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="ManagementServerRestartRequired"
    )

    cloudstack.admin.restart_management_server()
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=60)
    assert status(cluster, "SSVMPool", "zone-1")["readyReplicas"] == 2
    other = eventually(
        lambda: (
            status(cluster, "SSVMPool", "zone-2").get("readyReplicas") == 2
            and condition(cluster, "SSVMPool", "zone-2", "Ready")
        ),
        timeout=60,
        what="zone-2 running two SSVMs",
    )
    assert "although replicas is 1" in other["message"], "zone-2's pool says why it has more than it asked"
    assert not cloudstack.admin.call_counts().get("destroySystemVm"), "CloudStack would recreate them"


def test_an_unknown_setting_is_refused_and_nothing_is_applied(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(
        cluster,
        settings_doc(
            allowedInternalSites=["10.0.0.0/8"],
            settings={"secstorage.no.such.setting": "1", "secstorage.session.max": "many"},
        ),
    )
    stalled = wait_condition(cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="InvalidSetting")
    assert "spec.settings.secstorage.no.such.setting" in stalled["message"]
    assert (
        "spec.settings.secstorage.session.max" in stalled["message"]
        and "nothing applied" in stalled["message"]
    )
    assert not cloudstack.admin.call_counts().get("updateConfiguration")


def test_a_secret_setting_is_applied_but_never_shown(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    proxy = "http://proxyuser:Pr0xyPassw0rd@proxy.internal:3128"
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "proxy", "namespace": NAMESPACE},
            "stringData": {"url": proxy},
        },
        settings_doc(secretSettings={"secstorage.proxy": {"name": "proxy", "key": "url"}}),
    )
    eventually(lambda: setting(cloudstack, "secstorage.proxy") == proxy, what="the proxy applied")
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    [row] = status(cluster, "SSVMSettings", "region-1")["applied"]
    assert row["secret"] is True and row["valueHash"].startswith("sha256:") and "value" not in row
    shown = cluster.kubectl("get", "ssvmsettings", "region-1", "-o", "yaml").stdout
    shown += cluster.kubectl("describe", "ssvmsettings", "region-1").stdout
    shown += str(events(cluster, "region-1"))
    assert "Pr0xyPassw0rd" not in shown and "Pr0xyPassw0rd" not in operator.logs()


def test_restore_puts_previous_values_back_on_delete(
    cluster: Cluster,
    cloudstack: SimulatorHandle,
    operator: OperatorProcess,
    endpoint: str,
    tmp_path: Path,
) -> None:
    before = setting(cloudstack, "secstorage.vm.auto.scale.down")
    apply(
        cluster,
        settings_doc(
            allowedInternalSites=["10.1.0.0/16"],
            settings={"secstorage.vm.auto.scale.down": "true"},
            deletionPolicy="Restore",
        ),
    )
    eventually(
        lambda: setting(cloudstack, "secstorage.vm.auto.scale.down") == "true", what="the setting applied"
    )
    eventually(lambda: setting(cloudstack, SITES_KEY) == "10.1.0.0/16", what="the sites applied")
    get(cluster, "SSVMSettings", "region-1")
    cluster.kubectl("delete", "ssvmsettings", "region-1", "--timeout=30s", check=True)
    assert setting(cloudstack, "secstorage.vm.auto.scale.down") == before
    assert setting(cloudstack, SITES_KEY) is None


def test_a_setting_changed_by_hand_is_put_back_and_reported_unless_observing(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    key = "secstorage.vm.auto.scale.down"
    apply(cluster, settings_doc(settings={key: "false"}))
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", reason="InSync")
    cloudstack.client().updateConfiguration(name=key, value="true")  # an admin, by hand
    eventually(lambda: setting(cloudstack, key) == "false", what="the drifted setting put back")
    assert key in wait_event(cluster, "region-1", "Drifted", "Warning")

    apply(cluster, settings_doc(settings={key: "false"}, mode="Observe"))
    eventually(
        lambda: status(cluster, "SSVMSettings", "region-1").get("observedGeneration") == 2, what="gen 2"
    )
    cloudstack.client().updateConfiguration(name=key, value="true")
    reported = wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "False", reason="Drifted")
    assert key in reported["message"]
    assert setting(cloudstack, key) == "true", "Observe mode reports drift and changes nothing"
    assert key in wait_event(cluster, "region-1", "WouldApply")
    polls = cloudstack.admin.call_counts().get("listConfigurations", 0)
    eventually(
        lambda: cloudstack.admin.call_counts().get("listConfigurations", 0) >= polls + 3,
        what="three more polls finding the same difference",
    )
    would_apply = [m for _, r, m in events(cluster, "region-1") if r == "WouldApply"]
    assert len(would_apply) == 1, f"one Event for one difference, not one per poll: {would_apply}"


def test_a_boolean_declared_in_capitals_is_applied_once(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    """CloudStack stores Boolean values lower-cased: "True" reads back as "true", which is what was asked."""
    apply(cluster, settings_doc(settings={"secstorage.vm.auto.scale.down": "True"}))
    eventually(lambda: setting(cloudstack, "secstorage.vm.auto.scale.down") == "true", what="applied")
    wait_polls(cloudstack, 4)
    assert cloudstack.admin.call_counts().get("updateConfiguration") == 1, "not re-applied on every poll"
    wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "True", timeout=30)
