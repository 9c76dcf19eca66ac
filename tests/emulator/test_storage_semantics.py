"""Storage semantics a real apiserver has and plain kmock lacks (simulator/kube_emulator/README.md §1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kube_emulator.server import EmulatorSettings
from kube_emulator.testing import EmulatedCluster, emulated_cluster
from tests.support.waiting import eventually


def wait_established(cluster: EmulatedCluster, crd: str) -> None:
    """A new CRD serves its kind once Established: at once on the emulator, a moment later on the real one."""

    def established() -> bool:
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}"
        status = cluster.request("GET", path).body.get("status") or {}
        return any(
            c["type"] == "Established" and c["status"] == "True" for c in status.get("conditions") or []
        )

    eventually(established, 10, f"the CRD {crd} Established")


pytestmark = pytest.mark.timeout(30)

WidgetFactory = Callable[..., dict[str, Any]]


def test_create_sets_system_metadata_and_namespace_from_url(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", widgets_path, widget())
    assert reply.status == 201
    meta = reply.body["metadata"]
    assert meta["namespace"] == "default"
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0


def test_generate_name_gets_a_random_suffix(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    body = widget()
    body["metadata"] = {"generateName": "gen-"}
    first = cluster.request("POST", widgets_path, body).body["metadata"]["name"]
    second = cluster.request("POST", widgets_path, body).body["metadata"]["name"]
    assert first.startswith("gen-") and len(first) == len("gen-") + 5
    assert first != second


def test_duplicate_create_is_already_exists(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    reply = cluster.request("POST", widgets_path, widget())
    assert (reply.status, reply.body["reason"]) == (409, "AlreadyExists")
    assert reply.body["message"] == 'widgets.example.com "w1" already exists'


def test_create_in_missing_namespace_is_not_found(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", "/apis/example.com/v1/namespaces/nowhere/widgets", widget())
    assert reply.status == 404
    assert reply.body["message"] == 'namespaces "nowhere" not found'


def test_get_missing_object_is_not_found(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("GET", f"{widgets_path}/absent")
    assert (reply.status, reply.body["reason"]) == (404, "NotFound")
    assert reply.body["details"] == {"kind": "widgets", "group": "example.com", "name": "absent"}


def test_resource_version_bumps_on_change_and_not_on_noop(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    created = cluster.request("POST", widgets_path, widget()).body
    patch = {"spec": {"size": 2}}
    changed = cluster.request(
        "PATCH", f"{widgets_path}/w1", patch, content_type="application/merge-patch+json"
    ).body
    assert int(changed["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    again = cluster.request(
        "PATCH", f"{widgets_path}/w1", patch, content_type="application/merge-patch+json"
    ).body
    assert again["metadata"]["resourceVersion"] == changed["metadata"]["resourceVersion"]


def test_generation_bumps_only_on_spec_changes(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    merge = "application/merge-patch+json"
    labels = cluster.request(
        "PATCH", f"{widgets_path}/w1", {"metadata": {"labels": {"a": "b"}}}, content_type=merge
    )
    assert labels.body["metadata"]["generation"] == 1
    status = cluster.request(
        "PATCH", f"{widgets_path}/w1/status", {"status": {"phase": "Ready"}}, content_type=merge
    )
    assert status.body["metadata"]["generation"] == 1
    spec = cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 3}}, content_type=merge)
    assert spec.body["metadata"]["generation"] == 2


def test_stale_resource_version_conflicts_on_merge_patch_and_put(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    created = cluster.request("POST", widgets_path, widget()).body
    stale = created["metadata"]["resourceVersion"]
    merge = "application/merge-patch+json"
    cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 2}}, content_type=merge)

    patched = cluster.request(
        "PATCH",
        f"{widgets_path}/w1",
        {"metadata": {"resourceVersion": stale}, "spec": {"size": 3}},
        content_type=merge,
    )
    assert (patched.status, patched.body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in patched.body["message"]

    replaced = cluster.request("PUT", f"{widgets_path}/w1", created)
    assert (replaced.status, replaced.body["reason"]) == (409, "Conflict")


def test_put_of_custom_resource_requires_resource_version(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    reply = cluster.request("PUT", f"{widgets_path}/w1", widget(size=2))
    assert reply.status == 422
    assert (
        "metadata.resourceVersion: Invalid value: 0: must be specified for an update" in reply.body["message"]
    )


def test_put_replaces_the_object(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    created = cluster.request("POST", widgets_path, widget(port=80)).body
    replacement = widget(size=4)
    replacement["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    reply = cluster.request("PUT", f"{widgets_path}/w1", replacement)
    assert reply.status == 200
    assert reply.body["spec"] == {"size": 4, "zone": "zone-a", "mode": "fast"}
    assert reply.body["metadata"]["uid"] == created["metadata"]["uid"]


def test_failed_json_patch_test_is_unprocessable(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    operations = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "999999"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]},
    ]
    reply = cluster.request(
        "PATCH", f"{widgets_path}/w1", operations, content_type="application/json-patch+json"
    )
    assert (reply.status, reply.body["reason"]) == (422, "Invalid")


def test_successful_json_patch_with_resource_version_test(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    created = cluster.request("POST", widgets_path, widget()).body
    operations = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": created["metadata"]["resourceVersion"]},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]},
    ]
    reply = cluster.request(
        "PATCH", f"{widgets_path}/w1", operations, content_type="application/json-patch+json"
    )
    assert reply.status == 200
    assert reply.body["metadata"]["finalizers"] == ["example.com/f"]


def test_status_subresource_separation(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    body = widget()
    body["status"] = {"phase": "Ignored"}
    created = cluster.request("POST", widgets_path, body).body
    assert "status" not in created  # status is not settable on create

    merge = "application/merge-patch+json"
    main = cluster.request(
        "PATCH", f"{widgets_path}/w1", {"status": {"phase": "X"}, "spec": {"size": 2}}, content_type=merge
    )
    assert "status" not in main.body and main.body["spec"]["size"] == 2

    sub = cluster.request(
        "PATCH",
        f"{widgets_path}/w1/status",
        {"status": {"phase": "Ready"}, "spec": {"size": 5}},
        content_type=merge,
    )
    assert sub.body["status"] == {"phase": "Ready"} and sub.body["spec"]["size"] == 2


def test_list_has_kind_api_version_and_resource_version(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    reply = cluster.request("GET", widgets_path)
    assert reply.body["kind"] == "WidgetList" and reply.body["apiVersion"] == "example.com/v1"
    assert reply.body["metadata"]["resourceVersion"].isdigit()
    assert [item["metadata"]["name"] for item in reply.body["items"]] == ["w1"]


def test_strategic_merge_is_refused_for_custom_resources(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    reply = cluster.request(
        "PATCH",
        f"{widgets_path}/w1",
        {"spec": {"size": 2}},
        content_type="application/strategic-merge-patch+json",
    )
    assert (reply.status, reply.body["reason"]) == (415, "UnsupportedMediaType")


@pytest.mark.emulator  # a difference: the real server decodes protobuf (400 for these bytes), not 415
def test_protobuf_bodies_are_refused(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request(
        "POST", "/api/v1/namespaces", b"\x6b\x38\x73\x00", content_type="application/vnd.kubernetes.protobuf"
    )
    assert reply.status == 415


def test_dry_run_validates_but_stores_nothing(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", f"{widgets_path}?dryRun=All", widget())
    assert reply.status == 201
    assert cluster.request("GET", f"{widgets_path}/w1").status == 404
    invalid = cluster.request("POST", f"{widgets_path}?dryRun=All", widget(size=99))
    assert invalid.status == 422


def test_delete_with_finalizers_waits_for_their_removal(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    body = widget()
    body["metadata"]["finalizers"] = ["example.com/f"]
    cluster.request("POST", widgets_path, body)
    deleting = cluster.request("DELETE", f"{widgets_path}/w1")
    assert deleting.status == 200 and deleting.body["metadata"]["deletionTimestamp"]

    merge = "application/merge-patch+json"
    more = cluster.request(
        "PATCH",
        f"{widgets_path}/w1",
        {"metadata": {"finalizers": ["example.com/f", "new/f"]}},
        content_type=merge,
    )
    assert more.status == 422 and "no new finalizers can be added" in more.body["message"]

    released = cluster.request(
        "PATCH", f"{widgets_path}/w1", {"metadata": {"finalizers": None}}, content_type=merge
    )
    assert released.status == 200
    assert cluster.request("GET", f"{widgets_path}/w1").status == 404


@pytest.mark.emulator  # the garbage collector is a controller; the test control plane runs none
def test_owner_references_are_garbage_collected(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    owner = cluster.request("POST", widgets_path, widget()).body
    reference = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "name": "w1",
        "uid": owner["metadata"]["uid"],
    }
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "child", "ownerReferences": [reference]},
    }
    assert cluster.request("POST", "/api/v1/namespaces/default/configmaps", child).status == 201
    cluster.request("DELETE", f"{widgets_path}/w1")
    assert cluster.request("GET", "/api/v1/namespaces/default/configmaps/child").status == 404


@pytest.mark.emulator  # the namespace controller does this; the test control plane runs no controllers
def test_namespace_deletion_removes_its_content(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", "/apis/example.com/v1/namespaces/other/widgets", widget())
    reply = cluster.request("DELETE", "/api/v1/namespaces/other")
    assert reply.status == 200
    assert cluster.request("GET", "/apis/example.com/v1/namespaces/other/widgets/w1").status == 404
    assert cluster.request("GET", "/api/v1/namespaces/other").status == 404


def test_namespaces_are_routed_as_a_resource(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    names = [ns["metadata"]["name"] for ns in cluster.request("GET", "/api/v1/namespaces").body["items"]]
    assert {"default", "other", "kube-system"} <= set(names)
    namespace = cluster.request("GET", "/api/v1/namespaces/default").body
    assert namespace["status"]["phase"] == "Active"


def test_secret_string_data_is_encoded(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"key": "value"}}
    reply = cluster.request("POST", "/api/v1/namespaces/default/secrets", secret)
    assert reply.body["data"] == {"key": "dmFsdWU="} and reply.body["type"] == "Opaque"
    assert "stringData" not in reply.body


def test_server_side_apply_creates_updates_and_drops_fields(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    apply = "application/apply-patch+yaml"
    header = b"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\n"
    first = header + b"spec: {size: 2, zone: zone-a, port: 80}\n"
    created = cluster.request("PATCH", f"{widgets_path}/w1?fieldManager=me", first, content_type=apply)
    assert created.status == 201 and created.body["spec"]["port"] == 80
    second = (
        b"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, zone: zone-a}\n"
    )
    updated = cluster.request("PATCH", f"{widgets_path}/w1?fieldManager=me", second, content_type=apply)
    assert updated.status == 200
    assert updated.body["spec"] == {"size": 3, "zone": "zone-a", "mode": "fast"}
    missing_manager = cluster.request("PATCH", f"{widgets_path}/w1", second, content_type=apply)
    assert missing_manager.status == 422
    assert "fieldManager: Required value: is required for apply patch" in missing_manager.body["message"]


def test_crd_posted_through_the_api_becomes_served(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Cluster",
            "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"n": {"type": "integer"}}}
                            },
                        }
                    },
                }
            ],
        },
    }
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert cluster.request("POST", crds, crd).status == 201
    wait_established(cluster, "gadgets.example.org")
    gadget = {
        "apiVersion": "example.org/v1alpha1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": {"n": 1},
    }
    eventually(
        lambda: cluster.request("POST", "/apis/example.org/v1alpha1/gadgets", gadget).status == 201,
        10,
        "a Gadget created",
    )

    cluster.request("DELETE", f"{crds}/gadgets.example.org")
    eventually(
        lambda: cluster.request("GET", "/apis/example.org/v1alpha1/gadgets").status == 404, 30, "gadgets gone"
    )


def test_invalid_crd_is_rejected(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "bad.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Namespaceded",
            "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "properties": {"n": {"type": "integr"}}}
                    },
                }
            ],
        },
    }
    reply = cluster.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert reply.status == 422
    assert 'spec.scope: Unsupported value: "Namespaceded"' in reply.body["message"]
    assert "integr" in reply.body["message"] and "metadata.name" in reply.body["message"]


def test_a_crd_describing_its_objects_metadata_is_rejected(cluster: EmulatedCluster) -> None:
    """Only `type` and name/generateName constraints may go under the root's metadata, not a description."""
    metadata = {"type": "object", "description": "Standard object metadata."}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"metadata": metadata}}},
                }
            ],
        },
    }
    reply = cluster.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert reply.status == 422, reply.body
    assert (
        "properties[metadata]: Forbidden: must not specify anything other than name and generateName"
        in (reply.body["message"])
    )


@pytest.mark.emulator  # the emulator's in-process object store
def test_direct_object_access_from_tests(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    created = cluster.call(lambda api: api.create_object(widget()))
    assert created["metadata"]["namespace"] == "default"
    history = cluster.call(lambda api: len(api.objects["example.com/v1/widgets", "default", "w1"].history))
    assert history == 1


def test_kopf_peering_resources_are_opt_in() -> None:
    with emulated_cluster(settings=EmulatorSettings(kopf_peering=True)) as peering:
        plurals = {r["name"] for r in peering.request("GET", "/apis/kopf.dev/v1").body["resources"]}
        assert plurals == {"kopfpeerings", "clusterkopfpeerings"}


def test_delete_preconditions(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    created = cluster.request("POST", widgets_path, widget()).body
    wrong = {"preconditions": {"resourceVersion": "1"}}
    reply = cluster.request("DELETE", f"{widgets_path}/w1", wrong)
    assert (
        reply.status == 409
        and "the ResourceVersion in the precondition (1) does not match" in reply.body["message"]
    )
    right = {"preconditions": {"uid": created["metadata"]["uid"]}}
    assert cluster.request("DELETE", f"{widgets_path}/w1", right).status == 200


def test_crd_selectable_fields(cluster: EmulatedCluster) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "selectableFields": [{"jsonPath": ".spec.color"}],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"color": {"type": "string"}}}
                            },
                        }
                    },
                }
            ],
        },
    }
    assert (
        cluster.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).status == 201
    )
    wait_established(cluster, "gadgets.example.org")
    gadgets = "/apis/example.org/v1/namespaces/default/gadgets"
    for name, color in (("g1", "red"), ("g2", "blue")):
        body = {
            "apiVersion": "example.org/v1",
            "kind": "Gadget",
            "metadata": {"name": name},
            "spec": {"color": color},
        }
        cluster.request("POST", gadgets, body)
    selected = cluster.request("GET", f"{gadgets}?fieldSelector=spec.color%3Dblue").body["items"]
    assert [item["metadata"]["name"] for item in selected] == ["g2"]
