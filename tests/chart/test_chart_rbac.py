"""The rendered RBAC grants exactly OPERATOR_API_CALLS to the operator's ServiceAccount, nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.chart.chart_scenarios import SCENARIOS
from tests.chart.helm_runner import NAMESPACE, Helm, Manifest, of_kind
from tests.chart.rbac_needs import OPERATOR_API_CALLS, needed_calls

Grant = tuple[str, str, str, str]
"""(apiGroup, resource, verb, where): where is "cluster" or "namespace/<name>"."""

RBAC_SCENARIOS = [name for name, values in SCENARIOS.items() if values.get("rbac", {}).get("create", True)]


def granted(manifests: Sequence[Manifest]) -> set[Grant]:
    """What the operator's ServiceAccount may do, from the rendered roles and their bindings."""
    deployment = of_kind(manifests, "Deployment")[0]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    subject = {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    roles = {(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]): m for m in manifests}
    grants: set[Grant] = set()
    for binding in of_kind(manifests, "RoleBinding") + of_kind(manifests, "ClusterRoleBinding"):
        assert binding["subjects"] == [subject], f"{binding['metadata']['name']} binds someone else"
        ref = binding["roleRef"]
        namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
        role = roles[(ref["kind"], namespace, ref["name"])]
        where = f"namespace/{namespace}" if binding["kind"] == "RoleBinding" else "cluster"
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        grants.add((group, resource, verb, where))
    return grants


def operator_roles(manifests: Sequence[Manifest], kind: str) -> list[Manifest]:
    """The operator's own roles, without the view/edit roles the chart aggregates for people."""
    return [
        m
        for m in of_kind(manifests, kind)
        if not any(k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in m["metadata"]["labels"])
    ]


def expected(values: dict[str, Any]) -> set[Grant]:
    namespaces = values.get("watchNamespaces", [])
    clusterwide = not namespaces
    peering = values.get("peering", {}).get("enabled", False)
    discovery = values.get("rbac", {}).get("clusterDiscovery", True)
    wanted: set[Grant] = set()
    for call in needed_calls(clusterwide=clusterwide, peering=peering):
        if clusterwide or call.scope == "cluster":
            if call.scope == "cluster" and not clusterwide and not discovery:
                continue
            wanted.add((call.group, call.resource, call.verb, "cluster"))
        else:
            wanted |= {(call.group, call.resource, call.verb, f"namespace/{ns}") for ns in namespaces}
    return wanted


@pytest.mark.parametrize("scenario", RBAC_SCENARIOS)
def test_rbac_grants_exactly_the_operator_api_calls(helm: Helm, scenario: str) -> None:
    values = SCENARIOS[scenario]
    grants = granted(helm.render(values))
    want = expected(values)
    assert grants - want == set(), f"granted but not needed: {sorted(grants - want)}"
    assert want - grants == set(), f"needed but not granted: {sorted(want - grants)}"


@pytest.mark.parametrize("scenario", RBAC_SCENARIOS)
def test_rbac_rules_are_narrow(helm: Helm, scenario: str) -> None:
    manifests = helm.render(SCENARIOS[scenario])
    secret_names = SCENARIOS[scenario].get("rbac", {}).get("secretNames")
    for role in operator_roles(manifests, "Role") + operator_roles(manifests, "ClusterRole"):
        for rule in role["rules"]:
            assert "nonResourceURLs" not in rule
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], f"wildcard in {role['metadata']['name']}: {rule}"
                assert not any(item.endswith("/*") for item in rule[field])
            if "secrets" in rule["resources"]:
                assert rule["resources"] == ["secrets"] and rule["verbs"] == ["get"]
                assert rule.get("resourceNames") == secret_names
            else:
                assert "resourceNames" not in rule
            if "ssvm.cloudstack.io" in rule["apiGroups"]:
                assert not {"create", "delete", "deletecollection", "update"} & set(rule["verbs"])
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])


def test_namespaced_install_grants_nothing_cluster_wide_on_our_resources(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["namespaced"])
    cluster_grants = {g for g in granted(manifests) if g[3] == "cluster"}
    assert {(g, r) for g, r, _, _ in cluster_grants} == {
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("", "namespaces"),
    }
    assert sorted(r["metadata"]["namespace"] for r in of_kind(manifests, "Role")) == ["team-a", "team-b"]


def test_namespaced_install_without_discovery_has_no_cluster_role(helm: Helm) -> None:
    manifests = helm.render(SCENARIOS["namespaced-without-discovery"])
    assert not operator_roles(manifests, "ClusterRole") and not of_kind(manifests, "ClusterRoleBinding")


def test_secret_reads_can_be_limited_to_named_secrets(helm: Helm) -> None:
    [role] = operator_roles(helm.render(SCENARIOS["endpoint-existing-secret"]), "ClusterRole")
    secret_rules = [rule for rule in role["rules"] if "secrets" in rule["resources"]]
    assert secret_rules == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["cloudstack-credentials"],
            "verbs": ["get"],
        }
    ]


def test_operator_api_calls_have_no_create_or_delete_of_our_resources() -> None:
    ours = [c for c in OPERATOR_API_CALLS if c.group == "ssvm.cloudstack.io"]
    assert ours and all(c.verb in {"get", "list", "watch", "patch"} for c in ours)
    assert {c.verb for c in OPERATOR_API_CALLS if c.resource == "secrets"} == {"get"}
    assert all(c.scope == "watched" for c in OPERATOR_API_CALLS if c.resource == "secrets")
    assert {c.verb for c in OPERATOR_API_CALLS if c.resource.endswith("/status")} == {"patch"}
    assert {c.verb for c in OPERATOR_API_CALLS if c.resource == "events"} == {"create"}
