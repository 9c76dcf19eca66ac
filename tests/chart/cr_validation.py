"""Offline checks of CRDs and custom resources, as the API server would make them.

* `structural_problems(crd)`: the rules of a structural schema (a type on every node, `x-kubernetes-*`
  where they belong, no keywords Kubernetes refuses, defaults that validate).
* `cr_errors(crd, cr)`: defaults applied, then the OpenAPI v3.0 schema (openapi-schema-validator), unknown
  fields (which the API server drops or, with strict field validation, refuses) and the CEL rules
  (cel-expr-python with the strings extension, which is all the CRDs use). Each error names its field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_strings
from openapi_schema_validator import OAS30Validator

Schema = Mapping[str, Any]

# Keywords a CRD schema may not use (apiextensions validation of JSONSchemaProps).
FORBIDDEN_KEYWORDS = {
    "$ref",
    "$schema",
    "definitions",
    "dependencies",
    "patternProperties",
    "additionalItems",
    "id",
}
# Our checker does not model these; a CRD that uses them needs this file extended first.
UNMODELLED_KEYWORDS = {"allOf", "anyOf", "oneOf", "not"}
KNOWN_TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def version_schema(crd: Mapping[str, Any], version: str | None = None) -> Schema:
    versions = crd["spec"]["versions"]
    chosen = next(v for v in versions if v["name"] == version) if version else versions[0]
    schema: Schema = chosen["schema"]["openAPIV3Schema"]
    return schema


# --- structural schema ---------------------------------------------------------------------------------


def structural_problems(crd: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for version in crd["spec"]["versions"]:
        root = version["schema"]["openAPIV3Schema"]
        if root.get("type") != "object":
            problems.append(f"{version['name']}: the root schema must be type: object")
        problems += _node_problems(root, f"{version['name']}:", is_root=True)
    return problems


def _node_problems(node: Schema, path: str, *, is_root: bool = False) -> list[str]:
    problems: list[str] = []
    kind = node.get("type")
    loose = node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
    if not kind and not loose:
        problems.append(f"{path} has no type")
    if kind and kind not in KNOWN_TYPES:
        problems.append(f"{path} has an unknown type {kind!r}")
    for keyword in sorted(FORBIDDEN_KEYWORDS & set(node)):
        problems.append(f"{path} uses {keyword}, which CRD schemas forbid")
    for keyword in sorted(UNMODELLED_KEYWORDS & set(node)):
        problems.append(f"{path} uses {keyword}, which this checker does not model")
    if node.get("uniqueItems") is True:
        problems.append(f"{path} sets uniqueItems: true, which CRD schemas forbid")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path} has both properties and additionalProperties")
    if node.get("x-kubernetes-preserve-unknown-fields") not in (None, True):
        problems.append(f"{path}: x-kubernetes-preserve-unknown-fields may only be true")
    if node.get("x-kubernetes-embedded-resource") and kind != "object":
        problems.append(f"{path}: x-kubernetes-embedded-resource needs type: object")
    for keyword in ("x-kubernetes-list-type", "x-kubernetes-list-map-keys"):
        if keyword in node and kind != "array":
            problems.append(f"{path}: {keyword} on a {kind}, not an array")
    if "x-kubernetes-list-type" in node and node["x-kubernetes-list-type"] not in ("atomic", "set", "map"):
        problems.append(f"{path}: x-kubernetes-list-type {node['x-kubernetes-list-type']!r}")
    if "x-kubernetes-map-type" in node and kind != "object":
        problems.append(f"{path}: x-kubernetes-map-type on a {kind}, not an object")
    if node.get("x-kubernetes-list-type") == "map":
        keys = node.get("x-kubernetes-list-map-keys", [])
        items = node.get("items", {})
        if not keys:
            problems.append(f"{path}: list-type map without x-kubernetes-list-map-keys")
        for key in keys:
            prop = items.get("properties", {}).get(key)
            if prop is None or (key not in items.get("required", []) and "default" not in prop):
                problems.append(f"{path}: map key {key!r} must be a required or defaulted item property")
    elif "x-kubernetes-list-map-keys" in node:
        problems.append(f"{path}: x-kubernetes-list-map-keys without x-kubernetes-list-type: map")
    for rule in node.get("x-kubernetes-validations", []):
        try:
            _compiled(rule["rule"])
        except RuntimeError as error:
            problems.append(f"{path}: CEL rule {rule['rule']!r} does not compile: {error}")
        if not rule.get("message") and not rule.get("messageExpression"):
            problems.append(f"{path}: CEL rule {rule['rule']!r} has no message")
    if "default" in node and not (FORBIDDEN_KEYWORDS | UNMODELLED_KEYWORDS) & set(node):
        errors = [e.message for e in OAS30Validator(node).iter_errors(node["default"])]
        if errors:
            problems.append(f"{path}: default does not validate: {errors}")
    for name, child in node.get("properties", {}).items():
        if is_root and name == "metadata":
            if set(child.get("properties", {})) - {"name", "generateName"}:
                problems.append(f"{path}.metadata may only restrict name and generateName")
            continue
        problems += _node_problems(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), Mapping):
        problems += _node_problems(node["additionalProperties"], f"{path}.*")
    if "items" in node:
        problems += _node_problems(node["items"], f"{path}[]")
    elif kind == "array":
        problems.append(f"{path}: array without items")
    return problems


def undescribed(crd: Mapping[str, Any]) -> list[str]:
    """Schema nodes without a description (what `kubectl explain` would show as empty)."""
    missing: list[str] = []

    def walk(node: Schema, path: str) -> None:
        # The API server refuses a description on the root's metadata: kubectl explain shows ObjectMeta's.
        if not node.get("description") and path not in root_metadata:
            missing.append(path)
        for name, child in node.get("properties", {}).items():
            walk(child, f"{path}.{name}")
        if isinstance(node.get("additionalProperties"), Mapping):
            walk(node["additionalProperties"], f"{path}.*")
        if "items" in node:
            walk(node["items"], f"{path}[]")

    root_metadata = {f"{version['name']}.metadata" for version in crd["spec"]["versions"]}
    for version in crd["spec"]["versions"]:
        walk(version["schema"]["openAPIV3Schema"], version["name"])
    return missing


# --- custom resources ----------------------------------------------------------------------------------


def cr_errors(crd: Mapping[str, Any], cr: Mapping[str, Any]) -> list[str]:
    """Why the API server would refuse this custom resource; empty when it would accept it."""
    group = crd["spec"]["group"]
    names = [v["name"] for v in crd["spec"]["versions"]]
    api_group, _, version = str(cr.get("apiVersion", "")).partition("/")
    if api_group != group or version not in names:
        return [f"apiVersion {cr.get('apiVersion')!r} is not served by {crd['metadata']['name']}"]
    if cr.get("kind") != crd["spec"]["names"]["kind"]:
        return [f"kind {cr.get('kind')!r} is not {crd['spec']['names']['kind']}"]
    schema = version_schema(crd, version)
    body = with_defaults(cr, schema)
    errors = [
        f"{_dotted(error.absolute_path) or '<root>'}: {error.message}"
        for error in OAS30Validator(schema).iter_errors(body)
    ]
    errors += [f"unknown field {path}" for path in unknown_fields(body, schema, "")]
    if not errors:  # the API server runs CEL only on objects that pass the schema
        errors += cel_failures(body, schema, "")
    return errors


def with_defaults(value: Any, schema: Schema) -> Any:
    """The object after the API server's structural defaulting."""
    value = copy.deepcopy(value)
    _default(value, schema)
    return value


def _default(value: Any, schema: Schema) -> None:
    if isinstance(value, dict):
        for name, child in schema.get("properties", {}).items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                _default(value[name], child)
        if isinstance(schema.get("additionalProperties"), Mapping):
            for item in value.values():
                _default(item, schema["additionalProperties"])
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            _default(item, schema["items"])


def unknown_fields(value: Any, schema: Schema, path: str) -> Iterator[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        if path == ".metadata" or path == "metadata":
            return  # ObjectMeta is checked by the API server itself
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, child in value.items():
            where = f"{path}.{name}" if path else name
            if name in properties:
                yield from unknown_fields(child, properties[name], where)
            elif isinstance(extra, Mapping):
                yield from unknown_fields(child, extra, where)
            elif extra is not True:
                yield where
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from unknown_fields(item, schema["items"], f"{path}[{index}]")


def cel_failures(value: Any, schema: Schema, path: str) -> list[str]:
    failures: list[str] = []
    for rule in schema.get("x-kubernetes-validations", []):
        if re.search(r"\boldSelf\b", rule["rule"]):
            continue  # a transition rule: checked on updates only, and these are creations
        result = _compiled(rule["rule"]).eval(data={"self": value})
        if result.type() == cel.Type.ERROR or result.value() is not True:
            failures.append(f"{path or '<root>'}: {rule.get('message') or 'failed rule: ' + rule['rule']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, child in value.items():
            where = f"{path}.{name}" if path else name
            if name in properties:
                failures += cel_failures(child, properties[name], where)
            elif isinstance(extra, Mapping):
                failures += cel_failures(child, extra, where)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            failures += cel_failures(item, schema["items"], f"{path}[{index}]")
    return failures


@cache
def _environment() -> Any:
    return cel.NewEnv(
        variables={"self": cel.Type.DYN, "oldSelf": cel.Type.DYN}, extensions=[ext_strings.ExtStrings()]
    )


@cache
def _compiled(rule: str) -> Any:
    return _environment().compile(rule)


def _dotted(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
