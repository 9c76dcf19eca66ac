"""Discovery and /openapi/v3 as kubectl needs them (simulator/kube_emulator/README.md §2)."""

from __future__ import annotations

from typing import Any

import pytest

from kube_emulator.testing import EmulatedCluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(30)


def test_version(cluster: EmulatedCluster) -> None:
    version = cluster.request("GET", "/version").body
    assert (version["major"], version["minor"]) == ("1", "34")


def test_core_discovery(cluster: EmulatedCluster) -> None:
    assert cluster.request("GET", "/api").body["versions"] == ["v1"]
    core = cluster.request("GET", "/api/v1").body
    assert core["groupVersion"] == "v1"
    names = {resource["name"] for resource in core["resources"]}
    assert {"namespaces", "namespaces/status", "events", "secrets", "configmaps"} <= names


def test_group_discovery(cluster: EmulatedCluster) -> None:
    groups = {group["name"]: group for group in cluster.request("GET", "/apis").body["groups"]}
    assert {"example.com", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    assert groups["example.com"]["preferredVersion"] == {"groupVersion": "example.com/v1", "version": "v1"}
    assert cluster.request("GET", "/apis/example.com").body["kind"] == "APIGroup"
    resources = {r["name"]: r for r in cluster.request("GET", "/apis/example.com/v1").body["resources"]}
    assert resources["widgets"]["shortNames"] == ["wd"] and resources["widgets"]["namespaced"] is True
    assert set(resources["widgets"]["verbs"]) >= {
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
    }
    assert "shortNames" not in resources["widgets/status"]  # else kubectl warns about ambiguous short names
    assert cluster.request("GET", "/apis/nothing.example/v1").status == 404


def _patch_operation(document: dict[str, Any], kind: str) -> dict[str, Any]:
    for item in document["paths"].values():
        patch = item.get("patch")
        if patch and patch["x-kubernetes-group-version-kind"]["kind"] == kind:
            return patch  # type: ignore[no-any-return]
    raise AssertionError(f"no PATCH operation for {kind}")


def test_openapi_v3_declares_field_validation_for_every_kind(cluster: EmulatedCluster) -> None:
    wanted = {"api/v1", "apis/example.com/v1", "apis/coordination.k8s.io/v1"}
    # kube-apiserver publishes a new CRD's OpenAPI a moment after the CRD is Established.
    index = eventually(
        lambda: (paths := cluster.request("GET", "/openapi/v3").body["paths"]).keys() >= wanted and paths,
        30,
        "the CRD's group in /openapi/v3",
    )
    for relative, entry in index.items():
        assert entry["serverRelativeURL"].startswith(f"/openapi/v3/{relative}?hash=")
    for relative in wanted:
        document = cluster.request("GET", index[relative]["serverRelativeURL"]).body
        kinds = {
            gvk["kind"]
            for schema in document["components"]["schemas"].values()
            for gvk in schema.get("x-kubernetes-group-version-kind", [])
            if gvk.get("group", "") == relative.removeprefix("apis/").rsplit("/", 1)[0].removeprefix("api")
        }
        patchable = {
            op["x-kubernetes-group-version-kind"]["kind"]
            for op in (item.get("patch") for item in document["paths"].values())
            if op
        }
        assert kinds & patchable, f"no patchable kind in {relative}"
        for kind in kinds & patchable:
            parameters = _patch_operation(document, kind)["parameters"]
            assert {"name": "fieldValidation", "in": "query"}.items() <= parameters[2].items()


def test_openapi_carries_the_crd_schema(cluster: EmulatedCluster) -> None:
    document = cluster.request("GET", "/openapi/v3/apis/example.com/v1").body
    widget = document["components"]["schemas"]["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "version": "v1", "kind": "Widget"}
    ]
    assert widget["properties"]["spec"]["properties"]["size"]["maximum"] == 10
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in document["components"]["schemas"]


def test_health_endpoints(cluster: EmulatedCluster) -> None:
    assert cluster.request("GET", "/readyz").body == "ok"
    assert "/apis/example.com/v1" in cluster.request("GET", "/").body["paths"]
