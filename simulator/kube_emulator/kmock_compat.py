"""Every assumption about kmock 0.8 internals, in one place — re-check all of it on a kmock upgrade.

What the emulator relies on (read in kmock/_internal/apps.py, k8s.py, k8s_views.py, k8s_dicts.py,
rendering.py, dsl.py of kmock 0.8):

1. `RawHandler.__call__` parses every request with `rendering.Request._parse`, which crashes on
   `/api/v1/namespaces` (README.md §1). `FakeApiserver.__call__` replaces it, so requests are built
   here with the public `kmock.Request` constructor; its private `_raw_request` attrs field is set
   through the `raw_request=` init argument.
2. Handled requests are appended to the private `Root._requests` list (what `kmock.requests` and the
   DSL views iterate) — reactions match the recorded request *by identity*, so the same object that
   is recorded must be dispatched (README.md §1: an `attrs.evolve`d copy matches nothing).
3. `RawHandler._handle` dispatches to user reactions by priority, then to fallbacks.
   `KubernetesEmulator._handle` adds its own object bookkeeping on top, which the emulator must skip,
   so dispatch calls `RawHandler._handle` directly.
4. `KubernetesScaffold/KubernetesEmulator.__attrs_post_init__` register their fallback reactions in
   the private `Root._payloads` list; the emulator removes them and registers one catch-all fallback.
5. A reaction's payload may be a callable returning `rendering.Response(status, headers, payload)`; an async
   iterator payload becomes a streamed response whose headers are applied before the first chunk,
   and dict chunks are sent as JSON lines. `Response._render` merges the returned headers into the
   reaction's own (shared) Response object, so headers accumulate across requests: every answer
   therefore sets every header the emulator ever uses, None meaning "not set".
6. Objects live in `KubernetesEmulator.objects` (`ObjectsArray`) keyed by `(kmock.resource, namespace,
   name)`; each is an `Object` with a `.history` of versions (None marks a soft deletion).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import aiohttp.web
import kmock
from kmock._internal import apps, k8s_dicts, k8s_views, rendering

from kube_emulator.paths import ResourcePath
from kube_emulator.resources import Body

StorageKey = tuple[str, str, str]
Answer = rendering.Response  # what a reaction returns: status, headers and a payload (kmock.Response)


def make_request(
    handler: kmock.KubernetesEmulator,
    raw: aiohttp.web.BaseRequest,
    body: bytes,
    data: Any,
    path: ResourcePath | None,
    verb: str | None,
) -> kmock.Request:
    """A kmock request with the Kubernetes fields parsed by the emulator (assumption 1)."""
    action = _ACTIONS.get(verb or "")
    return kmock.Request(
        id=len(handler._requests),
        raw_request=raw,
        url=raw.url,
        method=raw.method,
        params=dict(raw.query),
        headers=dict(raw.headers),
        cookies=dict(raw.cookies),
        body=body,
        text=body.decode("utf-8", errors="replace"),
        data=data,
        action=action,
        resource=kmock.resource(path.group, path.version, path.plural) if path else None,
        namespace=path.namespace if path else None,
        name=path.name if path else None,
        subresource=path.subresource if path else None,
    )


_ACTIONS: dict[str, kmock.action] = {
    "list": kmock.action.LIST,
    "watch": kmock.action.WATCH,
    "get": kmock.action.FETCH,
    "create": kmock.action.CREATE,
    "patch": kmock.action.UPDATE,
    "delete": kmock.action.DELETE,
}


def raw_request(request: kmock.Request) -> aiohttp.web.BaseRequest | None:
    """The aiohttp request behind a kmock request (assumption 1: the private `_raw_request` field)."""
    return request._raw_request


def record(handler: kmock.KubernetesEmulator, request: kmock.Request) -> None:
    """Make the request visible to kmock's DSL views (assumption 2)."""
    handler._requests.append(request)


async def dispatch(handler: kmock.KubernetesEmulator, request: kmock.Request) -> aiohttp.web.StreamResponse:
    """User reactions first, then the emulator's fallback; skips kmock's own bookkeeping (assumption 3)."""
    return await apps.RawHandler._handle(handler, request)


def replace_fallbacks(handler: kmock.KubernetesEmulator, serve: Any) -> None:
    """Drop kmock's fallback reactions and serve everything unmatched with `serve` (assumption 4)."""
    handler._payloads.clear()
    handler.fallback << serve


# Every header any answer of the emulator sets (assumption 5).
MANAGED_HEADERS = ("Content-Type", "Warning", "Retry-After")


def _headers(headers: dict[str, str] | None) -> dict[str, str | None]:
    result: dict[str, str | None] = dict.fromkeys(MANAGED_HEADERS)
    result.update(headers or {})
    return result


def stream_response(payload: Any, headers: dict[str, str]) -> Answer:
    """A streamed answer with our headers (assumption 5)."""
    return rendering.Response(status=200, headers=_headers(headers), payload=payload)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    return rendering.Response(status=status, headers=_headers(headers), payload=payload)


# ---- object storage (assumption 6) ---------------------------------------------------------------------


def _key(storage: StorageKey, namespace: str | None, name: str) -> k8s_views.ArrayKey:
    return (kmock.resource(*storage), namespace, name)


def read(
    objects: k8s_views.ObjectsArray, storage: StorageKey, namespace: str | None, name: str
) -> Body | None:
    key = _key(storage, namespace, name)
    if key not in objects:
        return None
    obj: k8s_dicts.Object = objects[key]
    return None if obj.deleted else copy.deepcopy(obj.raw)


def write(
    objects: k8s_views.ObjectsArray,
    storage: StorageKey,
    namespace: str | None,
    name: str,
    body: Body,
    history_limit: int,
) -> None:
    key = _key(storage, namespace, name)
    snapshot = copy.deepcopy(body)
    if key in objects:
        obj: k8s_dicts.Object = objects[key]
        obj.history.append(snapshot)
        if history_limit and len(obj.history) > history_limit:
            del obj.history[: len(obj.history) - history_limit]
    else:
        objects[key] = snapshot


def remove(objects: k8s_views.ObjectsArray, storage: StorageKey, namespace: str | None, name: str) -> None:
    key = _key(storage, namespace, name)
    if key in objects:
        objects[key].delete()  # soft deletion: tests can still read the object's history


def scan(
    objects: k8s_views.ObjectsArray, storage: StorageKey | None = None
) -> Iterator[tuple[StorageKey, Body]]:
    """Live objects (deep copies), optionally of one storage, in creation order."""
    for (resource, _namespace, _name), obj in list(objects.items()):
        key = (resource.group or "", resource.version or "", resource.plural or "")
        if storage is not None and key != storage:
            continue
        if not obj.deleted:
            yield key, copy.deepcopy(obj.raw)
