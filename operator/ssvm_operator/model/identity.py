"""Which CloudStack a CloudStackEndpoint points at, and who manages what on it.

Two CloudStackEndpoint objects (another name, another namespace) may point at one CloudStack. Claims on a
zone or on the global settings, the shared inventory and the rate limit therefore belong to the CloudStack,
named by its normalised API URL, not to the Kubernetes object: otherwise two pools would repair one zone and
two SSVMSettings would overwrite each other's global settings.

Pure: specs and index entries in, identities and owners out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ssvm_operator.model.snapshot import Inventory

_DEFAULT_PORTS = {"http": 80, "https": 443}

EndpointKey = tuple[str, str]
"""(namespace, name) of a CloudStackEndpoint."""

Claim = tuple[str, str, str]
"""(creationTimestamp, namespace, name) of a claiming object: the oldest claim wins."""


def cloudstack_identity(url: str) -> str:
    """The API URL as CloudStack sees it: scheme and host in lower case, the default port and a trailing
    slash dropped, no query or fragment. "https://Cloud.example.com:443/client/api/" and
    "https://cloud.example.com/client/api" name one CloudStack."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    return f"{scheme}://{netloc}{path}"


def identity_of(endpoint_specs: Mapping[EndpointKey, Mapping[str, Any]], key: EndpointKey) -> str | None:
    url = (endpoint_specs.get(key) or {}).get("url")
    return cloudstack_identity(url) if isinstance(url, str) and url.strip() else None


def same_cloudstack(
    endpoint_specs: Mapping[EndpointKey, Mapping[str, Any]], key: EndpointKey
) -> frozenset[EndpointKey]:
    """Every endpoint pointing at the same CloudStack as `key`, `key` itself included; just `key` when its
    URL is not known."""
    identity = identity_of(endpoint_specs, key)
    if identity is None:
        return frozenset({key})
    return frozenset({key} | {k for k in endpoint_specs if identity_of(endpoint_specs, k) == identity})


def twins(endpoint_specs: Mapping[EndpointKey, Mapping[str, Any]], key: EndpointKey) -> list[EndpointKey]:
    """The other endpoints pointing at the same CloudStack as `key`, sorted."""
    return sorted(same_cloudstack(endpoint_specs, key) - {key})


def owner(claims: Iterable[Claim]) -> Claim | None:
    """The oldest claim (by creation time, then namespace and name, so every reader agrees)."""
    return min(claims, default=None)


def describe(claim: Claim, namespace: str) -> str:
    """The claiming object's name, with its namespace when that is another one."""
    _, other_namespace, name = claim
    return name if other_namespace == namespace else f"{other_namespace}/{name}"


def zone_conflict(
    zone_claims: Mapping[tuple[str, str, str], Iterable[tuple[str, str]]],
    same: frozenset[EndpointKey],
    inventory: Inventory,
    namespace: str,
    name: str,
    zone: str,
) -> str | None:
    """Why this pool must not act: an older pool claims the same zone of the same CloudStack, through this
    endpoint or another one with the same URL. None when this pool owns the zone."""

    def zone_key(zone_name: str) -> str:
        found = inventory.zone_named(zone_name)
        return found.id if found is not None else zone_name

    mine = zone_key(zone)
    claims = [
        (created, claim_namespace, pool)
        for (claim_namespace, endpoint, claimed), entries in zone_claims.items()
        if (claim_namespace, endpoint) in same and zone_key(claimed) == mine
        for created, pool in entries
    ]
    first = owner(claims)
    if first is None or first[1:] == (namespace, name):
        return None
    return (
        f"SSVMPool {describe(first, namespace)} already manages zone {zone} of this CloudStack; "
        "delete one of them"
    )
