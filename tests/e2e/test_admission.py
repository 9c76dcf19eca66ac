"""What the API server refuses before anything is stored: a pool's identity fields once it exists, and the
SSVMSettings overlaps the operator would otherwise refuse only after a sync. `kubectl apply --dry-run=server`
(what Argo CD and Flux run before a sync) sees the same refusals."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from cloudstack_sim.testing import SimulatorHandle
from tests.e2e.cluster_helpers import Cluster, apply, endpoint_docs, get, pool_doc, status, wait_condition
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_settings import SITES_KEY, settings_doc


def kubectl_apply(cluster: Cluster, doc: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", *flags, "-f", "-", input=yaml.safe_dump(doc))


def test_a_pool_keeps_its_zone_and_endpoint_and_says_to_create_a_new_pool(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    apply(
        cluster, *endpoint_docs(cloudstack.api_url, cloudstack.api_key, cloudstack.secret_key, name="other")
    )
    apply(cluster, pool_doc("zone-1", "zone-1"))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
    zone_id = status(cluster, "SSVMPool", "zone-1")["zoneId"]

    for flags in (("--dry-run=server",), ()):
        moved = kubectl_apply(cluster, pool_doc("zone-1", "zone-2"), *flags)
        assert moved.returncode != 0, moved.stdout
        assert "spec.zone" in moved.stderr and "create a new SSVMPool" in moved.stderr, moved.stderr
        repointed = kubectl_apply(cluster, pool_doc("zone-1", "zone-1", endpoint="other"), *flags)
        assert repointed.returncode != 0, repointed.stdout
        assert "spec.endpointRef" in repointed.stderr and "create a new SSVMPool" in repointed.stderr

    spec = get(cluster, "SSVMPool", "zone-1")["spec"]
    assert (spec["zone"], spec["endpointRef"]["name"]) == ("zone-1", "region-1")
    # Other fields still change as before.
    apply(cluster, pool_doc("zone-1", "zone-1", mode="Observe"))
    wait_condition(cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=20)
    assert status(cluster, "SSVMPool", "zone-1")["zoneId"] == zone_id


def test_settings_overlaps_are_refused_at_admission_and_by_a_server_dry_run(
    cluster: Cluster, cloudstack: SimulatorHandle, operator: OperatorProcess, endpoint: str
) -> None:
    refused = {
        "a site list under settings": (
            settings_doc(settings={SITES_KEY: "10.0.0.0/8"}),
            "spec.settings",
            "set it through spec.allowedInternalSites",
        ),
        "the offering under settings": (
            settings_doc(settings={"secstorage.service.offering": "ssvm-large"}),
            "spec.settings",
            "set it through spec.serviceOffering",
        ),
        "one key in settings and secretSettings": (
            settings_doc(
                settings={"secstorage.proxy": "http://proxy:3128"},
                secretSettings={"secstorage.proxy": {"name": "proxy", "key": "url"}},
            ),
            "spec.secretSettings",
            "in both settings and secretSettings",
        ),
    }
    for what, (doc, field, hint) in refused.items():
        for flags in (("--dry-run=server",), ()):
            reply = kubectl_apply(cluster, doc, *flags)
            assert reply.returncode != 0, f"{what} {flags}: accepted"
            assert field in reply.stderr and hint in reply.stderr, f"{what}: {reply.stderr}"
    assert cluster.kubectl("get", "ssvmsettings", "-o", "name", check=True).stdout.strip() == ""

    accepted = kubectl_apply(
        cluster,
        settings_doc(
            allowedInternalSites=["10.0.0.0/8"],
            settings={"secstorage.session.max": "10"},
            secretSettings={"secstorage.proxy": {"name": "proxy", "key": "url"}},
        ),
        "--dry-run=server",
    )
    assert accepted.returncode == 0, accepted.stderr
    assert not cloudstack.admin.call_counts().get("updateConfiguration"), "nothing reached CloudStack"
