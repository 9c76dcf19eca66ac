"""Structural schemas: pruning, defaulting and validation of objects, as the apiextensions-apiserver does.

The order follows a real apiserver (k8s.io/apiextensions-apiserver/pkg/apiserver/schema): `null` values
of non-nullable fields are dropped, `default:` values are applied top-down, unknown fields are pruned
(or rejected with `fieldValidation=Strict`), then the `openAPIV3Schema` and the CEL rules are checked.
Messages follow k8s.io/kube-openapi/pkg/validation and k8s.io/apimachinery field errors.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import openapi_schema_validator

from kube_emulator import cel, errors

Schema = Mapping[str, Any]

# metadata is decoded into ObjectMeta by a real apiserver: anything else there is an unknown field.
OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def index(path: str, position: int) -> str:
    return f"{path}[{position}]"


def _preserves_unknown(schema: Schema) -> bool:
    return (
        bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get("additionalProperties") is True
    )


def _is_nullable(schema: Schema) -> bool:
    return bool(schema.get("nullable"))


def _child_schema(schema: Schema, key: str) -> Schema | None:
    properties = schema.get("properties") or {}
    if key in properties:
        return properties[key]  # type: ignore[no-any-return]
    additional = schema.get("additionalProperties")
    if isinstance(additional, Mapping):
        return additional
    return None


def type_name(schema: Schema, value: Any) -> str:
    """The schema type shown in CEL and type errors ("object", "string", ...)."""
    declared = schema.get("type")
    if isinstance(declared, str) and declared:
        return declared
    return json_type(value)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# ---------------------------------------------------------------------------------------------------------
# Null dropping and defaulting (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting).


def drop_nulls(value: Any, schema: Schema | None) -> None:
    """Remove `null` values of fields that are not `nullable`, in place (they would be pruned)."""
    if schema is None or not isinstance(value, dict):
        if schema is not None and isinstance(value, list) and isinstance(schema.get("items"), Mapping):
            for item in value:
                drop_nulls(item, schema["items"])
        return
    for key in list(value):
        child = _child_schema(schema, key)
        if child is None:
            continue
        if value[key] is None and not _is_nullable(child):
            del value[key]
        else:
            drop_nulls(value[key], child)


def apply_defaults(value: Any, schema: Schema | None) -> None:
    """Apply `default:` values top-down, in place; freshly defaulted subtrees are defaulted too."""
    if schema is None:
        return
    if isinstance(value, dict):
        for key, child in (schema.get("properties") or {}).items():
            if key not in value and "default" in child:
                value[key] = copy.deepcopy(child["default"])
        for key, item in value.items():
            apply_defaults(item, _child_schema(schema, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            apply_defaults(item, schema["items"])


# ---------------------------------------------------------------------------------------------------------
# Pruning (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning).


def prune(value: Any, schema: Schema | None, path: str, unknown: list[str], *, root: bool = False) -> None:
    """Drop fields the schema does not specify, in place, collecting their paths for strict validation."""
    if schema is None:
        return
    if isinstance(value, dict):
        embedded = root or bool(schema.get("x-kubernetes-embedded-resource"))
        preserve = _preserves_unknown(schema)
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in list(value):
            child_path = join(path, key)
            if embedded and key in ROOT_FIELDS:
                if key == "metadata" and isinstance(value[key], dict):
                    _prune_metadata(value[key], child_path, unknown)
                continue
            if key in properties:
                prune(value[key], properties[key], child_path, unknown)
            elif isinstance(additional, Mapping):
                prune(value[key], additional, child_path, unknown)
            elif not preserve:
                unknown.append(child_path)
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for position, item in enumerate(value):
            prune(item, schema["items"], index(path, position), unknown)


def _prune_metadata(meta: dict[str, Any], path: str, unknown: list[str]) -> None:
    for key in list(meta):
        if key not in OBJECT_META_FIELDS:
            unknown.append(join(path, key))
            del meta[key]


# ---------------------------------------------------------------------------------------------------------
# OpenAPI validation with openapi-schema-validator (OpenAPI 3.0 dialect: understands `nullable`).


def _to_validator_schema(schema: Any) -> Any:
    """Translate Kubernetes extensions that a generic OpenAPI validator does not know."""
    if isinstance(schema, list):
        return [_to_validator_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    result = {key: _to_validator_schema(item) for key, item in schema.items() if not key.startswith("x-")}
    result.pop("default", None)
    result.pop("example", None)
    if schema.get("x-kubernetes-int-or-string") and "type" not in schema and "anyOf" not in schema:
        result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("x-kubernetes-embedded-resource"):
        result.setdefault("properties", {})
    return result


def _render_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path = index(path, part) if isinstance(part, int) else join(path, str(part))
    return path


def _schema_error(error: Any) -> errors.FieldError:
    """Map a jsonschema ValidationError (untyped) to the field error kube-openapi reports."""
    path = _render_path(error.absolute_path)
    keyword = str(error.validator)
    expected = error.validator_value
    value = error.instance
    shown = path or "<root>"
    if keyword == "type":
        kinds = ",".join(expected) if isinstance(expected, list) else str(expected)
        return errors.invalid(
            path, json_type(value), f'{shown} in body must be of type {kinds}: "{json_type(value)}"'
        )
    if keyword == "anyOf" and all(isinstance(s, Mapping) and set(s) == {"type"} for s in expected):
        kinds = ",".join(str(s["type"]) for s in expected)
        return errors.invalid(
            path, json_type(value), f'{shown} in body must be of type {kinds}: "{json_type(value)}"'
        )
    if keyword == "enum":
        return errors.not_supported(path, value, expected)
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return errors.required(join(path, missing))
    if keyword == "maximum":
        return errors.invalid(path, value, f"{shown} in body should be less than or equal to {expected}")
    if keyword == "exclusiveMaximum":
        return errors.invalid(
            path, value, f"{shown} in body should be less than {error.schema.get('maximum')}"
        )
    if keyword == "minimum":
        return errors.invalid(path, value, f"{shown} in body should be greater than or equal to {expected}")
    if keyword == "exclusiveMinimum":
        return errors.invalid(
            path, value, f"{shown} in body should be greater than {error.schema.get('minimum')}"
        )
    if keyword == "multipleOf":
        return errors.invalid(path, value, f"{shown} in body should be a multiple of {expected}")
    if keyword == "maxLength":
        return errors.too_long(path, int(expected))
    if keyword == "minLength":
        return errors.invalid(path, value, f"{shown} in body should be at least {expected} chars long")
    if keyword == "pattern":
        return errors.invalid(path, value, f"{shown} in body should match '{expected}'")
    if keyword == "maxItems":
        return errors.too_many(path, len(value), int(expected))
    if keyword == "minItems":
        return errors.invalid(path, len(value), f"{shown} in body should have at least {expected} items")
    if keyword == "uniqueItems":
        return errors.duplicate(path, value)
    if keyword == "maxProperties":
        return errors.too_many(path, len(value), int(expected))
    if keyword == "minProperties":
        return errors.invalid(path, len(value), f"{shown} in body should have at least {expected} properties")
    if keyword == "format":
        return errors.invalid(path, value, f'{shown} in body must be of type {expected}: "{value}"')
    return errors.invalid(path, value, f"{shown} in body {error.message}")


# ---------------------------------------------------------------------------------------------------------
# List types and CEL rules: a walk over the schema and the object together.


def _list_key(item: Any, keys: list[str]) -> str:
    if not isinstance(item, dict):
        return json.dumps(item, sort_keys=True)
    return json.dumps([item.get(key) for key in keys], sort_keys=True)


@dataclass
class ObjectSchema:
    """A compiled structural schema of one resource version."""

    root: Schema
    rules: dict[str, list[cel.Rule]] = field(default_factory=dict)  # by schema location
    skipped_rules: list[cel.SkippedRule] = field(default_factory=list)
    _validator: Any = None

    @classmethod
    def compile(cls, root: Schema) -> ObjectSchema:
        compiled = cls(root=root)
        compiled._validator = openapi_schema_validator.OAS30Validator(
            _to_validator_schema(root), format_checker=openapi_schema_validator.oas30_format_checker
        )
        compiled._compile_rules(root, "")
        return compiled

    def _compile_rules(self, schema: Schema, location: str) -> None:
        specs = schema.get("x-kubernetes-validations") or []
        if specs:
            rules = [cel.compile_rule(location, spec) for spec in specs]
            self.rules[location] = rules
            self.skipped_rules.extend(rule.skipped for rule in rules if rule.skipped is not None)
        for key, child in (schema.get("properties") or {}).items():
            self._compile_rules(child, join(location, key))
        if isinstance(schema.get("additionalProperties"), Mapping):
            self._compile_rules(schema["additionalProperties"], join(location, "*"))
        if isinstance(schema.get("items"), Mapping):
            self._compile_rules(schema["items"], location + "[*]")

    # -- the pipeline steps --------------------------------------------------------------------------

    def normalize(self, body: dict[str, Any]) -> list[str]:
        """Drop nulls, default, prune (in place); return the pruned unknown fields."""
        drop_nulls(body, self.root)
        apply_defaults(body, self.root)
        unknown: list[str] = []
        prune(body, self.root, "", unknown, root=True)
        return unknown

    def default(self, body: dict[str, Any]) -> None:
        """Defaulting alone, as a real apiserver does when reading objects from storage."""
        apply_defaults(body, self.root)

    def validate(
        self, body: Mapping[str, Any], old: Mapping[str, Any] | None
    ) -> tuple[list[errors.FieldError], list[cel.SkippedRule]]:
        """Schema and CEL errors of an object, and the rules that applied but could not be evaluated."""
        checked = {key: value for key, value in body.items() if key != "metadata"}
        found = [_schema_error(error) for error in self._validator.iter_errors(checked)]
        found.sort(key=lambda error: error.field)
        skipped: list[cel.SkippedRule] = []
        self._walk(self.root, body, old, old is not None, "", "", found, skipped)
        return found, skipped

    def _walk(
        self,
        schema: Schema,
        value: Any,
        old: Any,
        has_old: bool,
        path: str,
        location: str,
        found: list[errors.FieldError],
        skipped: list[cel.SkippedRule],
    ) -> None:
        for rule in self.rules.get(location, ()):
            if rule.skipped is not None:
                skipped.append(rule.skipped)
                continue
            if rule.is_transition and not has_old:
                continue  # transition rules only run on updates where the old value exists
            error = cel.evaluate(rule, path, type_name(schema, value), value, old, has_old)
            if error is not None:
                found.append(error)
        if isinstance(value, dict):
            old_map = old if has_old and isinstance(old, dict) else {}
            properties = schema.get("properties") or {}
            additional = schema.get("additionalProperties")
            for key, item in value.items():
                if location == "" and key == "metadata":
                    continue
                if key in properties:
                    child, child_location = properties[key], join(location, key)
                elif isinstance(additional, Mapping):
                    child, child_location = additional, join(location, "*")
                else:
                    continue
                self._walk(
                    child,
                    item,
                    old_map.get(key),
                    key in old_map,
                    join(path, key),
                    child_location,
                    found,
                    skipped,
                )
        elif isinstance(value, list):
            self._check_list_type(schema, value, path, found)
            items = schema.get("items")
            if not isinstance(items, Mapping):
                return
            old_items = self._correlate(schema, old if has_old and isinstance(old, list) else None)
            map_keys = list(schema.get("x-kubernetes-list-map-keys") or [])
            for position, item in enumerate(value):
                old_item = old_items.get(_list_key(item, map_keys)) if old_items is not None else None
                self._walk(
                    items,
                    item,
                    old_item,
                    old_item is not None,
                    index(path, position),
                    location + "[*]",
                    found,
                    skipped,
                )

    @staticmethod
    def _correlate(schema: Schema, old: list[Any] | None) -> dict[str, Any] | None:
        # oldSelf is only correlated through list items of `x-kubernetes-list-type: map` (by their keys).
        if old is None or schema.get("x-kubernetes-list-type") != "map":
            return None
        keys = list(schema.get("x-kubernetes-list-map-keys") or [])
        return {_list_key(item, keys): item for item in old}

    @staticmethod
    def _check_list_type(schema: Schema, value: list[Any], path: str, found: list[errors.FieldError]) -> None:
        list_type = schema.get("x-kubernetes-list-type")
        if list_type not in {"set", "map"}:
            return
        keys = list(schema.get("x-kubernetes-list-map-keys") or []) if list_type == "map" else []
        seen: set[str] = set()
        for position, item in enumerate(value):
            key = _list_key(item, keys)
            if key in seen:
                shown = {k: item.get(k) for k in keys} if isinstance(item, dict) and keys else item
                found.append(errors.duplicate(index(path, position), shown))
            seen.add(key)
