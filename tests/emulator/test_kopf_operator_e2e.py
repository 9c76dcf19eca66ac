"""A real kopf operator (kopf.testing.KopfRunner) against the emulator, end to end.

The operator logs in with `kopf.login_with_kubeconfig`, which reads `$KUBECONFIG` at login time — the
recommended way around the `kubernetes.config` import-time freeze (see kube_emulator.testing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from kopf.testing import KopfRunner

from kube_emulator.testing import EmulatedCluster

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("kubectl_available")]

registry = kopf.OperatorRegistry()
deleted: list[str] = []
delete_lock = threading.Lock()


@kopf.on.login(registry=registry)
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    return kopf.login_with_kubeconfig(**kwargs)


@kopf.on.create("example.com", "v1", "widgets", registry=registry)
def created(body: kopf.Body, patch: kopf.Patch, **_: Any) -> dict[str, Any]:
    patch.metadata.labels["example.com/handled"] = "yes"
    patch.status["phase"] = "Ready"
    patch.status["conditions"] = [{"type": "Ready", "status": "True", "reason": "Assembled"}]
    kopf.info(body, reason="Created", message=f"widget size={body['spec']['size']}")
    return {"size": body["spec"]["size"]}


@kopf.on.update("example.com", "v1", "widgets", field="spec.size", registry=registry)
def resized(body: kopf.Body, old: Any, new: Any, patch: kopf.Patch, **_: Any) -> None:
    patch.status["observedGeneration"] = body.metadata["generation"]
    kopf.info(body, reason="Resized", message=f"{old} -> {new}")


@kopf.timer("example.com", "v1", "widgets", interval=0.2, registry=registry)
def tick(status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
    patch.status["ticks"] = (status.get("ticks") or 0) + 1


@kopf.on.delete("example.com", "v1", "widgets", registry=registry)
def removed(name: str | None, **_: Any) -> None:
    with delete_lock:
        deleted.append(str(name))


def settings() -> kopf.OperatorSettings:
    result = kopf.OperatorSettings()
    result.posting.level = logging.INFO
    result.networking.error_backoffs = [0.05, 0.05, 0.1, 0.2]
    result.watching.server_timeout = 30
    return result


@pytest.fixture
def operator_env(cluster: EmulatedCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedCluster]:
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_path))
    with delete_lock:
        deleted.clear()
    yield cluster


WIDGET = (
    "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: %s, namespace: %s}\nspec: {size: 1, zone: z}"
)


def widget_of(cluster: EmulatedCluster, name: str, namespace: str = "default") -> dict[str, Any] | None:
    return cluster.call(lambda api: api.get_object("example.com/v1", "Widget", name, namespace))


def assert_clean(runner: KopfRunner) -> None:
    assert runner.exit_code == 0 and runner.exception is None
    problems = [line for line in runner.output.splitlines() if "ERROR" in line or "Traceback" in line]
    assert not problems, "\n".join(problems)


def test_widget_lifecycle(operator_env: EmulatedCluster) -> None:
    cluster = operator_env
    with KopfRunner(
        ["run", "--standalone", "-n", "default"], registry=registry, settings=settings()
    ) as runner:
        cluster.kubectl("apply", "-f", "-", input=WIDGET % ("w1", "default"), check=True)

        def handled(api: Any) -> dict[str, Any] | None:
            body = api.get_object("example.com/v1", "Widget", "w1", "default")
            return body if body and (body.get("status") or {}).get("ticks", 0) >= 2 else None

        body = cluster.wait_for(handled)
        assert body is not None
        assert body["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
        assert body["metadata"]["labels"]["example.com/handled"] == "yes"
        assert body["status"]["phase"] == "Ready" and body["status"]["created"] == {"size": 1}
        assert body["metadata"]["generation"] == 1

        cluster.kubectl("patch", "wd", "w1", "--type", "merge", "-p", '{"spec":{"size":3}}', check=True)
        cluster.wait_for(
            lambda api: (widget_of(cluster, "w1") or {}).get("status", {}).get("observedGeneration") == 2
        )

        described = cluster.kubectl("describe", "wd", "w1", check=True).stdout
        events = described.split("Events:")[1]
        assert (
            "Created" in events and "widget size=1" in events and "Resized" in events and "1 -> 3" in events
        )
        row = cluster.kubectl("get", "wd", "w1", "--no-headers", check=True).stdout.split()
        assert row[:4] == ["w1", "z", "3", "True"]

        cluster.kubectl("delete", "wd", "w1", "--timeout=20s", check=True)
        assert widget_of(cluster, "w1") is None
        assert deleted == ["w1"]
    assert_clean(runner)


def test_cluster_wide_operator_survives_injected_server_errors(operator_env: EmulatedCluster) -> None:
    cluster = operator_env
    cluster.inject_fault("patch", "widgets/status", status=503, count=2)
    cluster.inject_fault("create", "events", status=500, count=1)
    with KopfRunner(["run", "--standalone", "-A"], registry=registry, settings=settings()) as runner:
        cluster.kubectl("apply", "-f", "-", input=WIDGET % ("w2", "other"), check=True)
        cluster.wait_for(
            lambda api: ((widget_of(cluster, "w2", "other") or {}).get("status") or {}).get("phase")
        )
        injected = [
            (call.verb, call.rbac_resource, call.status) for call in cluster.request_log if call.injected
        ]
        assert [entry for entry in injected if entry[1] == "widgets/status"] == [
            ("patch", "widgets/status", 503)
        ] * 2
        assert cluster.wait_for(lambda api: api.events_for("w2", "other"))  # posted after the injected 500
    assert runner.exit_code == 0


def test_request_log_tells_which_permissions_the_operator_needs(operator_env: EmulatedCluster) -> None:
    cluster = operator_env
    with KopfRunner(["run", "--standalone", "-n", "default"], registry=registry, settings=settings()):
        cluster.kubectl("apply", "-f", "-", input=WIDGET % ("w3", "default"), check=True)
        cluster.wait_for(lambda api: ((widget_of(cluster, "w3") or {}).get("status") or {}).get("ticks"))
        cluster.kubectl("delete", "wd", "w3", "--timeout=20s", check=True)
    needed = {
        (p.api_group, p.resource, p.verb) for p in cluster.request_log.permissions(user_agent_prefix="kopf/")
    }
    assert needed == {
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
        ("", "events", "create"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("example.com", "widgets", "list"),
        ("example.com", "widgets", "watch"),
        ("example.com", "widgets", "patch"),
        ("example.com", "widgets/status", "patch"),
    }


environment_free = kopf.OperatorRegistry()
current: list[EmulatedCluster] = []


@kopf.on.login(registry=environment_free)
def login_to_current(**_: Any) -> kopf.ConnectionInfo:
    return current[-1].connection_info()


@kopf.on.create("example.com", "v1", "widgets", registry=environment_free)
def mark(patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = "Seen"


def test_login_with_connection_info_needs_no_kubeconfig(cluster: EmulatedCluster) -> None:
    current.append(cluster)
    with KopfRunner(["run", "--standalone", "-n", "default"], registry=environment_free, settings=settings()):
        cluster.kubectl("apply", "-f", "-", input=WIDGET % ("w4", "default"), check=True)
        cluster.wait_for(
            lambda api: ((widget_of(cluster, "w4") or {}).get("status") or {}).get("phase") == "Seen"
        )
