"""Reading and writing our custom resources in the cluster, and waiting on what users would see.

Everything here goes through kubectl or the HTTP API, so it works the same on the real control plane and on
the emulator: `Cluster` is either.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import yaml

from cloudstack_sim.testing import SimulatorHandle
from kube_emulator.testing import EmulatedCluster, find_kubectl
from tests.support.fault_proxy import FaultyCluster
from tests.support.real_cluster import RealCluster
from tests.support.waiting import eventually

__all__ = ["eventually"]  # re-exported: the end-to-end tests wait with it next to the helpers above

API_VERSION = "ssvm.cloudstack.io/v1alpha1"
NAMESPACE = "default"
PLURALS = {
    "SSVMPool": "ssvmpools",
    "CloudStackEndpoint": "cloudstackendpoints",
    "SSVMSettings": "ssvmsettings",
}

Cluster = EmulatedCluster | RealCluster


def pending_faults(cluster: Cluster) -> list[Any]:
    """The injected Kubernetes faults not answered yet, from the proxy or the emulator."""
    if isinstance(cluster, FaultyCluster):
        return list(cluster.faults.pending())
    assert isinstance(cluster, EmulatedCluster), "faults need the fault proxy or the emulator"
    return list(cluster.call(lambda api: api.faults.pending()))


def clear_faults(cluster: Cluster) -> None:
    if isinstance(cluster, FaultyCluster):
        cluster.faults.clear()
    else:
        assert isinstance(cluster, EmulatedCluster), "faults need the fault proxy or the emulator"
        cluster.call(lambda api: api.faults.clear())


def apply(cluster: Cluster, *docs: Mapping[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(list(docs)), check=True)


def endpoint_docs(
    api_url: str, api_key: str, secret_key: str, *, poll_seconds: int = 1, name: str = "region-1"
) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-keys", "namespace": NAMESPACE},
            "stringData": {"apiKey": api_key, "secretKey": secret_key},
        },
        {
            "apiVersion": API_VERSION,
            "kind": "CloudStackEndpoint",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "url": api_url,
                "credentialsSecretRef": {"name": f"{name}-keys"},
                "pollIntervalSeconds": poll_seconds,
                "timeoutSeconds": 5,
                "jobTimeoutSeconds": 60,
                "requestsPerSecond": 200,
            },
        },
    ]


def pool_doc(name: str, zone: str, endpoint: str = "region-1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMPool",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"endpointRef": {"name": endpoint}, "zone": zone, **spec},
    }


def get(cluster: Cluster, kind: str, name: str) -> dict[str, Any]:
    reply = cluster.request("GET", f"/apis/{API_VERSION}/namespaces/{NAMESPACE}/{PLURALS[kind]}/{name}")
    assert reply.status == 200, f"{kind} {name}: {reply.status} {reply.body}"
    return dict(reply.body)


def status(cluster: Cluster, kind: str, name: str) -> dict[str, Any]:
    return dict(get(cluster, kind, name).get("status") or {})


def condition(cluster: Cluster, kind: str, name: str, type_: str) -> dict[str, Any]:
    conditions = status(cluster, kind, name).get("conditions") or []
    return next((dict(c) for c in conditions if c.get("type") == type_), {})


def events(cluster: Cluster, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Events about an object, oldest first."""
    listed = cluster.request("GET", f"/api/v1/namespaces/{NAMESPACE}/events").body or {}
    found = [e for e in listed.get("items") or [] if (e.get("involvedObject") or {}).get("name") == name]
    ordered = sorted(found, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return [(str(e.get("type")), str(e.get("reason")), str(e.get("message"))) for e in ordered]


class StatusHistory:
    """Every status an object had while watched, in order: what `kubectl get -w` streamed.

    Unlike polling, a watch misses no version, so a status that held for a moment is still seen.
    """

    def __init__(self) -> None:
        self._seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, status: dict[str, Any]) -> None:
        with self._lock:
            self._seen.append(status)

    def seen(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._seen)


@contextlib.contextmanager
def _kubectl_watch(
    cluster: Cluster, args: list[str], on_object: Callable[[dict[str, Any]], None]
) -> Iterator[None]:
    """`kubectl get -w -o json` with `args`; a reader thread hands `on_object` each object streamed."""
    process = subprocess.Popen(
        [str(find_kubectl()), "get", *args, "-n", NAMESPACE, "-w", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=cluster.env(),
    )

    def read() -> None:
        assert process.stdout is not None
        decoder, pending = json.JSONDecoder(), ""
        for line in process.stdout:
            pending += line
            try:
                body, end = decoder.raw_decode(pending.strip())
            except json.JSONDecodeError:
                continue  # an object is printed over many lines
            on_object(body)
            pending = pending.strip()[end:]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        process.kill()
        reader.join(timeout=5)
        process.wait()


@contextlib.contextmanager
def watched_status(cluster: Cluster, plural: str, name: str) -> Iterator[StatusHistory]:
    history = StatusHistory()
    with _kubectl_watch(cluster, [plural, name], lambda body: history.add(dict(body.get("status") or {}))):
        # The watch's first event is the object as it is now: from then on no change is missed.
        eventually(lambda: history.seen(), timeout=10, what=f"a watch on {plural}/{name}")
        yield history


class VersionHistory:
    """Every (event type, name, resourceVersion) a watch on one kind streamed, in order."""

    def __init__(self) -> None:
        self._seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def add(self, event: dict[str, Any]) -> None:
        meta = (event.get("object") or {}).get("metadata") or {}
        with self._lock:
            self._seen.append(
                (str(event.get("type")), str(meta.get("name")), str(meta.get("resourceVersion")))
            )

    def seen(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self._seen)

    def changes(self) -> list[tuple[str, str, str]]:
        """What came after the watch's opening list: every write to an object of the kind."""
        return [event for event in self.seen() if event[0] != "ADDED"]


@contextlib.contextmanager
def watched_versions(cluster: Cluster, plural: str, expected: int) -> Iterator[VersionHistory]:
    """A `kubectl get -w` on every object of a kind; its first `expected` events are the objects as they are.

    A watch misses no write, where sampling the objects could miss one that came and went between reads.
    """
    history = VersionHistory()
    with _kubectl_watch(cluster, [plural, "--output-watch-events"], history.add):
        eventually(lambda: len(history.seen()) >= expected, timeout=10, what=f"a watch on {plural}")
        yield history


def inventories_read(cloudstack: SimulatorHandle) -> int:
    """How many inventories the operator has read: each poll lists the SSVMs once per endpoint."""
    return cloudstack.admin.call_counts().get("listSystemVms", 0)


def wait_polls(cloudstack: SimulatorHandle, polls: int = 2, timeout: float = 30.0) -> None:
    """Until the operator has read CloudStack `polls` more times (the status shows no poll time)."""
    start = inventories_read(cloudstack)
    eventually(lambda: inventories_read(cloudstack) >= start + polls, timeout, f"{polls} more polls")


def wait_event(
    cluster: Cluster, name: str, reason: str, type_: str | None = None, timeout: float = 10.0
) -> str:
    """The message of the first Event with `reason` about `name`, once posted.

    kopf posts Events from a queue of its own, so one may land just after the status it goes with.
    """
    found = eventually(
        lambda: [m for t, r, m in events(cluster, name) if r == reason and type_ in (None, t)],
        timeout,
        f"a {type_ or ''} Event {reason} about {name}",
    )
    return found[0]


def wait_condition(
    cluster: Cluster,
    kind: str,
    name: str,
    type_: str,
    status_: str = "True",
    reason: str | None = None,
    timeout: float = 30.0,
    containing: str = "",
) -> dict[str, Any]:
    """`containing`: text the message must hold, where the reason stays while the message moves."""

    def check() -> dict[str, Any]:
        found = condition(cluster, kind, name, type_)
        if found.get("status") != status_ or (reason is not None and found.get("reason") != reason):
            return {}
        return found if containing in str(found.get("message", "")) else {}

    try:
        return eventually(check, timeout, f"{kind} {name} {type_}={status_} {reason or ''}")
    except AssertionError as error:
        raise AssertionError(f"{error}\nstatus: {yaml.safe_dump(status(cluster, kind, name))}") from None
