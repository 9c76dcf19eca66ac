"""No secret reaches anything a user or a log collector sees.

A full run with distinctive API keys and a secret setting: pools become Ready, an SSVM is broken and
recreated, the secret setting is applied and the management server restarted, CloudStack fails a few
calls, the keys are rotated to wrong ones and back, and the secret value changes. Then everything is
gathered — the operator's whole log, every Event, every object's status, `kubectl get -o yaml` and
`kubectl describe` of every kind — and searched for the keys and the secret value, in clear, base64 and
URL-encoded.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    condition,
    endpoint_docs,
    eventually,
    pool_doc,
    status,
    wait_condition,
    wait_polls,
)
from tests.e2e.operator_process import OperatorProcess
from tests.reliability.conftest import FAST_HEALTH, SCAN_SECONDS

API_KEY = "AKsentinel-7f3a9e21-api-key"
SECRET_KEY = "SKsentinel-c41d2b77-secret-key"
PROXY_PASSWORD = "PWsentinel-9e8b"
PROXY = f"http://ssvm:{PROXY_PASSWORD}@proxy.internal:3128"
ROTATED_PROXY_PASSWORD = "PWsentinel-rotated-51c0"
KINDS = ("cloudstackendpoints", "ssvmpools", "ssvmsettings")


def forms(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode(), urllib.parse.quote(secret, safe="")]


SECRETS = {
    name: form
    for name, value in {
        "API key": API_KEY,
        "secret key": SECRET_KEY,
        "proxy password": PROXY_PASSWORD,
        "rotated proxy password": ROTATED_PROXY_PASSWORD,
    }.items()
    for form in forms(value)
}


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(scan_interval=SCAN_SECONDS, api_key=API_KEY, secret_key=SECRET_KEY) as sim:
        yield sim


def secret_doc(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "stringData": data,
    }


def settings_doc() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMSettings",
        "metadata": {"name": "region-1", "namespace": NAMESPACE},
        "spec": {
            "endpointRef": {"name": "region-1"},
            "allowedInternalSites": ["10.10.0.0/16"],
            "secretSettings": {"secstorage.proxy": {"name": "proxy", "key": "url"}},
        },
    }


def everything_shown(cluster: Cluster, operator: OperatorProcess, tmp_path: Path) -> dict[str, str]:
    """Every place a secret could surface, by where it is."""
    shown = {"operator log": operator.logs()}
    events = cluster.kubectl("get", "events", "-A", "-o", "yaml", check=True).stdout
    shown["events"] = events + cluster.kubectl("describe", "events", "-A").stdout
    for kind in KINDS:
        shown[f"{kind} -o yaml"] = cluster.kubectl("get", kind, "-A", "-o", "yaml", check=True).stdout
        shown[f"describe {kind}"] = cluster.kubectl("describe", kind, "-A", check=True).stdout
        shown[f"get {kind} -o wide"] = cluster.kubectl("get", kind, "-A", "-o", "wide", check=True).stdout
    shown["describe secrets"] = cluster.kubectl("describe", "secrets", "-A", check=True).stdout
    return shown


def test_no_key_and_no_secret_value_appears_anywhere_after_a_full_run(
    cluster: Cluster,
    cloudstack: SimulatorHandle,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    apply(
        cluster,
        *endpoint_docs(cloudstack.api_url, API_KEY, SECRET_KEY),
        pool_doc("zone-1", "zone-1", health=FAST_HEALTH),
        pool_doc("zone-2", "zone-2", health=FAST_HEALTH),
        secret_doc("proxy", url=PROXY),
        settings_doc(),
    )
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    wait_condition(
        cluster, "SSVMSettings", "region-1", "Ready", "False", reason="ManagementServerRestartRequired"
    )
    cloudstack.admin.restart_management_server()

    # Failures on the way: CloudStack errors, a broken SSVM repaired, keys rotated to wrong ones and back.
    cloudstack.admin.inject_fault("listSystemVms", "error", count=2, status=530)
    cloudstack.admin.inject_fault("destroySystemVm", "job_failure", count=1)
    cloudstack.admin.fail_vm(cloudstack.admin.ssvms(zone="zone-2")[0]["name"])
    eventually(
        lambda: (cloudstack.admin.call_counts().get("destroySystemVm") or 0) >= 2,
        timeout=40,
        what="a failed recreation retried",
    )
    apply(cluster, secret_doc("region-1-keys", apiKey=API_KEY, secretKey=SECRET_KEY + "-rotated"))
    wait_condition(cluster, "CloudStackEndpoint", "region-1", "Stalled", "True", reason="Unauthorized")
    apply(cluster, secret_doc("region-1-keys", apiKey=API_KEY, secretKey=SECRET_KEY))
    wait_condition(cluster, "CloudStackEndpoint", "region-1", "Ready", "True", timeout=30)
    apply(cluster, secret_doc("proxy", url=PROXY.replace(PROXY_PASSWORD, ROTATED_PROXY_PASSWORD)))
    eventually(
        lambda: any(
            ROTATED_PROXY_PASSWORD in str(c.get("value"))
            for c in cloudstack.client().listConfigurations(name="secstorage.proxy", fetch_list=True)
        ),
        timeout=30,
        what="the rotated secret applied",
    )
    for pool in ("zone-1", "zone-2"):
        wait_condition(cluster, "SSVMPool", pool, "Ready", "True", timeout=60)
    assert status(cluster, "SSVMSettings", "region-1")["applied"], "the settings were applied"

    leaks = [
        f"{name} ({form!r}) in {where}"
        for where, text in everything_shown(cluster, operator, tmp_path).items()
        for name, form in SECRETS.items()
        if form in text
    ]
    assert leaks == []


def test_a_secret_value_cloudstack_refuses_is_not_quoted_back_from_its_error(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, tmp_path: Path
) -> None:
    # A whole number to Python, too big for Java's Integer: only CloudStack refuses it, and its error
    # text quotes the value ("Value [..] is not a valid [class java.lang.Integer].").
    refused = "31415926535897932384"
    doc = settings_doc()
    doc["spec"] = {
        "endpointRef": {"name": "region-1"},
        "secretSettings": {"secstorage.cmd.execution.time.max": {"name": "limits", "key": "max"}},
    }
    apply(
        cluster,
        *endpoint_docs(cloudstack.api_url, API_KEY, SECRET_KEY),
        secret_doc("limits", max=refused),
        doc,
    )
    eventually(
        lambda: cloudstack.admin.call_counts().get("updateConfiguration"), what="CloudStack asked to apply it"
    )
    eventually(
        lambda: (
            "is not a valid" in operator.logs()
            or condition(cluster, "SSVMSettings", "region-1", "Stalled").get("status") == "True"
        ),
        what="the refusal logged or reported",
    )
    wait_polls(cloudstack)  # another poll: time for any Event to be posted
    leaks = [
        where for where, text in everything_shown(cluster, operator, tmp_path).items() if refused in text
    ]
    assert leaks == []
