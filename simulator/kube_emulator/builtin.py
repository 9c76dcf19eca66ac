"""Built-in resources the operator, kopf and kubectl need (README.md §1: kopf waits forever without
`v1/namespaces`, and silently posts no events without `v1/events`).

Printer columns and field labels follow the real apiserver's printers (pkg/printers/internalversion) and
field-label conversions, so `kubectl get` and `kubectl describe` (which finds Events by
`involvedObject.*` field selectors) look as on a cluster. The schemas are deliberately small: they
cover every top-level field of these kinds, so strict validation, pruning and `kubectl explain` work.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from kube_emulator import tables
from kube_emulator.resources import Body, PrinterColumn, ResourceSpec
from kube_emulator.schema import ObjectSchema

Clock = Callable[[], datetime.datetime]

_STRING = {"type": "string"}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _object_schema(properties: dict[str, Any], *, preserve: bool = False) -> ObjectSchema:
    root: dict[str, Any] = {
        "type": "object",
        "properties": {"apiVersion": _STRING, "kind": _STRING, "metadata": {"type": "object"}, **properties},
    }
    if preserve:
        root["x-kubernetes-preserve-unknown-fields"] = True
    return ObjectSchema.compile(root)


def _age_column(clock: Clock) -> PrinterColumn:
    return PrinterColumn(
        "Age",
        "string",
        description="CreationTimestamp is a timestamp representing the server time when this object was "
        "created.",
        compute=lambda body: tables.age((body.get("metadata") or {}).get("creationTimestamp"), clock()),
    )


def _name_column() -> PrinterColumn:
    return PrinterColumn(
        "Name",
        "string",
        format="name",
        description=str(tables.NAME_COLUMN["description"]),
        compute=lambda body: (body.get("metadata") or {}).get("name", ""),
    )


def _data_count(body: Body) -> int:
    return len(body.get("data") or {}) + len(body.get("binaryData") or {})


def namespaces(clock: Clock) -> ResourceSpec:
    return ResourceSpec(
        group="",
        version="v1",
        plural="namespaces",
        kind="Namespace",
        singular="namespace",
        namespaced=False,
        short_names=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subresources=frozenset({"status", "finalize"}),
        printer_columns=(
            _name_column(),
            PrinterColumn("Status", "string", ".status.phase", "The status of the namespace"),
            _age_column(clock),
        ),
        schema=_object_schema(
            {
                "spec": {"type": "object", "properties": {"finalizers": {"type": "array", "items": _STRING}}},
                "status": {
                    "type": "object",
                    "properties": {"phase": _STRING, "conditions": {"type": "array", "items": _OPEN}},
                },
            }
        ),
        field_labels=lambda body: {"status.phase": str((body.get("status") or {}).get("phase", ""))},
    )


def configmaps(clock: Clock) -> ResourceSpec:
    return ResourceSpec(
        group="",
        version="v1",
        plural="configmaps",
        kind="ConfigMap",
        singular="configmap",
        namespaced=True,
        short_names=("cm",),
        printer_columns=(
            _name_column(),
            PrinterColumn("Data", "string", compute=_data_count),
            _age_column(clock),
        ),
        schema=_object_schema(
            {
                "data": _STRING_MAP,
                "binaryData": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "format": "byte"},
                },
                "immutable": {"type": "boolean"},
            }
        ),
    )


def secrets(clock: Clock) -> ResourceSpec:
    return ResourceSpec(
        group="",
        version="v1",
        plural="secrets",
        kind="Secret",
        singular="secret",
        namespaced=True,
        printer_columns=(
            _name_column(),
            PrinterColumn("Type", "string", ".type"),
            PrinterColumn("Data", "string", compute=_data_count),
            _age_column(clock),
        ),
        schema=_object_schema(
            {
                "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
                "stringData": _STRING_MAP,
                "type": _STRING,
                "immutable": {"type": "boolean"},
            }
        ),
        field_labels=lambda body: {"type": str(body.get("type", ""))},
    )


def _event_time(body: Body) -> str | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        value = body.get(key)
        if value:
            return str(value)
    series = body.get("series") or {}
    return series.get("lastObservedTime") or (body.get("metadata") or {}).get("creationTimestamp")


def _event_object(body: Body) -> str:
    involved = body.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _event_fields(body: Body) -> dict[str, str]:
    involved = body.get("involvedObject") or {}
    source = body.get("source") or {}
    fields = {
        f"involvedObject.{key}": str(involved.get(key, "") or "")
        for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    }
    fields.update(
        reason=str(body.get("reason", "") or ""),
        reportingComponent=str(body.get("reportingComponent", "") or ""),
        source=str(source.get("component", "") or ""),
        type=str(body.get("type", "") or ""),
    )
    return fields


def events(clock: Clock) -> ResourceSpec:
    return ResourceSpec(
        group="",
        version="v1",
        plural="events",
        kind="Event",
        singular="event",
        namespaced=True,
        short_names=("ev",),
        printer_columns=(
            PrinterColumn("Last Seen", "string", compute=lambda b: tables.age(_event_time(b), clock())),
            PrinterColumn("Type", "string", ".type"),
            PrinterColumn("Reason", "string", ".reason"),
            PrinterColumn("Object", "string", compute=_event_object),
            PrinterColumn("Subobject", "string", ".involvedObject.fieldPath", priority=1),
            PrinterColumn("Source", "string", ".source.component", priority=1),
            PrinterColumn("Message", "string", ".message"),
            PrinterColumn(
                "First Seen",
                "string",
                priority=1,
                compute=lambda b: tables.age(b.get("firstTimestamp") or b.get("eventTime"), clock()),
            ),
            PrinterColumn("Count", "integer", ".count", priority=1),
            PrinterColumn("Name", "string", ".metadata.name", priority=1),
        ),
        schema=_object_schema({}, preserve=True),
        field_labels=_event_fields,
    )


# events.k8s.io/v1 renamed a few core/v1 Event fields; both APIs serve one storage, as on a cluster.
_EVENTS_V1_RENAMES = {
    "involvedObject": "regarding",
    "message": "note",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
    "reportingComponent": "reportingController",
}


def _core_to_events_v1(body: Body) -> Body:
    return {_EVENTS_V1_RENAMES.get(key, key): value for key, value in body.items()}


def _events_v1_to_core(body: Body) -> Body:
    back = {new: old for old, new in _EVENTS_V1_RENAMES.items()}
    return {back.get(key, key): value for key, value in body.items()}


def _on_core_event(column: PrinterColumn, clock: Clock) -> PrinterColumn:
    """The same column, computed on the core/v1 form of an events.k8s.io/v1 Event (the real printer's)."""
    return PrinterColumn(
        column.name,
        column.type,
        description=column.description,
        priority=column.priority,
        compute=lambda body: tables.cell(column, _events_v1_to_core(body), clock()),
    )


def events_v1(clock: Clock) -> ResourceSpec:
    core = events(clock)
    return ResourceSpec(
        group="events.k8s.io",
        version="v1",
        plural="events",
        kind="Event",
        singular="event",
        namespaced=True,
        short_names=("ev",),
        printer_columns=tuple(_on_core_event(column, clock) for column in core.printer_columns),
        schema=_object_schema({}, preserve=True),
        field_labels=lambda body: _event_fields(_events_v1_to_core(body)),
        shared_storage=("", "v1", "events"),
        to_storage=_events_v1_to_core,
        from_storage=_core_to_events_v1,
    )


def leases(clock: Clock) -> ResourceSpec:
    lease_spec = {
        "type": "object",
        "properties": {
            "holderIdentity": _STRING,
            "leaseDurationSeconds": {"type": "integer"},
            "acquireTime": _STRING,
            "renewTime": _STRING,
            "leaseTransitions": {"type": "integer"},
            "strategy": _STRING,
            "preferredHolder": _STRING,
        },
    }
    return ResourceSpec(
        group="coordination.k8s.io",
        version="v1",
        plural="leases",
        kind="Lease",
        singular="lease",
        namespaced=True,
        printer_columns=(
            _name_column(),
            PrinterColumn("Holder", "string", ".spec.holderIdentity"),
            _age_column(clock),
        ),
        schema=_object_schema({"spec": lease_spec}),
    )


def customresourcedefinitions(clock: Clock) -> ResourceSpec:
    return ResourceSpec(
        group="apiextensions.k8s.io",
        version="v1",
        plural="customresourcedefinitions",
        kind="CustomResourceDefinition",
        singular="customresourcedefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        subresources=frozenset({"status"}),
        printer_columns=(
            _name_column(),
            PrinterColumn(
                "Created At",
                "date",
                compute=lambda body: (body.get("metadata") or {}).get("creationTimestamp"),
            ),
        ),
        schema=_object_schema({"spec": _OPEN, "status": _OPEN}),
    )


def kopf_peerings(clock: Clock) -> list[ResourceSpec]:
    """kopf's peering resources (only needed when the operator runs without --standalone)."""
    columns = (_name_column(), _age_column(clock))
    common: dict[str, Any] = dict(
        group="kopf.dev",
        version="v1",
        printer_columns=columns,
        custom=False,
        schema=_object_schema({"status": _OPEN}, preserve=True),
    )
    return [
        ResourceSpec(
            plural="kopfpeerings", kind="KopfPeering", singular="kopfpeering", namespaced=True, **common
        ),
        ResourceSpec(
            plural="clusterkopfpeerings",
            kind="ClusterKopfPeering",
            singular="clusterkopfpeering",
            namespaced=False,
            **common,
        ),
    ]


def all_builtins(clock: Clock, *, kopf_peering: bool = False) -> list[ResourceSpec]:
    specs = [
        namespaces(clock),
        configmaps(clock),
        secrets(clock),
        events(clock),
        events_v1(clock),
        leases(clock),
        customresourcedefinitions(clock),
    ]
    if kopf_peering:
        specs.extend(kopf_peerings(clock))
    return specs
