"""The request log (what API calls were made) and fault injection (409/5xx on demand)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kmock
import pytest

from kube_emulator.requestlog import Permission
from kube_emulator.testing import EmulatedCluster

pytestmark = pytest.mark.timeout(30)

WidgetFactory = Callable[..., dict[str, Any]]
MERGE = "application/merge-patch+json"


def test_every_request_is_logged(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    cluster.request("POST", widgets_path, widget())
    cluster.request("PATCH", f"{widgets_path}/w1/status", {"status": {"phase": "A"}}, content_type=MERGE)
    cluster.request("GET", f"{widgets_path}/absent")
    cluster.request("GET", "/api/v1/namespaces")
    cluster.request("GET", "/version")
    calls = [
        (c.method, c.verb, c.group, c.resource, c.subresource, c.namespace, c.status)
        for c in cluster.request_log
    ]
    assert calls == [
        ("POST", "create", "example.com", "widgets", None, "default", 201),
        ("PATCH", "patch", "example.com", "widgets", "status", "default", 200),
        ("GET", "get", "example.com", "widgets", None, "default", 404),
        ("GET", "list", "", "namespaces", None, None, 200),
        ("GET", "get", None, None, None, None, 200),
    ]
    assert cluster.request_log.permissions() == {
        Permission("example.com", "widgets", "create"),
        Permission("example.com", "widgets/status", "patch"),
        Permission("example.com", "widgets", "get"),
        Permission("", "namespaces", "list"),
    }


def test_faults_answer_the_next_matching_requests(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    fault = cluster.inject_fault("patch", "widgets", status=409, count=2)
    for _ in range(2):
        reply = cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 2}}, content_type=MERGE)
        assert (reply.status, reply.body["reason"]) == (409, "Conflict")
        assert "the object has been modified" in reply.body["message"]
    assert cluster.request("GET", f"{widgets_path}/w1").body["spec"]["size"] == 1  # unchanged by the faults
    assert (
        cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 2}}, content_type=MERGE).status
        == 200
    )
    assert fault.hits == 2 and fault.count == 0
    assert [c.injected for c in cluster.request_log if c.verb == "patch"] == [True, True, False]


def test_faults_match_subresources_groups_and_server_errors(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget())
    cluster.inject_fault("patch", "example.com/widgets/status", status=503, retry_after=1)
    main = cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 2}}, content_type=MERGE)
    assert main.status == 200  # the main resource does not match a status-only fault
    status = cluster.request("PATCH", f"{widgets_path}/w1/status", {"status": {}}, content_type=MERGE)
    assert (status.status, status.body["reason"], status.headers["Retry-After"]) == (
        503,
        "ServiceUnavailable",
        "1",
    )
    cluster.inject_fault("list", None, status=500)
    assert cluster.request("GET", "/api/v1/namespaces").status == 500


def test_kmock_reactions_take_precedence(cluster: EmulatedCluster) -> None:
    cluster.call(lambda api: api["get /version"] << {"gitVersion": "v0.0.0-mocked"})
    assert cluster.request("GET", "/version").body == {"gitVersion": "v0.0.0-mocked"}
    assert cluster.call(lambda api: len(api[kmock.resource("", "v1", "namespaces")])) == 0
    cluster.request("GET", "/api/v1/namespaces")
    assert cluster.call(lambda api: len(api[kmock.resource("", "v1", "namespaces")])) == 1
