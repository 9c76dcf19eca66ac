"""Watch streams: initial events, resumption, 410 Gone, selector transitions, timeouts, bookmarks."""

from __future__ import annotations

import http.client
import json
import pathlib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kube_emulator.server import EmulatorSettings
from kube_emulator.testing import EmulatedCluster, emulated_cluster
from tests.support.real_cluster import RealCluster

pytestmark = pytest.mark.timeout(30)

WidgetFactory = Callable[..., dict[str, Any]]
MERGE = "application/merge-patch+json"


class Stream:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.response = response

    def next(self) -> dict[str, Any]:
        line = self.response.readline()
        assert line, "the watch stream ended"
        return json.loads(line)  # type: ignore[no-any-return]

    def ended(self) -> bool:
        return self.response.readline() == b""


@contextmanager
def watching(cluster: EmulatedCluster | RealCluster, path: str, **params: str) -> Iterator[Stream]:
    url = urllib.parse.urlsplit(cluster.url)
    connection: http.client.HTTPConnection
    headers = {}
    if isinstance(cluster, RealCluster):
        context = ssl.create_default_context(cafile=str(cluster.ca_path))
        connection = http.client.HTTPSConnection(url.hostname or "", url.port, timeout=10, context=context)
        headers["Authorization"] = f"Bearer {cluster.token}"
    else:
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    query = urllib.parse.urlencode({"watch": "true", **params})
    connection.request("GET", f"{path}?{query}", headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    try:
        yield Stream(response)
    finally:
        connection.close()


def summary(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["object"]["metadata"].get("name", "")


def test_initial_and_live_events(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    cluster.request("POST", widgets_path, widget("w1"))
    with watching(cluster, widgets_path) as stream:
        assert summary(stream.next()) == ("ADDED", "w1")
        cluster.request("POST", widgets_path, widget("w2"))
        assert summary(stream.next()) == ("ADDED", "w2")
        cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 2}}, content_type=MERGE)
        modified = stream.next()
        assert summary(modified) == ("MODIFIED", "w1") and modified["object"]["spec"]["size"] == 2
        cluster.request("DELETE", f"{widgets_path}/w2")
        assert summary(stream.next()) == ("DELETED", "w2")


def test_noop_patch_emits_no_event(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget("w1"))
    with watching(cluster, widgets_path) as stream:
        stream.next()
        cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 1}}, content_type=MERGE)  # no change
        cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 3}}, content_type=MERGE)
        event = stream.next()
        assert event["type"] == "MODIFIED" and event["object"]["spec"]["size"] == 3


def test_resume_from_resource_version(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    version = cluster.request("POST", widgets_path, widget("w1")).body["metadata"]["resourceVersion"]
    cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 4}}, content_type=MERGE)
    cluster.request("POST", widgets_path, widget("w2"))
    with watching(cluster, widgets_path, resourceVersion=version) as stream:
        assert summary(stream.next()) == ("MODIFIED", "w1")
        assert summary(stream.next()) == ("ADDED", "w2")


def test_too_old_resource_version_is_gone(
    widgets_crd: pathlib.Path, widget: WidgetFactory, widgets_path: str
) -> None:
    settings = EmulatorSettings(change_history_limit=2, crd_paths=(widgets_crd,))
    with emulated_cluster(settings=settings) as cluster:
        for name in ("w1", "w2", "w3", "w4"):
            cluster.request("POST", widgets_path, widget(name))
        with watching(cluster, widgets_path, resourceVersion="1") as stream:
            event = stream.next()
            assert event["type"] == "ERROR" and event["object"]["code"] == 410
            assert stream.ended()


def test_label_selector_sees_objects_enter_and_leave(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget("w1"))
    with watching(cluster, widgets_path, labelSelector="tier=gold") as stream:
        cluster.request(
            "PATCH", f"{widgets_path}/w1", {"metadata": {"labels": {"tier": "gold"}}}, content_type=MERGE
        )
        assert summary(stream.next()) == ("ADDED", "w1")
        cluster.request("PATCH", f"{widgets_path}/w1", {"metadata": {"labels": None}}, content_type=MERGE)
        assert summary(stream.next()) == ("DELETED", "w1")


def test_field_selector_on_name(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    with watching(cluster, widgets_path, fieldSelector="metadata.name=w2") as stream:
        cluster.request("POST", widgets_path, widget("w1"))
        cluster.request("POST", widgets_path, widget("w2"))
        assert summary(stream.next()) == ("ADDED", "w2")


def test_timeout_seconds_ends_the_stream(cluster: EmulatedCluster, widgets_path: str) -> None:
    started = time.monotonic()
    with watching(cluster, widgets_path, timeoutSeconds="1") as stream:
        assert stream.ended()
    assert 0.9 <= time.monotonic() - started < 5


def test_initial_events_end_with_a_bookmark(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget("w1"))
    params = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }
    with watching(cluster, widgets_path, **params) as stream:
        assert summary(stream.next()) == ("ADDED", "w1")
        bookmark = stream.next()
        assert bookmark["type"] == "BOOKMARK"
        assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_events_k8s_io_is_a_view_of_core_events(cluster: EmulatedCluster) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "e-"},
        "involvedObject": {"kind": "Widget", "name": "w1", "namespace": "default"},
        "reason": "Tested",
        "message": "hello",
        "type": "Normal",
    }
    cluster.request("POST", "/api/v1/namespaces/default/events", event)
    reply = cluster.request("GET", "/apis/events.k8s.io/v1/namespaces/default/events").body
    listed = reply["items"]
    assert listed[0]["regarding"]["name"] == "w1" and listed[0]["note"] == "hello"
    assert reply["apiVersion"] == "events.k8s.io/v1"
    selected = cluster.request(
        "GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dw1,reason%3DTested"
    )
    assert [item["reason"] for item in selected.body["items"]] == ["Tested"]
    unsupported = cluster.request("GET", "/api/v1/namespaces/default/events?fieldSelector=spec.x%3D1")
    assert unsupported.status == 400 and unsupported.body["message"] == "field label not supported: spec.x"
