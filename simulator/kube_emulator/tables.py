"""Server-side `Table` output: what `kubectl get` prints (a CRD's additionalPrinterColumns, `-o wide`).

kubectl asks with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`; without a Table answer it can
only print NAME and AGE (README.md §2). Cells are built like the apiextensions-apiserver tableconvertor:
the first JSONPath result, typed by the column type, `date` columns shown as an age ("5m"); `null`
cells are printed as `<none>` by kubectl. Priority > 0 columns are sent too; kubectl shows them with -o wide.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from kube_emulator import jsonpath
from kube_emulator.resources import Body, PrinterColumn, ResourceSpec

TABLE_API_VERSION = "meta.k8s.io/v1"
NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. Is required when creating resources, although "
    "some "
    "resources may allow a client to request the generation of an appropriate name automatically.",
    "priority": 0,
}


def wants_table(accept: str) -> bool:
    """Whether the Accept header asks for a meta.k8s.io Table (kubectl get does, -o yaml does not)."""
    return any("as=Table" in part for part in accept.split(","))


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def age(value: Any, now: datetime.datetime) -> str:
    moment = parse_time(value)
    if moment is None:
        return "<unknown>" if not value else "<invalid>"
    return human_duration((now - moment).total_seconds())


def _string_cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def cell(column: PrinterColumn, body: Body, now: datetime.datetime) -> Any:
    if column.compute is not None:
        return column.compute(body)
    try:
        results = jsonpath.find(column.json_path, body)
    except jsonpath.JsonPathError:
        return None
    if not results or results[0] is None:
        return None
    value = results[0]
    if column.type == "date":
        return age(value, now) if isinstance(value, str) else "<invalid>"
    if column.type == "integer":
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if column.type == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if column.type == "boolean":
        return value if isinstance(value, bool) else None
    return _string_cell(value)


def column_definitions(spec: ResourceSpec) -> list[dict[str, Any]]:
    definitions = [column.definition() for column in spec.printer_columns]
    return [NAME_COLUMN, *definitions] if spec.custom else definitions


def row(spec: ResourceSpec, body: Body, now: datetime.datetime, include_object: str) -> dict[str, Any]:
    cells = [cell(column, body, now) for column in spec.printer_columns]
    if spec.custom:
        cells.insert(0, (body.get("metadata") or {}).get("name", ""))
    result: dict[str, Any] = {"cells": cells}
    if include_object == "Object":
        result["object"] = body
    elif include_object != "None":
        result["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": TABLE_API_VERSION,
            "metadata": body.get("metadata") or {},
        }
    return result


def table(
    spec: ResourceSpec,
    bodies: Iterable[Body],
    now: datetime.datetime,
    *,
    resource_version: str,
    include_object: str = "Metadata",
    with_definitions: bool = True,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": column_definitions(spec) if with_definitions else [],
        "rows": [row(spec, body, now, include_object) for body in bodies],
    }
    return result
