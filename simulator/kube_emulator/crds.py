"""CustomResourceDefinitions: loading from YAML, checking, and turning into served `ResourceSpec`s."""

from __future__ import annotations

import copy
import datetime
import json
import pathlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

from kube_emulator import errors
from kube_emulator.resources import Body, PrinterColumn, ResourceSpec
from kube_emulator.schema import ObjectSchema

CRD_API_VERSION = "apiextensions.k8s.io/v1"

# A CRD without additionalPrinterColumns gets this one (apiextensions defaulting).
AGE_COLUMN = PrinterColumn(
    name="Age",
    type="date",
    json_path=".metadata.creationTimestamp",
    description="CreationTimestamp is a timestamp representing the server time when this object was created.",
)


class CrdError(ValueError):
    """A CRD that a real apiserver would refuse; carries the field errors for a 422 answer."""

    def __init__(self, name: str, problems: list[errors.FieldError]) -> None:
        super().__init__(f'CustomResourceDefinition "{name}" is invalid: ' + ", ".join(map(str, problems)))
        self.name = name
        self.problems = problems


def read_crd_files(paths: Iterable[str | pathlib.Path]) -> list[Body]:
    """All CRD documents in the given files and directories (*.yaml, *.yml, *.json; other kinds skipped)."""
    found: list[Body] = []
    for path in _expand(paths):
        with path.open(encoding="utf-8") as stream:
            for document in yaml.safe_load_all(stream):
                if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                    found.append(document)
    return found


def _expand(paths: Iterable[str | pathlib.Path]) -> Iterator[pathlib.Path]:
    for raw in paths:
        path = pathlib.Path(raw)
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.suffix in {".yaml", ".yml", ".json"} and p.is_file()
            )
        elif path.exists():
            yield path
        else:
            raise FileNotFoundError(f"CRD path does not exist: {path}")


def check(crd: Mapping[str, Any]) -> list[errors.FieldError]:
    """The structural checks of apiextensions validation that catch real mistakes in CRD files."""
    problems: list[errors.FieldError] = []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    name = (crd.get("metadata") or {}).get("name", "")
    if not group:
        problems.append(errors.required("spec.group"))
    if not names.get("plural"):
        problems.append(errors.required("spec.names.plural"))
    if not names.get("kind"):
        problems.append(errors.required("spec.names.kind"))
    if names.get("plural") and group and name != f"{names['plural']}.{group}":
        problems.append(errors.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in {"Namespaced", "Cluster"}:
        problems.append(errors.not_supported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        problems.append(
            errors.required("spec.versions", "must have exactly one version marked as storage version")
        )
    storage = [v for v in versions if v.get("storage")]
    if versions and len(storage) != 1:
        problems.append(
            errors.invalid(
                "spec.versions", len(storage), "must have exactly one version marked as storage version"
            )
        )
    for position, version in enumerate(versions):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        where = f"spec.versions[{position}].schema.openAPIV3Schema"
        if schema is None:
            problems.append(errors.required(where, "schemas are required"))
            continue
        problems.extend(_check_structural(schema, where))
        problems.extend(_check_root_metadata(schema))
    return problems


def _check_root_metadata(schema: Mapping[str, Any]) -> list[errors.FieldError]:
    """The root's `metadata` may say it is an object and constrain name and generateName, nothing else
    (kube-apiserver refuses even a description there; ObjectMeta's own schema is what clients see)."""
    metadata = (schema.get("properties") or {}).get("metadata")
    if not isinstance(metadata, Mapping):
        return []
    allowed_properties = {"name", "generateName"}
    if set(metadata) - {"type", "properties"} or set(metadata.get("properties") or {}) - allowed_properties:
        detail = (
            "must not specify anything other than name and generateName, but metadata is implicitly specified"
        )
        return [errors.forbidden("spec.validation.openAPIV3Schema.properties[metadata]", detail)]
    return []


_KNOWN_TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def _check_structural(schema: Mapping[str, Any], path: str) -> list[errors.FieldError]:
    """Catch typos a structural schema forbids (unknown `type`, missing types) — README.md §4 shows that
    offline validators let `type: integr` through."""
    problems: list[errors.FieldError] = []
    declared = schema.get("type")
    int_or_string = schema.get("x-kubernetes-int-or-string")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if declared is None and not int_or_string and not preserve:
        problems.append(errors.required(f"{path}.type", "must not be empty for specified object fields"))
    if declared is not None and declared not in _KNOWN_TYPES:
        problems.append(errors.not_supported(f"{path}.type", declared, sorted(_KNOWN_TYPES)))
    for key, child in (schema.get("properties") or {}).items():
        problems.extend(_check_structural(child, f"{path}.properties[{key}]"))
    if isinstance(schema.get("items"), Mapping):
        problems.extend(_check_structural(schema["items"], f"{path}.items"))
    if isinstance(schema.get("additionalProperties"), Mapping):
        problems.extend(_check_structural(schema["additionalProperties"], f"{path}.additionalProperties"))
    return problems


def _columns(version: Mapping[str, Any]) -> tuple[PrinterColumn, ...]:
    raw = version.get("additionalPrinterColumns") or []
    if not raw:
        return (AGE_COLUMN,)
    return tuple(
        PrinterColumn(
            name=str(column["name"]),
            type=str(column.get("type", "string")),
            json_path=str(column.get("jsonPath", "")),
            description=str(column.get("description", "")),
            priority=int(column.get("priority", 0)),
            format=str(column.get("format", "")),
        )
        for column in raw
    )


def _selectable_fields(version: Mapping[str, Any]) -> list[str]:
    return [str(item["jsonPath"]).lstrip(".") for item in version.get("selectableFields") or []]


_COMPILED: dict[str, ObjectSchema] = {}


def compiled_schema(schema: Mapping[str, Any]) -> ObjectSchema:
    """Compile a version schema once (CEL compilation is costly; a re-applied CRD reuses it)."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _COMPILED:
        _COMPILED[key] = ObjectSchema.compile(schema)
    return _COMPILED[key]


def specs_from_crd(crd: Mapping[str, Any]) -> list[ResourceSpec]:
    """One `ResourceSpec` per served version; raises `CrdError` for a CRD a real apiserver refuses."""
    name = str((crd.get("metadata") or {}).get("name", ""))
    problems = check(crd)
    if problems:
        raise CrdError(name, problems)
    spec = crd["spec"]
    names = spec["names"]
    versions = spec["versions"]
    storage_version = next(v["name"] for v in versions if v.get("storage"))
    result: list[ResourceSpec] = []
    for version in versions:
        if not version.get("served", True):
            continue
        subresources = frozenset((version.get("subresources") or {}).keys()) & {"status", "scale"}
        selectable = _selectable_fields(version)
        result.append(
            ResourceSpec(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec["scope"] == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subresources,
                printer_columns=_columns(version),
                storage_version=storage_version,
                custom=True,
                schema=compiled_schema(version["schema"]["openAPIV3Schema"]),
                field_labels=_field_labels(selectable) if selectable else None,
                crd_name=name,
            )
        )
    return result


def _field_labels(paths: list[str]) -> Any:
    def labels(body: Body) -> dict[str, str]:
        result: dict[str, str] = {}
        for path in paths:
            value: Any = body
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            result[path] = (
                "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            )
        return result

    return labels


def with_status(crd: Mapping[str, Any], now: datetime.datetime) -> Body:
    """The status a real apiserver reports once a CRD is served (kubectl waits for `Established`)."""
    body = copy.deepcopy(dict(crd))
    names = dict(body.get("spec", {}).get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    stored = [v["name"] for v in body.get("spec", {}).get("versions") or [] if v.get("storage")]
    body["status"] = {
        "acceptedNames": names,
        "storedVersions": stored,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": stamp,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": stamp,
            },
        ],
    }
    return body
