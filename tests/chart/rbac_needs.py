"""Every Kubernetes API call the operator may make, and so every permission the chart grants.

OPERATOR_API_CALLS is the single list: the chart's RBAC test checks the rendered Roles and ClusterRoles grant
exactly these (no more, no less), and a test of the running operator can check its requests against it.

Where each comes from:
* kopf (1.45.2) watches and patches the served resources: list/watch the CRs, merge-patch the object
  (finalizer, progress annotations) and, because the CRDs have a status subresource, `/status` separately
  (kopf/_cogs/clients/patching.py).
* kopf posts core v1 Events with POST only (kopf/_cogs/clients/events.py); it never writes events.k8s.io.
* kopf's resource observer lists and watches CRDs in every mode; its namespace observer lists and watches
  namespaces only when the operator is namespaced (kopf/_core/reactor/observation.py). Without permission it
  falls back with a warning: the chart's `rbac.clusterDiscovery=false` opts into that.
* kopf peering (`--peering`): list/watch/patch of ClusterKopfPeering (cluster-wide) or KopfPeering (in each
  watched namespace) (kopf/_core/engines/peering.py); `get` as kopf's documented RBAC grants it.
* The operator itself reads Secrets by name (credentials, CA bundles, secretSettings) and patches `/status`
  mid-handler (ssvm_operator/kube/kubeapi.py). It re-reads Secrets by name once per poll interval, so a
  rotated key is picked up without list or watch on Secrets. tests/e2e/test_rbac_matches_chart.py checks
  this list against the calls a running operator makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["watched", "cluster"]
"""`watched`: in every watched namespace (cluster-wide when the operator watches all); `cluster`: a
cluster-scoped resource, always granted by a ClusterRole."""

Condition = Literal["peering", "clusterwide", "namespaced"]


@dataclass(frozen=True, order=True)
class ApiCall:
    group: str
    """API group; "" is the core group."""
    resource: str
    """Plural resource name, with `/subresource` when it is one."""
    verb: str
    scope: Scope
    only_when: frozenset[Condition] = frozenset()
    """Needed only in installs where all of these hold."""

    def needed(self, *, clusterwide: bool, peering: bool) -> bool:
        active: set[Condition] = {"clusterwide" if clusterwide else "namespaced"}
        if peering:
            active.add("peering")
        return self.only_when <= active


_OURS = "ssvm.cloudstack.io"
_CRDS = "apiextensions.k8s.io"
_PEERING_CLUSTERWIDE = frozenset({"peering", "clusterwide"})
_PEERING_NAMESPACED = frozenset({"peering", "namespaced"})
_NAMESPACED = frozenset({"namespaced"})

OPERATOR_API_CALLS: frozenset[ApiCall] = frozenset(
    {
        # Our custom resources: kopf lists, watches and patches them; nothing creates or deletes them.
        ApiCall(_OURS, "cloudstackendpoints", "list", "watched"),
        ApiCall(_OURS, "cloudstackendpoints", "watch", "watched"),
        ApiCall(_OURS, "cloudstackendpoints", "patch", "watched"),
        ApiCall(_OURS, "ssvmpools", "list", "watched"),
        ApiCall(_OURS, "ssvmpools", "watch", "watched"),
        ApiCall(_OURS, "ssvmpools", "patch", "watched"),
        ApiCall(_OURS, "ssvmsettings", "list", "watched"),
        ApiCall(_OURS, "ssvmsettings", "watch", "watched"),
        ApiCall(_OURS, "ssvmsettings", "patch", "watched"),
        # Their status subresource: kopf's and the operator's own status writes.
        ApiCall(_OURS, "cloudstackendpoints/status", "patch", "watched"),
        ApiCall(_OURS, "ssvmpools/status", "patch", "watched"),
        ApiCall(_OURS, "ssvmsettings/status", "patch", "watched"),
        # Credentials, CA bundles and secretSettings: read by name once per poll interval.
        ApiCall("", "secrets", "get", "watched"),
        # kopf's Events about the objects it handles.
        ApiCall("", "events", "create", "watched"),
        # kopf's discovery of CRDs (every mode) and of namespaces (namespaced mode only).
        ApiCall(_CRDS, "customresourcedefinitions", "list", "cluster"),
        ApiCall(_CRDS, "customresourcedefinitions", "watch", "cluster"),
        ApiCall("", "namespaces", "list", "cluster", _NAMESPACED),
        ApiCall("", "namespaces", "watch", "cluster", _NAMESPACED),
        # kopf peering (--peering), cluster-wide install.
        ApiCall("kopf.dev", "clusterkopfpeerings", "get", "cluster", _PEERING_CLUSTERWIDE),
        ApiCall("kopf.dev", "clusterkopfpeerings", "list", "cluster", _PEERING_CLUSTERWIDE),
        ApiCall("kopf.dev", "clusterkopfpeerings", "watch", "cluster", _PEERING_CLUSTERWIDE),
        ApiCall("kopf.dev", "clusterkopfpeerings", "patch", "cluster", _PEERING_CLUSTERWIDE),
        # kopf peering (--peering), namespaced install: one KopfPeering per watched namespace.
        ApiCall("kopf.dev", "kopfpeerings", "get", "watched", _PEERING_NAMESPACED),
        ApiCall("kopf.dev", "kopfpeerings", "list", "watched", _PEERING_NAMESPACED),
        ApiCall("kopf.dev", "kopfpeerings", "watch", "watched", _PEERING_NAMESPACED),
        ApiCall("kopf.dev", "kopfpeerings", "patch", "watched", _PEERING_NAMESPACED),
    }
)


def needed_calls(*, clusterwide: bool, peering: bool) -> frozenset[ApiCall]:
    """The calls an install of this shape makes."""
    return frozenset(c for c in OPERATOR_API_CALLS if c.needed(clusterwide=clusterwide, peering=peering))
