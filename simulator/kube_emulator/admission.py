"""Admission of a written object: metadata rules, schema pruning/defaulting, strict fields, validation.

`fieldValidation` semantics (k8s.io/apiserver, GA in 1.27): `Strict` turns unknown fields into a 400,
`Warn` (the default) answers with a `Warning` header per field, `Ignore` drops them silently. kubectl's
default `--validate=strict` sends `Strict` once the openapi document advertises the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kube_emulator import errors
from kube_emulator.resources import Body, ResourceSpec

_DNS1123_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    f"'{_DNS1123_SUBDOMAIN}')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    f"and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    f"'{_DNS1123_LABEL}')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    f"for validation is '{_LABEL_VALUE}')"
)
QUALIFIED_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    f"'{_QUALIFIED_NAME}')"
)

STRICT = "Strict"
WARN = "Warn"
IGNORE = "Ignore"


def field_validation_mode(value: str | None) -> str:
    if not value:
        return WARN
    if value not in {STRICT, WARN, IGNORE}:
        raise errors.bad_request(
            f'fieldValidation parameter unsupported: "{value}", must be one of: Ignore, Warn, Strict'
        )
    return value


def _full(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def _check_qualified_key(path: str, key: str) -> list[errors.FieldError]:
    prefix, _, name = key.rpartition("/")
    problems: list[errors.FieldError] = []
    if not name or len(name) > 63 or not _full(_QUALIFIED_NAME, name):
        problems.append(errors.invalid(path, key, QUALIFIED_NAME_MESSAGE))
    if prefix and (len(prefix) > 253 or not _full(_DNS1123_SUBDOMAIN, prefix)):
        problems.append(errors.invalid(path, key, "prefix part " + SUBDOMAIN_MESSAGE))
    return problems


def check_metadata(spec: ResourceSpec, meta: Mapping[str, Any]) -> list[errors.FieldError]:
    """ObjectMeta validation of k8s.io/apimachinery/pkg/api/validation (names, labels, annotations)."""
    problems: list[errors.FieldError] = []
    name = str(meta.get("name") or "")
    if spec.plural == "namespaces":
        if len(name) > 63 or not _full(_DNS1123_LABEL, name):
            problems.append(errors.invalid("metadata.name", name, LABEL_MESSAGE))
    elif len(name) > 253 or not _full(_DNS1123_SUBDOMAIN, name):
        problems.append(errors.invalid("metadata.name", name, SUBDOMAIN_MESSAGE))
    for key, value in (meta.get("labels") or {}).items():
        problems.extend(_check_qualified_key("metadata.labels", str(key)))
        if not isinstance(value, str) or len(value) > 63 or not _full(_LABEL_VALUE, value):
            problems.append(errors.invalid("metadata.labels", value, LABEL_VALUE_MESSAGE))
    for key, value in (meta.get("annotations") or {}).items():
        problems.extend(_check_qualified_key("metadata.annotations", str(key)))
        if not isinstance(value, str):
            problems.append(errors.invalid(f"metadata.annotations[{key}]", value, "must be a string"))
    return problems


def admit(spec: ResourceSpec, body: Body, old: Body | None, field_validation: str) -> list[str]:
    """Normalize `body` in place and validate it; return Warning texts, raise 400/422 like a real server."""
    warnings: list[str] = []
    name = str((body.get("metadata") or {}).get("name") or "")
    if spec.schema is not None:
        unknown = spec.schema.normalize(body)
        if unknown and field_validation == STRICT:
            fields = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise errors.bad_request(
                f'{spec.kind} in version "{spec.version}" cannot be handled as a {spec.kind}: '
                f"strict decoding error: {fields}"
            )
        if field_validation == WARN:
            warnings.extend(f'unknown field "{path}"' for path in unknown)
    problems = check_metadata(spec, body.get("metadata") or {})
    if spec.schema is not None:
        found, skipped = spec.schema.validate(body, old)
        problems.extend(found)
        warnings.extend(dict.fromkeys(rule.warning() for rule in skipped))
    if problems:
        raise errors.invalid_object(spec.kind, spec.group, name, problems)
    return warnings
