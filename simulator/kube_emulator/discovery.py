"""API discovery: `/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`, `/version`, `/`.

Legacy discovery is enough: kubectl falls back from aggregated discovery v2 by itself (README.md §2).
The core group must say `groupVersion: "v1"` (kmock's "/v1" makes core kinds unmappable), and
subresources are listed without short names (else kubectl warns that "wd" could also match
widgets/status).
"""

from __future__ import annotations

from typing import Any

from kube_emulator import errors
from kube_emulator.resources import SUBRESOURCE_VERBS, Registry, ResourceSpec

KUBERNETES_VERSION = {
    # kubectl warns about a version skew of more than one minor version; the project pins kubectl 1.34.
    "major": "1",
    "minor": "34",
    "gitVersion": "v1.34.5",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
    "emulator": "kube-emulator (kmock KubernetesEmulator)",
}


def version() -> dict[str, Any]:
    return dict(KUBERNETES_VERSION)


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = [_group_entry(g, versions) for g, versions in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> dict[str, Any]:
    versions = registry.group_versions().get(group)
    if not group or not versions:
        raise errors.path_not_found()
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def _resource_entries(spec: ResourceSpec) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": spec.plural,
        "singularName": spec.singular,
        "namespaced": spec.namespaced,
        "kind": spec.kind,
        "verbs": list(spec.verbs),
    }
    if spec.short_names:
        main["shortNames"] = list(spec.short_names)
    if spec.categories:
        main["categories"] = list(spec.categories)
    entries = [main]
    for subresource in sorted(spec.subresources):
        verbs = ["update"] if subresource == "finalize" else list(SUBRESOURCE_VERBS)
        entries.append(
            {
                "name": f"{spec.plural}/{subresource}",
                "singularName": "",
                "namespaced": spec.namespaced,
                "kind": "Scale" if subresource == "scale" else spec.kind,
                "verbs": verbs,
            }
        )
    return entries


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any]:
    specs = registry.in_group_version(group, version)
    if not specs:
        raise errors.path_not_found()
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for spec in specs for entry in _resource_entries(spec)],
    }


def root_paths(registry: Registry) -> dict[str, Any]:
    paths = {"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/openapi/v3", "/version"}
    for group, versions in registry.group_versions().items():
        if group:
            paths.add(f"/apis/{group}")
            paths.update(f"/apis/{group}/{v}" for v in versions)
    return {"paths": sorted(paths)}
