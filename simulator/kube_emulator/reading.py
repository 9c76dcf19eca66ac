"""Reads as an apiserver answers them: label and field selection, lists, server-side Tables for kubectl, and
watches (replay from a resourceVersion, initial events and bookmarks, 410 Gone once compacted). Functions of
the FakeApiserver, which routes to them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import kmock

from kube_emulator import errors, kmock_compat, selectors, tables, watch
from kube_emulator import server as served  # the module; `server` below is the FakeApiserver
from kube_emulator.paths import ResourcePath, is_truthy
from kube_emulator.resources import Body, ResourceSpec

if TYPE_CHECKING:
    from kube_emulator.requestlog import ApiCall
    from kube_emulator.server import FakeApiserver


def selection(
    server: FakeApiserver, spec: ResourceSpec, path: ResourcePath, query: Mapping[str, str]
) -> Callable[[Body], bool]:
    labels = selectors.parse_labels(query.get("labelSelector"))
    allowed = set(spec.fields_of({"metadata": {"name": "", "namespace": ""}}))
    fields = selectors.parse_fields(query.get("fieldSelector"), allowed.__contains__)
    namespace = path.namespace if spec.namespaced else None

    def matches(stored: Body) -> bool:
        meta = stored.get("metadata") or {}
        if namespace is not None and meta.get("namespace") != namespace:
            return False
        if path.name is not None and meta.get("name") != path.name:
            return False
        if not labels.matches(meta.get("labels") or {}):
            return False
        return fields.matches(spec.fields_of(spec.present(stored))) if fields.requirements else True

    return matches


def list_response(
    server: FakeApiserver, spec: ResourceSpec, path: ResourcePath, query: Mapping[str, str], accept: str
) -> Any:
    matches = selection(server, spec, path, query)
    stored = [body for body in server.store.list_objects(spec, path.namespace) if matches(body)]
    items = [server._present(spec, body) for body in stored]
    table = maybe_table(server, spec, items, accept, query)
    if table is not None:
        return table
    return {
        "kind": spec.list_kind,
        "apiVersion": spec.api_version,
        "metadata": {"resourceVersion": server.store.current_version},
        "items": items,
    }


def maybe_table(
    server: FakeApiserver,
    spec: ResourceSpec,
    items: list[Body],
    accept: str,
    query: Mapping[str, str],
    single: bool = False,
    with_definitions: bool = True,
) -> Any | None:
    if not tables.wants_table(accept):
        return None
    version = (
        items[0]["metadata"].get("resourceVersion", "") if single and items else server.store.current_version
    )
    return tables.table(
        spec,
        items,
        server.clock(),
        resource_version=version,
        include_object=query.get("includeObject", "Metadata"),
        with_definitions=with_definitions,
    )


def watch_response(
    server: FakeApiserver,
    request: kmock.Request,
    spec: ResourceSpec,
    path: ResourcePath,
    call: ApiCall | None,
) -> kmock_compat.Answer:
    query = request.params
    matches = selection(server, spec, path, query)
    accept = request.headers.get("Accept", "")
    since = query.get("resourceVersion", "")
    send_initial = is_truthy(query.get("sendInitialEvents"))
    try:
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
    except ValueError as exc:
        raise errors.bad_request(f'invalid timeoutSeconds "{query["timeoutSeconds"]}"') from exc
    if since and not since.isdigit():
        raise errors.bad_request(f'invalid resource version "{since}"')
    raw = kmock_compat.raw_request(request)
    first_table = [True]

    def render(kind: str, stored: Body) -> dict[str, Any]:
        body = server._present(spec, stored)
        table = maybe_table(server, spec, [body], accept, query, single=True, with_definitions=first_table[0])
        first_table[0] = False
        return {"type": kind, "object": table if table is not None else body}

    def bookmark(resource_version: int, initial_end: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {"resourceVersion": str(resource_version)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {
            "type": "BOOKMARK",
            "object": {"kind": spec.kind, "apiVersion": spec.api_version, "metadata": meta},
        }

    def connected() -> bool:
        transport = raw.transport if raw is not None else None
        return transport is not None and not transport.is_closing()

    current = server.store.resource_version
    if not since or since == "0" or send_initial:
        initial = [
            watch.Change(current, spec.storage_key, "ADDED", body)
            for body in server.store.list_objects(spec, path.namespace)
        ]
    else:
        replay = server.changes.since(int(since), spec.storage_key)
        if replay is None:
            gone = errors.gone(f"too old resource version: {since} ({server.changes.compacted_until})")
            return kmock_compat.stream_response(served.single_error(gone), dict(served.JSON_HEADERS))
        initial = replay
    subscription = server.changes.subscribe(spec.storage_key)  # same loop step as the snapshot: no gap
    watch_request = watch.WatchRequest(
        matches=matches,
        render=render,
        bookmark=bookmark,
        initial=initial,
        send_initial_bookmark=send_initial,
        initial_resource_version=current,
        timeout=timeout,
        connected=connected,
    )
    if call is not None:
        call.status = 200
        server.request_log.finished(call)
    return kmock_compat.stream_response(
        watch.stream(server.changes, watch_request, subscription), dict(served.JSON_HEADERS)
    )
