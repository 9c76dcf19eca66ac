"""What the emulator serves: one `ResourceSpec` per group/version/plural, kept in a `Registry`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kube_emulator.schema import ObjectSchema

Body = dict[str, Any]

READ_WRITE_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class PrinterColumn:
    """A Table column: a CRD `additionalPrinterColumns` entry, or a computed one for built-ins."""

    name: str
    type: str = "string"
    json_path: str = ""
    description: str = ""
    priority: int = 0
    format: str = ""
    # Built-in kinds print derived values (e.g. a ConfigMap's DATA count) that no JSONPath expresses.
    compute: Callable[[Body], Any] | None = None

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


# Field selectors every resource supports (apiserver's DefaultClusterScopedAttr/DefaultNamespaceScopedAttr).
def _default_fields(body: Body) -> dict[str, str]:
    meta = body.get("metadata") or {}
    fields = {"metadata.name": str(meta.get("name", ""))}
    if meta.get("namespace") is not None:
        fields["metadata.namespace"] = str(meta.get("namespace", ""))
    return fields


@dataclass
class ResourceSpec:
    """Everything needed to serve, validate and print one resource version."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = READ_WRITE_VERBS
    subresources: frozenset[str] = frozenset()
    printer_columns: tuple[PrinterColumn, ...] = ()
    storage_version: str = ""
    # Custom resources get generation, strict resourceVersion on PUT, 415 for strategic-merge, pruning.
    custom: bool = False
    schema: ObjectSchema | None = None
    # Field selectors beyond metadata.name/namespace: built-in field labels or a CRD's selectableFields.
    field_labels: Callable[[Body], dict[str, str]] | None = None
    crd_name: str | None = None
    # A resource served as a view of another one's storage (events.k8s.io/v1 over v1 events).
    shared_storage: tuple[str, str, str] | None = None
    to_storage: Callable[[Body], Body] | None = None
    from_storage: Callable[[Body], Body] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.storage_version:
            self.storage_version = self.version

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def storage_key(self) -> tuple[str, str, str]:
        """Objects of all served versions share one storage (CRD conversion strategy `None`)."""
        return self.shared_storage or (self.group, self.storage_version, self.plural)

    def present(self, stored: Body) -> Body:
        """The stored object as this version serves it (a copy; apiVersion rewritten)."""
        body = self.from_storage(stored) if self.from_storage else dict(stored)
        body["apiVersion"] = self.api_version
        body["kind"] = self.kind
        return body

    def store(self, body: Body) -> Body:
        """The representation to keep in storage for a body received through this version."""
        stored = self.to_storage(body) if self.to_storage else dict(body)
        group, version, _ = self.storage_key
        stored["apiVersion"] = f"{group}/{version}" if group else version
        return stored

    def fields_of(self, body: Body) -> dict[str, str]:
        fields = _default_fields(body)
        if self.field_labels is not None:
            fields.update(self.field_labels(body))
        return fields

    def describe(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


ResourceKey = tuple[str, str, str]  # group, version, plural


class Registry:
    """The served resources; discovery, openapi and routing all read from here."""

    def __init__(self) -> None:
        self._specs: dict[ResourceKey, ResourceSpec] = {}
        self.generation = 0  # bumped on every change, used as the discovery/openapi hash

    def add(self, spec: ResourceSpec) -> None:
        self._specs[(spec.group, spec.version, spec.plural)] = spec
        self.generation += 1

    def remove(self, group: str, plural: str) -> list[ResourceSpec]:
        removed = [spec for key, spec in self._specs.items() if key[0] == group and key[2] == plural]
        for spec in removed:
            del self._specs[(spec.group, spec.version, spec.plural)]
        self.generation += 1
        return removed

    def get(self, group: str, version: str, plural: str) -> ResourceSpec | None:
        return self._specs.get((group, version, plural))

    def __iter__(self) -> Iterator[ResourceSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def by_kind(self, api_version: str, kind: str) -> ResourceSpec | None:
        for spec in self._specs.values():
            if spec.api_version == api_version and spec.kind == kind:
                return spec
        return None

    def by_plural(self, group: str, plural: str) -> list[ResourceSpec]:
        return [spec for spec in self._specs.values() if spec.group == group and spec.plural == plural]

    def group_versions(self) -> dict[str, list[str]]:
        """Versions per group in registration order (the first registered version is the preferred one)."""
        result: dict[str, list[str]] = {}
        for spec in self._specs.values():
            versions = result.setdefault(spec.group, [])
            if spec.version not in versions:
                versions.append(spec.version)
        return result

    def in_group_version(self, group: str, version: str) -> list[ResourceSpec]:
        return [spec for spec in self._specs.values() if spec.group == group and spec.version == version]

    def storage_keys(self) -> Mapping[ResourceKey, ResourceSpec]:
        """One spec per storage (the storage version's), to enumerate stored objects once."""
        result: dict[ResourceKey, ResourceSpec] = {}
        for spec in self._specs.values():
            if spec.storage_key not in result or (spec.group, spec.version) == spec.storage_key[:2]:
                result[spec.storage_key] = spec
        return result
