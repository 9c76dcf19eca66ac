"""`FakeApiserver`: kmock's KubernetesEmulator made faithful enough for kopf and kubectl.

Routing and HTTP only; the semantics live in the modules it calls: `store` (resourceVersion, conflicts,
status subresource), `deletion` (finalizers, garbage collection, namespaces), `reading` (selectors, lists,
Tables, watches), `admission`/`schema`/`cel` (validation, defaulting, pruning), `patching`, `watch`,
`tables`, `discovery`, `openapi`, `requestlog`, `faults`. kmock internals are touched only through
`kmock_compat`.

User-defined kmock reactions still take precedence (`api['get /version'] << 503` works), because the
emulator answers as kmock's lowest-priority fallback.
"""

from __future__ import annotations

import datetime
import json
import logging
import pathlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml

from kube_emulator import (
    admission,
    builtin,
    crds,
    discovery,
    errors,
    kmock_compat,
    openapi,
    patching,
    reading,
    watch,
)
from kube_emulator.faults import Fault, FaultInjector
from kube_emulator.paths import ResourcePath, guess_verb, is_truthy, parse_resource_path
from kube_emulator.requestlog import ApiCall, RequestLog
from kube_emulator.resources import Body, Registry, ResourceSpec
from kube_emulator.store import DEFAULT_NAMESPACES, Store, WriteOptions, WriteResult

log = logging.getLogger(__name__)

PROTOBUF = "application/vnd.kubernetes.protobuf"
ADMIN_PREFIX = "/_emulator/"
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class EmulatorSettings:
    """How the emulated cluster starts."""

    namespaces: tuple[str, ...] = ("default",)
    """Namespaces to create at start, in addition to default, kube-system, kube-public, kube-node-lease."""

    require_namespaces: bool = True
    """Refuse namespaced objects in namespaces that do not exist (404), like a real apiserver."""

    kopf_peering: bool = False
    """Serve kopf's peering resources (kopf.dev/v1), needed only for `kopf run` without --standalone."""

    object_history_limit: int = 100
    """How many past versions of each object to keep in `FakeApiserver.objects[...].history`."""

    change_history_limit: int = 50_000
    """How many changes to keep for watch resumption; older resourceVersions get 410 Gone."""

    crd_paths: tuple[str | pathlib.Path, ...] = field(default_factory=tuple)
    """CRD YAML files or directories to load at start (as if applied before the test)."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@attrs.define(kw_only=True)
class FakeApiserver(kmock.KubernetesEmulator):
    """A Kubernetes API emulator: start it with `kmock.Server(api)` or `kube_emulator.testing`."""

    settings: EmulatorSettings = attrs.field(factory=EmulatorSettings)
    clock: Callable[[], datetime.datetime] = attrs.field(default=_now)
    registry: Registry = attrs.field(factory=Registry, init=False)
    request_log: RequestLog = attrs.field(factory=RequestLog, init=False)
    faults: FaultInjector = attrs.field(factory=FaultInjector, init=False)
    changes: watch.ChangeHistory = attrs.field(init=False)
    store: Store = attrs.field(init=False)
    _calls: dict[int, ApiCall] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        kmock_compat.replace_fallbacks(self, self._serve)
        self.changes = watch.ChangeHistory(self.settings.change_history_limit)
        self.store = Store(
            self.registry,
            self.objects,
            self.changes,
            clock=self.clock,
            require_namespaces=self.settings.require_namespaces,
            object_history_limit=self.settings.object_history_limit,
        )
        for spec in builtin.all_builtins(self.clock, kopf_peering=self.settings.kopf_peering):
            self.add_resource(spec)
        self.store.ensure_namespaces(dict.fromkeys((*DEFAULT_NAMESPACES, *self.settings.namespaces)))
        if self.settings.crd_paths:
            self.load_crds(self.settings.crd_paths)

    # -- public API for tests (call from the emulator's event loop thread, or before serving) ----------

    def add_resource(self, spec: ResourceSpec) -> None:
        """Serve a resource; also declared to kmock so its own discovery helpers see it."""
        self.registry.add(spec)
        self.resources[
            f"{spec.group}/{spec.version}/{spec.plural}" if spec.group else f"v1/{spec.plural}"
        ] = kmock.ResourceInfo(
            kind=spec.kind,
            singular=spec.singular,
            namespaced=spec.namespaced,
            verbs=set(spec.verbs),
            shortnames=set(spec.short_names),
            subresources=set(spec.subresources),
        )

    def load_crds(self, paths: Iterable[str | pathlib.Path]) -> list[Body]:
        """Create the CRDs found in YAML files/directories, as `kubectl apply -f` would."""
        return [self.create_object(crd) for crd in crds.read_crd_files(paths)]

    def spec_for(self, api_version: str, kind: str) -> ResourceSpec:
        spec = self.registry.by_kind(api_version, kind)
        if spec is None:
            raise KeyError(f"no served resource for {api_version} {kind}")
        return spec

    def create_object(self, body: Mapping[str, Any], namespace: str | None = None) -> Body:
        """Create an object through the full API semantics (validation, defaults, events)."""
        spec = self.spec_for(str(body.get("apiVersion")), str(body.get("kind")))
        ns = (
            namespace
            or (body.get("metadata") or {}).get("namespace")
            or ("default" if spec.namespaced else None)
        )
        return self._present(spec, self.store.create(spec, ns, dict(body), WriteOptions()).body)

    def get_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Body | None:
        spec = self.spec_for(api_version, kind)
        stored = self.store.find(spec, namespace, name)
        return None if stored is None else self._present(spec, stored)

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[Body]:
        spec = self.spec_for(api_version, kind)
        return [self._present(spec, body) for body in self.store.list_objects(spec, namespace)]

    def patch_object(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> Body:
        spec = self.spec_for(api_version, kind)
        current = self._present(spec, self.store.get(spec, namespace, name))
        patched = patching.merge_patch(current, patch)
        return self._present(
            spec, self.store.patch(spec, namespace, name, patched, subresource, WriteOptions()).body
        )

    def delete_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Body:
        spec = self.spec_for(api_version, kind)
        return self._present(spec, self.store.delete(spec, namespace, name, {}, dry_run=False).body)

    def events_for(self, name: str, namespace: str | None = None) -> list[Body]:
        """Core v1 Events whose involvedObject has this name (and namespace, if given)."""
        return [
            event
            for event in self.list_objects("v1", "Event")
            if (event.get("involvedObject") or {}).get("name") == name
            and (namespace is None or (event.get("involvedObject") or {}).get("namespace") == namespace)
        ]

    def inject_fault(
        self,
        verb: str | None = None,
        resource: str | None = None,
        *,
        status: int = 500,
        count: int = 1,
        namespace: str | None = None,
        name: str | None = None,
        message: str = "",
        retry_after: int | None = None,
    ) -> Fault:
        """Make the next `count` requests matching (verb, resource, ...) fail with `status`."""
        return self.faults.inject(
            verb,
            resource,
            status=status,
            count=count,
            namespace=namespace,
            name=name,
            message=message,
            retry_after=retry_after,
        )

    @property
    def skipped_cel_rules(self) -> list[Any]:
        """CEL rules that cannot be evaluated here (Kubernetes-only libraries), per served resource."""
        return [rule for spec in self.registry if spec.schema for rule in spec.schema.skipped_rules]

    def close_watches(self) -> None:
        """End all watch streams, so that the HTTP server can shut down without waiting for them."""
        self.changes.close_all()

    # -- HTTP entry point ----------------------------------------------------------------------------

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        body = await raw.read()
        if raw.path.startswith(ADMIN_PREFIX):
            return await self._serve_admin(raw, body)
        path = parse_resource_path(raw.path)
        verb = guess_verb(raw.method, path, is_truthy(raw.query.get("watch"))) if path else raw.method.lower()
        call = ApiCall(
            method=raw.method,
            path=raw.path_qs,
            verb=verb,
            group=path.group if path else None,
            version=path.version if path else None,
            resource=path.plural if path else None,
            subresource=path.subresource if path else None,
            namespace=path.namespace if path else None,
            name=path.name if path else None,
            user_agent=raw.headers.get("User-Agent", ""),
        )
        self.request_log.record(call)
        request = kmock_compat.make_request(self, raw, body, _maybe_json(body), path, verb)
        kmock_compat.record(self, request)
        self._calls[id(request)] = call
        try:
            fault = self.faults.take(call)
            if fault is not None:
                call.injected = True
                raise fault.error(call)
            response = await kmock_compat.dispatch(self, request)
        except errors.ApiError as exc:
            response = _error_response(exc)
        except kmock.KubernetesError as exc:
            response = _error_response(errors.ApiError(exc.status, exc.reason or "", exc.message or ""))
        except Exception as exc:
            log.exception("request.failed method=%s path=%s", raw.method, raw.path)
            response = _error_response(errors.internal(f"{type(exc).__name__}: {exc}"))
        finally:
            self._calls.pop(id(request), None)
        if call.status is None:  # a watch reports itself as soon as its stream starts
            call.status = response.status
            self.request_log.finished(call)
        return response

    async def _serve(self, request: kmock.Request) -> kmock_compat.Answer:
        """The fallback reaction: everything no user-defined kmock reaction answered."""
        path = request.url.path
        resource_path = parse_resource_path(path)
        if resource_path is not None:
            return await self._serve_resource(request, resource_path)
        if request.method != kmock.method.GET:
            raise errors.method_not_allowed()
        return kmock_compat.json_response(200, self._serve_nonresource(request, path))

    def _serve_nonresource(self, request: kmock.Request, path: str) -> Any:
        parts = [part for part in path.strip("/").split("/") if part]
        if path == "/version" or path == "/version/":
            return discovery.version()
        if parts == ["api"]:
            return discovery.api_versions(f"{request.url.host or '127.0.0.1'}:{request.url.port or 80}")
        if parts == ["apis"]:
            return discovery.api_group_list(self.registry)
        if len(parts) == 2 and parts[0] == "api":
            return discovery.api_resource_list(self.registry, "", parts[1])
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(self.registry, parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.api_resource_list(self.registry, parts[1], parts[2])
        if parts == ["openapi", "v3"]:
            return openapi.index(self.registry)
        if parts[:2] == ["openapi", "v3"] and len(parts) == 4 and parts[2] == "api":
            return openapi.group_version_document(self.registry, "", parts[3])
        if parts[:2] == ["openapi", "v3"] and len(parts) == 5 and parts[2] == "apis":
            return openapi.group_version_document(self.registry, parts[3], parts[4])
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return "ok"
        if not parts:
            return discovery.root_paths(self.registry)
        raise errors.path_not_found()

    # -- resources -----------------------------------------------------------------------------------

    async def _serve_resource(self, request: kmock.Request, path: ResourcePath) -> kmock_compat.Answer:
        spec = self.registry.get(path.group, path.version, path.plural)
        if spec is None or (path.namespace is not None and not spec.namespaced):
            raise errors.path_not_found()
        if path.subresource is not None and (path.subresource not in spec.subresources or path.name is None):
            raise errors.path_not_found()
        call = self._calls.get(id(request))
        verb = guess_verb(request.method, path, is_truthy(request.params.get("watch")))
        if verb not in spec.verbs:
            raise errors.method_not_allowed()
        if spec.namespaced and path.name is not None and path.namespace is None:
            raise errors.path_not_found()
        query = request.params
        accept = request.headers.get("Accept", "")
        if verb == "get":
            assert path.name is not None
            body = self._present(spec, self.store.get(spec, path.namespace, path.name))
            return self._answer(200, self._maybe_table(spec, [body], accept, query, single=True) or body)
        if verb == "list":
            return self._answer(200, self._list(spec, path, query, accept))
        if verb == "watch":
            return self._watch(request, spec, path, call)
        if verb in {"create", "update", "patch"}:
            return self._write(request, spec, path, verb)
        if verb == "delete":
            return self._delete(request, spec, path)
        if verb == "deletecollection":
            return self._delete_collection(request, spec, path)
        raise errors.method_not_allowed()

    def _present(self, spec: ResourceSpec, stored: Body) -> Body:
        body = spec.present(stored)
        if spec.custom and spec.schema is not None:
            spec.schema.default(body)  # defaults also apply when reading, like a real apiserver
        return body

    def _answer(self, code: int, payload: Any, warnings: Iterable[str] = ()) -> kmock_compat.Answer:
        headers = dict(JSON_HEADERS)
        texts = list(dict.fromkeys(warnings))
        if texts:
            headers["Warning"] = ", ".join(f'299 - "{_escape(text)}"' for text in texts)
        return kmock_compat.json_response(code, payload, headers)

    # -- reads (reading.py) --------------------------------------------------------------------------

    def _selection(
        self, spec: ResourceSpec, path: ResourcePath, query: Mapping[str, str]
    ) -> Callable[[Body], bool]:
        return reading.selection(self, spec, path, query)

    def _list(self, spec: ResourceSpec, path: ResourcePath, query: Mapping[str, str], accept: str) -> Any:
        return reading.list_response(self, spec, path, query, accept)

    def _maybe_table(
        self,
        spec: ResourceSpec,
        items: list[Body],
        accept: str,
        query: Mapping[str, str],
        single: bool = False,
        with_definitions: bool = True,
    ) -> Any | None:
        return reading.maybe_table(self, spec, items, accept, query, single, with_definitions)

    def _watch(
        self, request: kmock.Request, spec: ResourceSpec, path: ResourcePath, call: ApiCall | None
    ) -> kmock_compat.Answer:
        return reading.watch_response(self, request, spec, path, call)

    # -- writes --------------------------------------------------------------------------------------

    def _options(self, query: Mapping[str, str]) -> WriteOptions:
        return WriteOptions(
            dry_run=bool(query.get("dryRun")),
            field_validation=admission.field_validation_mode(query.get("fieldValidation")),
            field_manager=query.get("fieldManager", ""),
        )

    def _write(
        self, request: kmock.Request, spec: ResourceSpec, path: ResourcePath, verb: str
    ) -> kmock_compat.Answer:
        content_type = patching.media_type(request.headers.get("Content-Type"))
        if content_type == PROTOBUF:
            # kubectl's typed generators (`kubectl create ns x`) send protobuf: the emulator cannot decode it.
            raise errors.unsupported_media_type(content_type, ["application/json", "application/yaml"])
        options = self._options(request.params)
        if verb == "create":
            if path.name is not None:
                raise errors.method_not_allowed()
            result = self.store.create(spec, path.namespace, _decode(request.body, content_type), options)
        elif verb == "update":
            assert path.name is not None
            incoming = _decode(request.body, content_type)
            result = self.store.replace(spec, path.namespace, path.name, incoming, path.subresource, options)
        else:
            assert path.name is not None
            result = self._patch(request, spec, path, content_type, options)
        return self._answer(result.code, self._present(spec, result.body), result.warnings)

    def _patch(
        self,
        request: kmock.Request,
        spec: ResourceSpec,
        path: ResourcePath,
        content_type: str,
        options: WriteOptions,
    ) -> WriteResult:
        assert path.name is not None
        accepted = patching.CUSTOM_RESOURCE_PATCH_TYPES if spec.custom else patching.BUILTIN_PATCH_TYPES
        if content_type not in accepted:
            raise errors.unsupported_media_type(content_type, accepted)
        current = self.store.find(spec, path.namespace, path.name)
        if content_type == patching.APPLY_YAML:
            return self._apply(request, spec, path, current, options)
        if current is None:
            raise errors.not_found(spec.plural, spec.group, path.name)
        presented = self._present(spec, current)
        document = patching.parse_json(request.body)
        if content_type == patching.JSON:
            patched = patching.json_patch(presented, document)
        elif not isinstance(document, dict):
            raise errors.bad_request("a merge patch must be a JSON object")
        elif content_type == patching.STRATEGIC:
            patched = patching.merge_patch(presented, patching.strip_directives(document))
        else:
            patched = patching.merge_patch(presented, document)
        if spec.custom and not (patched.get("metadata") or {}).get("resourceVersion"):
            # A patch removing resourceVersion makes an unconditional update, which custom resources refuse
            # (kubectl apply does it when its last-applied annotation holds a resourceVersion).
            message = "metadata.resourceVersion: Invalid value: 0: must be specified for an update"
            raise errors.ApiError(422, "Invalid", f'The {spec.plural} "{path.name}" is invalid: {message}')
        return self.store.patch(spec, path.namespace, path.name, patched, path.subresource, options)

    def _apply(
        self,
        request: kmock.Request,
        spec: ResourceSpec,
        path: ResourcePath,
        current: Body | None,
        options: WriteOptions,
    ) -> WriteResult:
        assert path.name is not None
        if not options.field_manager:
            required = errors.required("fieldManager", "is required for apply patch")
            raise errors.invalid_object("PatchOptions", "meta.k8s.io", "", [required])
        applied = patching.parse_apply_body(request.body)
        if current is None:
            if path.subresource is not None:
                raise errors.not_found(spec.plural, spec.group, path.name)
            applied.setdefault("metadata", {}).setdefault("name", path.name)
            result = self.store.create(
                spec, path.namespace, patching.server_side_apply(None, applied, None), options
            )
        else:
            previous = self.store.remember_applied(spec, path.namespace, path.name, options.field_manager)
            merged = patching.server_side_apply(self._present(spec, current), applied, previous)
            result = self.store.patch(spec, path.namespace, path.name, merged, path.subresource, options)
        if not options.dry_run:
            self.store.remember_applied(spec, path.namespace, path.name, options.field_manager, applied)
        return result

    def _delete(self, request: kmock.Request, spec: ResourceSpec, path: ResourcePath) -> kmock_compat.Answer:
        assert path.name is not None
        delete_options = _delete_options(request)
        dry_run = bool(request.params.get("dryRun")) or bool(delete_options.get("dryRun"))
        result = self.store.delete(spec, path.namespace, path.name, delete_options, dry_run)
        body = self._present(spec, result.body)
        if result.code == 200 and not spec.custom:
            # Built-in registries answer an immediate deletion with a Status, custom resources with
            # the object.
            meta = body.get("metadata") or {}
            return self._answer(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": meta.get("name"),
                        "group": spec.group,
                        "kind": spec.plural,
                        "uid": meta.get("uid"),
                    },
                },
            )
        return self._answer(result.code, body)

    def _delete_collection(
        self, request: kmock.Request, spec: ResourceSpec, path: ResourcePath
    ) -> kmock_compat.Answer:
        matches = self._selection(spec, path, request.params)
        delete_options = _delete_options(request)
        dry_run = bool(request.params.get("dryRun")) or bool(delete_options.get("dryRun"))
        deleted = []
        for stored in [body for body in self.store.list_objects(spec, path.namespace) if matches(body)]:
            meta = stored["metadata"]
            result = self.store.delete(spec, meta.get("namespace"), meta["name"], delete_options, dry_run)
            deleted.append(self._present(spec, result.body))
        return self._answer(
            200,
            {
                "kind": spec.list_kind,
                "apiVersion": spec.api_version,
                "metadata": {"resourceVersion": self.store.current_version},
                "items": deleted,
            },
        )

    # -- admin endpoints for out-of-process use (the CLI / subprocess variant) ------------------------

    async def _serve_admin(self, raw: aiohttp.web.BaseRequest, body: bytes) -> aiohttp.web.StreamResponse:
        what = raw.path[len(ADMIN_PREFIX) :].strip("/")
        if what == "requests" and raw.method == "GET":
            return aiohttp.web.json_response([call.as_dict() for call in self.request_log.snapshot()])
        if what == "requests" and raw.method == "DELETE":
            self.request_log.clear()
            return aiohttp.web.json_response({})
        if what == "faults" and raw.method == "POST":
            spec = json.loads(body or b"{}")
            fault = self.inject_fault(**spec)
            return aiohttp.web.json_response({"id": fault.id}, status=201)
        if what == "faults" and raw.method == "GET":
            pending = [
                {"id": f.id, "verb": f.verb, "resource": f.resource, "status": f.status, "count": f.count}
                for f in self.faults.pending()
            ]
            return aiohttp.web.json_response(pending)
        if what == "faults" and raw.method == "DELETE":
            self.faults.clear()
            return aiohttp.web.json_response({})
        return aiohttp.web.json_response({"error": f"unknown admin endpoint {raw.path}"}, status=404)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _maybe_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None


def _decode(body: bytes, content_type: str) -> Any:
    if content_type in {"application/yaml", "application/x-yaml", "text/yaml"}:
        try:
            return yaml.safe_load(body.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from exc
    return patching.parse_json(body)


def _delete_options(request: kmock.Request) -> dict[str, Any]:
    document = _maybe_json(request.body) if request.body else None
    options: dict[str, Any] = dict(document) if isinstance(document, dict) else {}
    if request.params.get("propagationPolicy"):
        options["propagationPolicy"] = request.params["propagationPolicy"]
    return options


def _error_response(error: errors.ApiError) -> aiohttp.web.StreamResponse:
    response = aiohttp.web.json_response(error.as_status(), status=error.code)
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


async def single_error(error: errors.ApiError) -> Any:
    yield b""
    yield {"type": "ERROR", "object": error.as_status()}
