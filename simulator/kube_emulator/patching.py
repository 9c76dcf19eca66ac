"""PATCH bodies: JSON merge patch, JSON patch, strategic merge (approximated) and server-side apply.

* A failed JSON-patch `test` is a 422, which kopf relies on for its optimistic finalizer patches
  (README.md §1: plain kmock answers 500 and kopf retries forever).
* Strategic merge patch is refused for custom resources with 415, as a real apiserver does; for
  built-ins it is approximated by a merge patch without the `$patch`/`$setElementOrder` directives.
* Server-side apply is approximated: the applied configuration is merged over the live object, and
  fields that the same field manager applied before but no longer applies are removed. There is no
  field ownership across managers, hence no apply conflicts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer
import yaml

from kube_emulator import errors

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY_YAML = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"
CUSTOM_RESOURCE_PATCH_TYPES = (JSON, MERGE, APPLY_YAML)
BUILTIN_PATCH_TYPES = (JSON, MERGE, STRATEGIC, APPLY_YAML)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes, everything else (lists too) replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strip_directives(patch: Any) -> Any:
    """Drop strategic-merge directives such as $patch, $retainKeys and $setElementOrder."""
    if isinstance(patch, Mapping):
        return {key: strip_directives(value) for key, value in patch.items() if not str(key).startswith("$")}
    if isinstance(patch, list):
        return [
            strip_directives(item) for item in patch if not (isinstance(item, Mapping) and "$patch" in item)
        ]
    return patch


def json_patch(target: Mapping[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        result = jsonpatch.apply_patch(copy.deepcopy(dict(target)), operations, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        # k8s.io/apiserver/pkg/endpoints/handlers/patch.go: applyJSPatch -> 422.
        raise errors.unprocessable(
            f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
        raise errors.unprocessable(
            f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    except jsonpatch.InvalidJsonPatch as exc:
        raise errors.bad_request(f"invalid JSON patch: {exc}") from exc
    if not isinstance(result, dict):
        raise errors.unprocessable("the patch replaced the whole object with a non-object")
    return result


def parse_apply_body(raw: bytes) -> dict[str, Any]:
    try:
        document = yaml.safe_load(raw.decode("utf-8")) if raw else None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise errors.bad_request("the apply configuration must be an object")
    return document


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def _remove_dropped(live: Any, previous: Any, applied: Any) -> Any:
    """Remove from `live` the map keys `previous` applied and `applied` no longer mentions."""
    if not (isinstance(live, dict) and isinstance(previous, Mapping)):
        return live
    applied_map = applied if isinstance(applied, Mapping) else {}
    result = dict(live)
    for key, old_value in previous.items():
        if key not in applied_map:
            result.pop(key, None)
        elif key in result:
            result[key] = _remove_dropped(result[key], old_value, applied_map[key])
    return result


def server_side_apply(
    live: Mapping[str, Any] | None, applied: Mapping[str, Any], previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The object after applying `applied`, given what the same manager applied the last time."""
    base = copy.deepcopy(dict(live)) if live is not None else {}
    if previous is not None:
        base = _remove_dropped(base, previous, applied)
    merged = merge_patch(base, _without_nulls(applied))
    return dict(merged)


def _without_nulls(value: Any) -> Any:
    # In an apply configuration, `null` means "not specified", not "delete" as in merge patches.
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value
