"""`/openapi/v3` documents: what kubectl needs for strict validation and `kubectl explain`.

kubectl 1.34's default `--validate=strict` looks up the PATCH operation of the object's group/version/kind
(by its `x-kubernetes-group-version-kind` extension) and checks that it declares the `fieldValidation`
query parameter; then it sends `?fieldValidation=Strict` and leaves validation to the server. Without it,
kubectl falls back to `/openapi/v2` as protobuf and fails (README.md §2). `kubectl explain` reads the
component schema carrying the same extension, so CRD schemas are published like the apiextensions
apiserver does (apiVersion/kind/metadata added, metadata as a reference to ObjectMeta).
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from kube_emulator import errors
from kube_emulator.resources import Registry, ResourceSpec

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
OBJECT_META_REF = f"#/components/schemas/{META}.ObjectMeta"
LIST_META_REF = f"#/components/schemas/{META}.ListMeta"

# Well-known schema name prefixes of built-in groups (as in the real apiserver's documents).
_BUILTIN_PREFIXES = {
    "": "io.k8s.api.core",
    "coordination.k8s.io": "io.k8s.api.coordination",
    "events.k8s.io": "io.k8s.api.events",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
}

_API_VERSION_DESCRIPTION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values."
)
_KIND_DESCRIPTION = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase."
)

_OBJECT_META: dict[str, Any] = {
    "description": "ObjectMeta is metadata that all persisted resources must have, which includes all "
    "objects "
    "users must create.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {
            "type": "string",
            "description": "An optional prefix used by the server to generate a "
            "unique name ONLY IF the Name field has not been provided.",
        },
        "namespace": {
            "type": "string",
            "description": "Namespace defines the space within which each name must be unique.",
        },
        "uid": {
            "type": "string",
            "description": "UID is the unique in time and space value for this object.",
        },
        "resourceVersion": {
            "type": "string",
            "description": "An opaque value that represents the internal version of this object.",
        },
        "generation": {
            "type": "integer",
            "format": "int64",
            "description": "A sequence number representing a specific generation of the desired state.",
        },
        "creationTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "CreationTimestamp is a "
            "timestamp representing the server time when this object was created.",
        },
        "deletionTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "DeletionTimestamp is "
            "RFC 3339 date and time at which this resource will be deleted.",
        },
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Map of string keys and values that can be used to organize and categorize "
            "objects.",
        },
        "annotations": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Annotations is an unstructured key value map stored with a resource.",
        },
        "finalizers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Must be empty before the object is deleted from the registry.",
        },
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "description": "List of objects depended by this object.",
        },
        "managedFields": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    },
}
_LIST_META: dict[str, Any] = {
    "description": "ListMeta describes metadata that synthetic resources must have.",
    "type": "object",
    "properties": {"resourceVersion": {"type": "string"}, "continue": {"type": "string"}},
}


def schema_name(spec: ResourceSpec, kind: str | None = None) -> str:
    kind = kind or spec.kind
    if spec.group in _BUILTIN_PREFIXES:
        return f"{_BUILTIN_PREFIXES[spec.group]}.{spec.version}.{kind}"
    return ".".join(reversed(spec.group.split("."))) + f".{spec.version}.{kind}"


def _gvk(spec: ResourceSpec, kind: str | None = None) -> dict[str, str]:
    return {"group": spec.group, "version": spec.version, "kind": kind or spec.kind}


def _object_schema(spec: ResourceSpec) -> dict[str, Any]:
    root: dict[str, Any] = (
        copy.deepcopy(dict(spec.schema.root)) if spec.schema is not None else {"type": "object"}
    )
    properties: dict[str, Any] = root.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "description": _API_VERSION_DESCRIPTION}
    properties["kind"] = {"type": "string", "description": _KIND_DESCRIPTION}
    properties["metadata"] = {
        "allOf": [{"$ref": OBJECT_META_REF}],
        "description": "Standard object's metadata.",
    }
    root["x-kubernetes-group-version-kind"] = [_gvk(spec)]
    return root


def _list_schema(spec: ResourceSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"{spec.kind}List is a list of {spec.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": _API_VERSION_DESCRIPTION},
            "kind": {"type": "string", "description": _KIND_DESCRIPTION},
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name(spec)}"}},
            "metadata": {"allOf": [{"$ref": LIST_META_REF}]},
        },
        "x-kubernetes-group-version-kind": [_gvk(spec, spec.list_kind)],
    }


def _query(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", "uniqueItems": True},
    }


_DRY_RUN = _query("dryRun", "When present, indicates that modifications should not be persisted.")
_FIELD_MANAGER = _query(
    "fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."
)
_FIELD_VALIDATION = _query(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
    "containing "
    "unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
)
_FORCE = {
    "name": "force",
    "in": "query",
    "schema": {"type": "boolean", "uniqueItems": True},
    "description": 'Force is going to "force" Apply requests.',
}
_PRETTY = _query("pretty", "If 'true', then the output is pretty printed.")


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}}


def _operation(
    spec: ResourceSpec,
    action: str,
    kind_ref: str,
    params: list[dict[str, Any]],
    body: bool = False,
    subresource: str = "",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{action}{spec.kind}{subresource.capitalize()}",
        "parameters": params,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{kind_ref}"}}},
            }
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(spec),
    }
    if body:
        types = (
            ["application/json"]
            if action != "patch"
            else [
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ]
        )
        if action == "patch" and not spec.custom:
            types.insert(2, "application/strategic-merge-patch+json")
        operation["requestBody"] = {
            "content": {t: {"schema": {"type": "object"}} for t in types},
            "required": True,
        }
    return operation


def _paths(spec: ResourceSpec) -> dict[str, Any]:
    prefix = f"/apis/{spec.group}/{spec.version}" if spec.group else f"/api/{spec.version}"
    scoped = (
        f"{prefix}/namespaces/{{namespace}}/{spec.plural}" if spec.namespaced else f"{prefix}/{spec.plural}"
    )
    scope_params = [_path_param("namespace")] if spec.namespaced else []
    write_params = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    kind_ref, list_ref = schema_name(spec), schema_name(spec, spec.list_kind)
    paths: dict[str, Any] = {
        scoped: {
            "get": _operation(spec, "list", list_ref, []),
            "post": _operation(spec, "post", kind_ref, write_params, body=True),
            "delete": _operation(spec, "deletecollection", kind_ref, [_DRY_RUN]),
            "parameters": [*scope_params, _PRETTY],
        },
        f"{scoped}/{{name}}": {
            "get": _operation(spec, "get", kind_ref, []),
            "put": _operation(spec, "put", kind_ref, write_params, body=True),
            "patch": _operation(spec, "patch", kind_ref, [*write_params, _FORCE], body=True),
            "delete": _operation(spec, "delete", kind_ref, [_DRY_RUN]),
            # kubectl versions differ in where they look for fieldValidation: declare it on both levels.
            "parameters": [_path_param("name"), *scope_params, _PRETTY, _FIELD_VALIDATION],
        },
    }
    if spec.namespaced:
        paths[f"{prefix}/{spec.plural}"] = {
            "get": _operation(spec, "list", list_ref, []),
            "parameters": [_PRETTY],
        }
    for subresource in sorted(spec.subresources - {"scale", "finalize"}):
        paths[f"{scoped}/{{name}}/{subresource}"] = {
            "get": _operation(spec, "get", kind_ref, [], subresource=subresource),
            "put": _operation(spec, "put", kind_ref, write_params, body=True, subresource=subresource),
            "patch": _operation(
                spec, "patch", kind_ref, [*write_params, _FORCE], body=True, subresource=subresource
            ),
            "parameters": [_path_param("name"), *scope_params, _PRETTY],
        }
    return paths


def group_version_document(registry: Registry, group: str, version: str) -> dict[str, Any]:
    specs = registry.in_group_version(group, version)
    if not specs:
        raise errors.path_not_found()
    schemas: dict[str, Any] = {f"{META}.ObjectMeta": _OBJECT_META, f"{META}.ListMeta": _LIST_META}
    paths: dict[str, Any] = {}
    for spec in specs:
        schemas[schema_name(spec)] = _object_schema(spec)
        schemas[schema_name(spec, spec.list_kind)] = _list_schema(spec)
        paths.update(_paths(spec))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.34.5"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _hash(document: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest().upper()


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def index(registry: Registry) -> dict[str, Any]:
    """The `/openapi/v3` root: one entry per group/version, with a content hash as kubectl expects."""
    paths: dict[str, Any] = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            document = group_version_document(registry, group, version)
            relative = _gv_path(group, version)
            paths[relative] = {"serverRelativeURL": f"/openapi/v3/{relative}?hash={_hash(document)}"}
    return {"paths": paths}
