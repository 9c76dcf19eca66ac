"""deletionPolicy Restore is kept even when CloudStack or its endpoint is not there at deletion: the finalizer
holds the object, which says why, until the restore succeeds or the user gives it up."""

from __future__ import annotations

import time

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import (
    Cluster,
    apply,
    eventually,
    get,
    wait_condition,
    wait_event,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import SITES_KEY, setting, settings_doc

KEY = "secstorage.vm.auto.scale.down"
GIVE_UP = "ssvm.cloudstack.io/skip-restore"


def exists(cluster: Cluster) -> bool:
    return cluster.kubectl("get", "ssvmsettings", "region-1", "-o", "name").returncode == 0


def applied_with_restore(cluster: Cluster, cloudstack: SimulatorHandle) -> str | None:
    before = setting(cloudstack, KEY)
    apply(
        cluster,
        settings_doc(allowedInternalSites=["10.1.0.0/16"], settings={KEY: "true"}, deletionPolicy="Restore"),
    )
    eventually(lambda: setting(cloudstack, KEY) == "true", what="the setting applied")
    eventually(lambda: setting(cloudstack, SITES_KEY) == "10.1.0.0/16", what="the sites applied")
    return before


def test_a_deletion_during_an_outage_waits_for_cloudstack_then_restores(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    before = applied_with_restore(cluster, cloudstack)
    cloudstack.admin.inject_fault(kind="error", status=503)
    cluster.kubectl("delete", "ssvmsettings", "region-1", "--wait=false", check=True)

    pending = wait_condition(cluster, "SSVMSettings", "region-1", "Ready", "False", reason="RestorePending")
    assert KEY in pending["message"] and SITES_KEY in pending["message"]
    assert GIVE_UP in pending["message"], "the message says how to give up"
    assert "finalizer keeps this SSVMSettings" in wait_event(cluster, "region-1", "RestorePending", "Warning")
    time.sleep(6)  # twice the ten retries (0.3 s apart) after which a bounded handler gives up
    assert exists(cluster), "the finalizer holds the object while CloudStack cannot restore"
    assert get(cluster, "SSVMSettings", "region-1")["metadata"].get("deletionTimestamp")

    cloudstack.admin.clear_faults()
    eventually(lambda: not exists(cluster), timeout=30, what="the object gone once restored")
    assert setting(cloudstack, KEY) == before
    assert setting(cloudstack, SITES_KEY) is None


def test_a_deletion_after_the_endpoint_is_gone_waits_until_the_user_gives_up(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    applied_with_restore(cluster, cloudstack)
    cluster.kubectl("delete", "cloudstackendpoint", "region-1", check=True)
    cluster.kubectl("delete", "ssvmsettings", "region-1", "--wait=false", check=True)

    stalled = wait_condition(
        cluster, "SSVMSettings", "region-1", "Stalled", "True", reason="EndpointNotFound"
    )
    assert "CloudStackEndpoint default/region-1 does not exist" in stalled["message"]
    wait_event(cluster, "region-1", "RestorePending", "Warning")
    time.sleep(3)
    assert exists(cluster), "a missing endpoint does not lose the restore silently"

    cluster.kubectl("annotate", "ssvmsettings", "region-1", f"{GIVE_UP}=true", check=True)
    eventually(lambda: not exists(cluster), timeout=30, what="the object gone once the user gave up")
    assert setting(cloudstack, KEY) == "true", "given up: CloudStack keeps the values"
