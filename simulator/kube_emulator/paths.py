"""Kubernetes REST paths and verbs: `/apis/<g>/<v>/namespaces/<ns>/<plural>/<name>/<sub>` -> parts.

kmock 0.8's own parser takes `/api/v1/namespaces` for a namespace prefix and crashes on it (README.md §1),
so the emulator parses paths itself and treats the `namespaces` resource explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

# Subresources of the Namespace kind that would otherwise look like a plural inside a namespace.
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class ResourcePath:
    """A parsed resource URL; `group` is "" for the core API."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_resource_path(path: str) -> ResourcePath | None:
    """Parse a resource URL, or return None for discovery and non-resource URLs."""
    parts = [part for part in path.strip("/").split("/") if part]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None

    if rest[0] == "namespaces":
        # /namespaces, /namespaces/<n>, /namespaces/<n>/status: the Namespace resource itself.
        if len(rest) <= 2 or (len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES and group == ""):
            name = rest[1] if len(rest) >= 2 else None
            subresource = rest[2] if len(rest) == 3 else None
            return ResourcePath(group, version, "namespaces", None, name, subresource)
        namespace, rest = rest[1], rest[2:]
    else:
        namespace = None

    plural = rest[0]
    name = rest[1] if len(rest) >= 2 else None
    subresource = "/".join(rest[2:]) or None
    return ResourcePath(group, version, plural, namespace, name, subresource)


def guess_verb(method: str, path: ResourcePath, watch: bool) -> str:
    """The RBAC verb of a request, as the apiserver's RequestInfoFactory computes it."""
    method = method.upper()
    if method == "GET":
        if watch:
            return "watch"
        return "get" if path.name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if path.name else "deletecollection"
    return method.lower()


def is_truthy(value: str | None) -> bool:
    return value is not None and value.lower() in {"true", "1"}
