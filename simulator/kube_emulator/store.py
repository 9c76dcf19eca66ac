"""Storage semantics: resourceVersion, uid, timestamps, generation, conflicts, finalizers, status subresource.

What a real apiserver does and plain kmock 0.8 does not (README.md §1), implemented here:
* every write bumps one global `resourceVersion` (a decimal string, as etcd revisions); a write that
  changes nothing (a no-op patch) bumps nothing and emits no watch event;
* `uid`, `creationTimestamp` on create; `metadata.generation` for custom resources, bumped only when
  something other than metadata and status changes;
* the namespace comes from the URL; `generateName` gets a random 5-character suffix;
* a stale `resourceVersion` in a PUT or a patched body is a 409; PUT of a custom resource must carry one;
* with a status subresource, the main endpoint keeps the stored status and `/status` changes only status;
* deletion with finalizers sets `deletionTimestamp` and the object goes away when the last finalizer is
  removed; no new finalizers may be added meanwhile;
* owner references are garbage-collected (background propagation) and Namespaces are finalized when
  empty, so deleting an owner or a namespace behaves as on a cluster.

All methods are synchronous: the emulator runs on one event loop, so each write is atomic with its
watch event. Objects are kept in kmock's `objects` array (see kmock_compat) in their storage version.
"""

from __future__ import annotations

import base64
import copy
import datetime
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import kmock

from kube_emulator import admission, crds, deletion, errors, kmock_compat
from kube_emulator.resources import Body, Registry, ResourceSpec
from kube_emulator.watch import Change, ChangeHistory

log = logging.getLogger(__name__)

StorageKey = tuple[str, str, str]
NAMESPACES: StorageKey = ("", "v1", "namespaces")
CRDS: StorageKey = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# System-managed metadata a client cannot change through an update.
SYSTEM_METADATA = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "namespace",
    "name",
    "resourceVersion",
)
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apiserver/pkg/storage/names


def timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_content(body: Body) -> Body:
    return {key: value for key, value in body.items() if key not in {"metadata", "status"}}


@dataclass
class WriteResult:
    body: Body  # in the storage representation
    warnings: list[str] = field(default_factory=list)
    code: int = 200


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = admission.WARN
    field_manager: str = ""


class Store:
    """The object store; raises `errors.ApiError` exactly where a real apiserver answers an error."""

    def __init__(
        self,
        registry: Registry,
        objects: kmock.ObjectsArray,
        history: ChangeHistory,
        *,
        clock: Callable[[], datetime.datetime],
        require_namespaces: bool = True,
        object_history_limit: int = 100,
    ) -> None:
        self.registry = registry
        self.objects = objects
        self.history = history
        self.clock = clock
        self.require_namespaces = require_namespaces
        self.object_history_limit = object_history_limit
        self.resource_version = 0
        self._applied: dict[tuple[StorageKey, str | None, str, str], Body] = {}  # last SSA config per manager

    # -- reading -------------------------------------------------------------------------------------

    def get(self, spec: ResourceSpec, namespace: str | None, name: str) -> Body:
        body = kmock_compat.read(self.objects, spec.storage_key, self._ns(spec, namespace), name)
        if body is None:
            raise errors.not_found(spec.plural, spec.group, name)
        return body

    def find(self, spec: ResourceSpec, namespace: str | None, name: str) -> Body | None:
        return kmock_compat.read(self.objects, spec.storage_key, self._ns(spec, namespace), name)

    def list_objects(self, spec: ResourceSpec, namespace: str | None) -> list[Body]:
        """Objects of a resource (in a namespace, or in all), ordered by namespace and name like etcd keys."""
        found = [
            body
            for _key, body in kmock_compat.scan(self.objects, spec.storage_key)
            if namespace is None or (body.get("metadata") or {}).get("namespace") == namespace
        ]
        found.sort(key=lambda b: ((b["metadata"].get("namespace") or ""), b["metadata"].get("name", "")))
        return found

    @property
    def current_version(self) -> str:
        return str(self.resource_version)

    # -- creating ------------------------------------------------------------------------------------

    def create(
        self, spec: ResourceSpec, namespace: str | None, incoming: Any, options: WriteOptions
    ) -> WriteResult:
        body = self._incoming_body(spec, incoming)
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        self._settle_namespace(spec, namespace, meta)
        if meta.get("resourceVersion"):
            # k8s.io/apiserver/pkg/storage: ErrResourceVersionSetOnCreate surfaces as a 500.
            raise errors.internal("resourceVersion should not be set on objects to be created")
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise errors.invalid_object(
                    spec.kind,
                    spec.group,
                    "",
                    [errors.required("metadata.name", "name or generateName is required")],
                )
            meta["name"] = self._generate_name(spec, meta)
        name = str(meta["name"])
        ns = meta.get("namespace")
        self._check_namespace_open(spec, ns, name)
        if self.find(spec, ns, name) is not None:
            raise errors.already_exists(spec.plural, spec.group, name)

        self._prepare_create(spec, body)
        warnings = admission.admit(spec, body, None, options.field_validation)
        stored = spec.store(body)
        self._after_admission(spec, stored, None)

        now = self.clock()
        stored_meta = stored["metadata"]
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            stored_meta.pop(key, None)
        stored_meta["uid"] = str(uuid.uuid4())
        stored_meta["creationTimestamp"] = timestamp(now)
        if spec.custom:
            stored_meta["generation"] = 1
        if options.dry_run:
            return WriteResult(stored, warnings, 201)
        stored_meta["resourceVersion"] = self._next_version()
        self._save(spec.storage_key, stored)
        self.history.publish(Change(self.resource_version, spec.storage_key, "ADDED", stored))
        self._after_save(spec, stored)
        return WriteResult(stored, warnings, 201)

    def _incoming_body(self, spec: ResourceSpec, incoming: Any) -> Body:
        if not isinstance(incoming, dict):
            raise errors.bad_request("the request body must be a JSON object")
        body = copy.deepcopy(incoming)
        api_version = body.get("apiVersion")
        if api_version and api_version != spec.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({spec.api_version})"
            )
        kind = body.get("kind")
        if kind and kind != spec.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({spec.kind})"
            )
        body["apiVersion"] = spec.api_version
        body["kind"] = spec.kind
        return body

    def _ns(self, spec: ResourceSpec, namespace: str | None) -> str | None:
        return namespace if spec.namespaced else None

    def _settle_namespace(self, spec: ResourceSpec, namespace: str | None, meta: Body) -> None:
        if not spec.namespaced:
            meta.pop("namespace", None)
            return
        if namespace is None:
            raise errors.method_not_allowed()
        given = meta.get("namespace")
        if given and given != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace

    def _check_namespace_open(self, spec: ResourceSpec, namespace: str | None, name: str) -> None:
        if not spec.namespaced or namespace is None or not self.require_namespaces:
            return
        owner = kmock_compat.read(self.objects, NAMESPACES, None, namespace)
        if owner is None:
            raise errors.not_found("namespaces", "", namespace)
        if (owner.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.forbidden_request(
                f'{spec.describe()} "{name}" is forbidden: unable to create new content in namespace '
                f"{namespace} because it is being terminated"
            )

    def _generate_name(self, spec: ResourceSpec, meta: Body) -> str:
        prefix = str(meta["generateName"])
        for _ in range(100):
            suffix = "".join(random.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))
            candidate = prefix[: 253 - 5] + suffix
            if self.find(spec, meta.get("namespace"), candidate) is None:
                return candidate
        raise errors.internal("could not generate a unique name")

    def _prepare_create(self, spec: ResourceSpec, body: Body) -> None:
        if "status" in spec.subresources and spec.storage_key != CRDS:
            body.pop("status", None)  # status is not settable on create when it is a subresource
        if spec.storage_key == NAMESPACES:
            body.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            body["status"] = {"phase": "Active"}
        if spec.plural == "secrets" and spec.group == "":
            self._merge_string_data(body)
            body.setdefault("type", "Opaque")

    @staticmethod
    def _merge_string_data(body: Body) -> None:
        string_data = body.pop("stringData", None) or {}
        if string_data:
            data = body.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def _after_admission(self, spec: ResourceSpec, stored: Body, old: Body | None) -> None:
        """Kind-specific work that needs the admitted body: a CRD must describe servable resources."""
        if spec.storage_key != CRDS:
            return
        name = str(stored["metadata"].get("name", ""))
        try:
            crds.specs_from_crd(stored)
        except crds.CrdError as exc:
            raise errors.invalid_object(
                "CustomResourceDefinition", "apiextensions.k8s.io", name, exc.problems
            ) from exc
        if old is not None and "status" in old:
            stored["status"] = old["status"]
        else:
            stored["status"] = crds.with_status(stored, self.clock())["status"]

    def _after_save(self, spec: ResourceSpec, stored: Body) -> None:
        if spec.storage_key == CRDS:
            self.sync_crd(stored)

    # -- updating ------------------------------------------------------------------------------------

    def replace(
        self,
        spec: ResourceSpec,
        namespace: str | None,
        name: str,
        incoming: Any,
        subresource: str | None,
        options: WriteOptions,
    ) -> WriteResult:
        current = self.get(spec, namespace, name)
        body = self._incoming_body(spec, incoming)
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        expected = meta.get("resourceVersion")
        if not expected and spec.custom:
            raise errors.invalid_object(
                spec.kind,
                spec.group,
                name,
                [errors.invalid("metadata.resourceVersion", 0, "must be specified for an update")],
            )
        return self._update(spec, current, body, subresource, options, expected)

    def patch(
        self,
        spec: ResourceSpec,
        namespace: str | None,
        name: str,
        patched: Body,
        subresource: str | None,
        options: WriteOptions,
    ) -> WriteResult:
        """Write a body computed from a patch of the current object (see patching)."""
        current = self.get(spec, namespace, name)
        body = self._incoming_body(spec, patched)
        meta = body.setdefault("metadata", {})
        if meta.get("name") != name:
            raise errors.bad_request("the name of the object cannot be changed by a patch")
        return self._update(spec, current, body, subresource, options, meta.get("resourceVersion"))

    def _update(
        self,
        spec: ResourceSpec,
        current: Body,
        body: Body,
        subresource: str | None,
        options: WriteOptions,
        expected_version: str | None,
    ) -> WriteResult:
        name = str(current["metadata"]["name"])
        if expected_version and expected_version != current["metadata"].get("resourceVersion"):
            raise errors.conflict(spec.plural, spec.group, name, errors.STALE_OBJECT)
        incoming = spec.store(body)
        new = self._merge_for_subresource(spec, current, incoming, subresource)
        self._check_finalizers(spec, current, new)
        if spec.plural == "secrets" and spec.group == "":
            self._merge_string_data(new)
        warnings = admission.admit(spec, new, current, options.field_validation)
        self._after_admission(spec, new, current)
        if spec.custom and _spec_content(new) != _spec_content(current):
            new["metadata"]["generation"] = int(current["metadata"].get("generation") or 0) + 1
        if new == current:
            return WriteResult(current, warnings)  # a no-op: no new resourceVersion, no watch event
        if options.dry_run:
            return WriteResult(new, warnings)
        new["metadata"]["resourceVersion"] = self._next_version()
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._remove(spec.storage_key, new)  # the last finalizer is gone: the deletion completes
            return WriteResult(new, warnings)
        self._save(spec.storage_key, new)
        self.history.publish(Change(self.resource_version, spec.storage_key, "MODIFIED", new, current))
        self._after_save(spec, new)
        return WriteResult(new, warnings)

    @staticmethod
    def _merge_for_subresource(
        spec: ResourceSpec, current: Body, incoming: Body, subresource: str | None
    ) -> Body:
        if subresource == "status":
            new = copy.deepcopy(current)
            if "status" in incoming:
                new["status"] = incoming["status"]
            else:
                new.pop("status", None)
            return new
        new = incoming
        if "status" in spec.subresources:
            if "status" in current:
                new["status"] = copy.deepcopy(current["status"])
            else:
                new.pop("status", None)
        meta = new.setdefault("metadata", {})
        for key in SYSTEM_METADATA:
            if key in current["metadata"]:
                meta[key] = current["metadata"][key]
            else:
                meta.pop(key, None)
        if "managedFields" in current["metadata"]:
            meta["managedFields"] = current["metadata"]["managedFields"]
        return new

    @staticmethod
    def _check_finalizers(spec: ResourceSpec, current: Body, new: Body) -> None:
        if not current["metadata"].get("deletionTimestamp"):
            return
        before = set(current["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            shown = "[]string{" + ", ".join(f'"{f}"' for f in added) + "}"
            raise errors.invalid_object(
                spec.kind,
                spec.group,
                str(current["metadata"]["name"]),
                [
                    errors.forbidden(
                        "metadata.finalizers",
                        f"no new finalizers can be added if the object is being deleted, found new "
                        f"finalizers {shown}",
                    )
                ],
            )

    def remember_applied(
        self, spec: ResourceSpec, namespace: str | None, name: str, manager: str, applied: Body | None = None
    ) -> Body | None:
        """The last configuration `manager` applied to an object (and remember a new one if given)."""
        key = (spec.storage_key, self._ns(spec, namespace), name, manager)
        previous = self._applied.get(key)
        if applied is not None:
            self._applied[key] = copy.deepcopy(applied)
        return previous

    # -- deleting (deletion.py) ----------------------------------------------------------------------

    def delete(
        self, spec: ResourceSpec, namespace: str | None, name: str, options: Body, dry_run: bool
    ) -> WriteResult:
        return deletion.delete(self, spec, namespace, name, options, dry_run)

    def _remove(self, storage: StorageKey, final: Body, *, orphan: bool = False) -> None:
        deletion.remove(self, storage, final, orphan=orphan)

    def find_namespace(self, name: str) -> Body | None:
        return kmock_compat.read(self.objects, NAMESPACES, None, name)

    # -- CRDs ----------------------------------------------------------------------------------------

    def register_crd(self, crd: Body) -> list[ResourceSpec]:
        specs = crds.specs_from_crd(crd)
        for spec in specs:
            self.registry.add(spec)
        return specs

    def sync_crd(self, crd: Body) -> None:
        """Serve (or re-serve) the resources of a stored CRD after it was created or updated."""
        spec = crd.get("spec") or {}
        self.registry.remove(str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", "")))
        self.register_crd(crd)

    # -- helpers -------------------------------------------------------------------------------------

    def _next_version(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    def _save(self, storage: StorageKey, body: Body) -> None:
        meta = body["metadata"]
        kmock_compat.write(
            self.objects, storage, meta.get("namespace"), str(meta["name"]), body, self.object_history_limit
        )

    def ensure_namespaces(self, names: Iterable[str]) -> None:
        spec = self.registry.get("", "v1", "namespaces")
        assert spec is not None
        for name in names:
            if self.find_namespace(name) is None:
                self.create(spec, None, {"metadata": {"name": name}}, WriteOptions())
