"""Named value combinations of the chart: each is a realistic install, and every rendering test runs them."""

from __future__ import annotations

from typing import Any

# Value combinations every rendering test runs through; each is a realistic install.
SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"watchNamespaces": ["team-a", "team-b"]},
    "namespaced-without-discovery": {"watchNamespaces": ["team-a"], "rbac": {"clusterDiscovery": False}},
    "peering-clusterwide": {"peering": {"enabled": True, "standbyReplicas": 2}},
    "peering-namespaced": {
        "watchNamespaces": ["team-a", "team-b"],
        "peering": {"enabled": True, "standbyReplicas": 1, "installCRDs": False},
    },
    "monitoring": {
        "metrics": {
            "serviceMonitor": {
                "enabled": True,
                "namespace": "monitoring",
                "labels": {"release": "prometheus"},
                "annotations": {"example.com/owner": "platform"},
                "relabelings": [{"action": "replace", "targetLabel": "cluster", "replacement": "eu-1"}],
                "metricRelabelings": [
                    {"action": "drop", "sourceLabels": ["__name__"], "regex": "ssvm_operator_reconcile_.*"}
                ],
            },
            "prometheusRule": {
                "enabled": True,
                "labels": {"release": "prometheus"},
                "alertLabels": {"team": "a"},
            },
            "grafanaDashboard": {"enabled": True, "namespace": "monitoring"},
        },
        "podDisruptionBudget": {"enabled": True, "minAvailable": None, "maxUnavailable": 1},
    },
    "pod-monitor": {
        "metrics": {"service": {"enabled": False}, "podMonitor": {"enabled": True, "interval": "30s"}},
    },
    "network-policy": {
        "networkPolicy": {
            "enabled": True,
            "cloudstack": {"cidrs": ["192.0.2.10/32"], "ports": [443, 8080]},
            "kubernetesAPI": {"cidrs": ["10.0.0.1/32"]},
            "ingressFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
        }
    },
    "crds-disabled": {"crds": {"enabled": False}},
    "crds-not-kept": {"crds": {"keep": False}},
    "endpoint-existing-secret": {
        "endpoint": {
            "create": True,
            "name": "region-1",
            "url": "https://cloud.example.com/client/api",
            "existingSecret": "cloudstack-credentials",
        },
        "rbac": {"secretNames": ["cloudstack-credentials"]},
    },
    "endpoint-inline-credentials": {
        "watchNamespaces": ["cloudstack"],
        "endpoint": {
            "create": True,
            "url": "https://cloud.example.com/client/api",
            "credentials": {"apiKey": "an-api-key", "secretKey": "a-secret-key"},
            "caSecret": {"name": "cloudstack-ca"},
        },
    },
    "minimal": {
        "metrics": {"enabled": False},
        "livenessProbe": {"enabled": False},
        "serviceAccount": {"create": False, "name": "existing"},
        "rbac": {"create": False},
    },
    "scheduling": {
        "image": {"digest": "sha256:" + "a" * 64, "pullPolicy": "Always"},
        "imagePullSecrets": [{"name": "registry"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "infra", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "role", "operator": "In", "values": ["infra"]}]}
                    ]
                }
            }
        },
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}
        ],
        "priorityClassName": "system-cluster-critical",
        "operator": {"logLevel": "DEBUG", "logFormat": "console", "extraEnv": [{"name": "A", "value": "1"}]},
    },
}
