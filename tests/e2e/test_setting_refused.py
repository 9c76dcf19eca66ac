"""A value CloudStack refuses for good stalls the SSVMSettings naming the field, is sent once, not every
poll, and is sent again when the spec changes; the other settings and the pools carry on. An error that may
pass is still retried."""

from __future__ import annotations

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    condition,
    events,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_event,
    wait_polls,
)
from tests.e2e.cluster_helpers import apply as kubectl_apply
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import setting, settings_doc

LIMIT = "secstorage.cmd.execution.time.max"
SESSIONS = "secstorage.max.migrate.sessions"
TOO_BIG = "31415926535897932384"
"""A whole number to the operator's own check, past Java's Integer: validateConfigurationValue refuses it."""


def updates(cloudstack: SimulatorHandle) -> int:
    return cloudstack.admin.call_counts().get("updateConfiguration", 0)


def refused_events(cluster: Cluster) -> list[str]:
    return [m for t, r, m in events(cluster, "region-1") if r == "SettingRefused" and t == "Warning"]


def test_a_refused_value_stalls_naming_the_field_is_sent_once_and_a_fixed_spec_applies_it(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    kubectl_apply(cluster, pool_doc("zone-1", "zone-1"))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    kubectl_apply(cluster, settings_doc(settings={LIMIT: TOO_BIG, SESSIONS: "3"}))

    stalled = wait_condition(cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="SettingRefused")
    assert f"spec.settings.{LIMIT}" in stalled["message"]
    assert f"Value [{TOO_BIG}] is not a valid [class java.lang.Integer]." in stalled["message"], (
        "CloudStack's text"
    )
    assert setting(cloudstack, SESSIONS) == "3", "the other settings are still applied"
    assert setting(cloudstack, LIMIT) != TOO_BIG
    assert [r["name"] for r in status(cluster, "SSVMSettings", "region-1")["refused"]] == [LIMIT]
    wait_event(cluster, "region-1", "SettingRefused", "Warning")

    sent = updates(cloudstack)
    assert sent == 2, "each setting once: the refused one and the one applied"
    wait_polls(cloudstack, 3)
    assert updates(cloudstack) == sent, "a refused value is not sent again while the spec stays"
    assert condition(cluster, "SSVMSettings", "region-1", "Stalled")["reason"] == "SettingRefused"
    assert len(refused_events(cluster)) == 1, "one Warning Event, not one per poll"
    assert condition(cluster, "SSVMPool", "zone-1", "Ready")["status"] == "True", "the pool is unaffected"
    assert condition(cluster, "SSVMPool", "zone-1", "Stalled") == {}

    kubectl_apply(cluster, settings_doc(settings={LIMIT: "7200", SESSIONS: "3"}))
    eventually(lambda: setting(cloudstack, LIMIT) == "7200", timeout=20, what="the fixed value applied")
    # Both settings are read at management-server start: what is left is the restart, not the refusal.
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="ManagementServerRestartRequired"
    )
    assert not status(cluster, "SSVMSettings", "region-1").get("refused")
    assert updates(cloudstack) == sent + 1, "only the fixed value is sent"


def test_any_spec_change_sends_a_refused_value_once_more(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    kubectl_apply(cluster, settings_doc(settings={LIMIT: TOO_BIG}))
    wait_condition(cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="SettingRefused")
    assert updates(cloudstack) == 1

    # The same value, another generation (a new setting beside it): tried once more, refused once more.
    kubectl_apply(cluster, settings_doc(settings={LIMIT: TOO_BIG, SESSIONS: "4"}))
    eventually(lambda: setting(cloudstack, SESSIONS) == "4", timeout=20, what="the new setting applied")
    eventually(lambda: len(refused_events(cluster)) == 2, timeout=10, what="the refusal said again")
    wait_polls(cloudstack, 2)
    assert updates(cloudstack) == 3, "the refused value once per generation, the new setting once"
    assert condition(cluster, "SSVMSettings", "region-1", "Stalled")["reason"] == "SettingRefused"


def test_an_internal_error_is_not_a_refusal_and_is_retried(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    # ConfigurationManagerImpl: the database update failed; nothing about the value, so it may pass.
    cloudstack.admin.inject_fault(
        "updateConfiguration",
        "error",
        status=530,
        count=2,
        message="Failed to update configuration value. Please contact Cloud Support.",
    )
    kubectl_apply(cluster, settings_doc(settings={SESSIONS: "5"}))
    failing = wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "False", reason="SettingRejected")
    assert f"spec.settings.{SESSIONS}" in failing["message"]
    assert condition(cluster, "SSVMSettings", "region-1", "Stalled").get("status") != "True"
    eventually(lambda: setting(cloudstack, SESSIONS) == "5", timeout=20, what="applied once the error passed")
    assert updates(cloudstack) == 3, "two failures, then the one that took"
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    assert not refused_events(cluster)
