"""The chart's opt-in monitoring: ServiceMonitor and PodMonitor options, the PrometheusRule and the Grafana
dashboard. Every alert and panel query passes promtool and names only metrics the operator exports
(ssvm_operator/metrics.py); tests/observability/test_alerts.py runs the alerts in a real Prometheus."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.chart.helm_runner import NAMESPACE, Helm, one
from tests.support.tools import require_tool

MONITORING = {
    "metrics": {
        "prometheusRule": {"enabled": True},
        "grafanaDashboard": {"enabled": True},
        "serviceMonitor": {"enabled": True},
    }
}
# Grafana's own variables, as Grafana substitutes them before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$zone": ".*", "${datasource}": "prometheus"}


def exported_sample_names() -> set[str]:
    """Every sample name the operator's registry can expose (a counter's `_total`, a histogram's buckets)."""
    from prometheus_client import REGISTRY

    from ssvm_operator import metrics  # noqa: F401  (registers the operator's metrics)

    names = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("ssvm_operator_"):
            continue
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bssvm_operator_[a-z_]+\b", expr))


def promtool_check_rules(tmp_path: Path, groups: list[dict[str, Any]]) -> None:
    promtool = require_tool("promtool")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}))
    checked = subprocess.run(
        [str(promtool), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, f"promtool check rules:\n{checked.stdout}{checked.stderr}"


def rule_groups(helm: Helm, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = one(helm.render(values or MONITORING), "PrometheusRule")["spec"]["groups"]
    return groups


def dashboard(helm: Helm) -> dict[str, Any]:
    config_map = one(helm.render(MONITORING), "ConfigMap")
    parsed: dict[str, Any] = json.loads(config_map["data"]["ssvm-operator.json"])
    return parsed


def panel_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    queries = []
    for panel in board["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries.append((panel["title"], expr))
    return queries


def test_every_alert_passes_promtool_and_uses_exported_metrics(helm: Helm, tmp_path: Path) -> None:
    groups = rule_groups(helm)
    alerts = {rule["alert"] for group in groups for rule in group["rules"]}
    assert alerts == {
        "SSVMPoolNotReady",
        "SSVMOperatorObjectStalled",
        "SSVMOperatorCircuitBreakerOpen",
        "SSVMOperatorNoCloudStackContact",
        "SSVMSettingsRestartPending",
        "SSVMOperatorAbsent",
    }
    promtool_check_rules(tmp_path, groups)
    exported = exported_sample_names()
    for group in groups:
        for rule in group["rules"]:
            used = metric_names(rule["expr"])
            assert used and used <= exported, (rule["alert"], used - exported)


def test_every_dashboard_query_passes_promtool_and_uses_exported_metrics(helm: Helm, tmp_path: Path) -> None:
    queries = panel_queries(dashboard(helm))
    assert len(queries) >= 10
    recording = [
        {"record": f"dashboard:query_{index}", "expr": expr} for index, (_, expr) in enumerate(queries)
    ]
    promtool_check_rules(tmp_path, [{"name": "dashboard", "rules": recording}])
    exported = exported_sample_names()
    for title, expr in queries:
        used = metric_names(expr)
        assert used and used <= exported, (title, used - exported)


def test_the_dashboard_shows_per_zone_states_actions_latency_and_errors(helm: Helm) -> None:
    board = dashboard(helm)
    by_title = {panel["title"]: " ".join(t["expr"] for t in panel["targets"]) for panel in board["panels"]}
    assert "by (zone, state)" in by_title["SSVMs by state per zone"]
    assert "ssvm_operator_remediations_total" in by_title["Actions on SSVMs per zone"]
    assert "by (zone" in by_title["Actions on SSVMs per zone"]
    assert (
        "request_duration_seconds_bucket"
        in by_title["CloudStack request duration, 95th percentile by command"]
    )
    assert "ssvm_operator_cloudstack_api_errors_total" in by_title["CloudStack errors by command and code"]


def test_the_dashboard_config_map_carries_the_sidecar_label(helm: Helm) -> None:
    config_map = one(helm.render(MONITORING), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == NAMESPACE


def test_alert_timing_severity_labels_and_switches_come_from_values(helm: Helm) -> None:
    values = {
        "metrics": {
            "prometheusRule": {
                "enabled": True,
                "alertLabels": {"team": "platform"},
                "rules": {
                    "poolNotReady": {"for": "2m", "severity": "page"},
                    "noContact": {"polls": 3},
                    "operatorAbsent": {"enabled": False},
                },
            }
        }
    }
    rules = {rule["alert"]: rule for group in rule_groups(helm, values) for rule in group["rules"]}
    assert "SSVMOperatorAbsent" not in rules
    assert rules["SSVMPoolNotReady"]["for"] == "2m"
    assert rules["SSVMPoolNotReady"]["labels"] == {"severity": "page", "team": "platform"}
    assert (
        "> 3 * ssvm_operator_endpoint_poll_interval_seconds"
        in rules["SSVMOperatorNoCloudStackContact"]["expr"]
    )


def test_the_operator_absent_alert_names_the_job_the_monitors_create(helm: Helm) -> None:
    rules = {rule["alert"]: rule for group in rule_groups(helm) for rule in group["rules"]}
    assert rules["SSVMOperatorAbsent"]["expr"] == 'absent(ssvm_operator_build_info{job="ssvm-operator"})'
    monitor = one(helm.render(MONITORING), "ServiceMonitor")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"


def test_service_monitor_options(helm: Helm) -> None:
    relabel = [{"action": "replace", "targetLabel": "cluster", "replacement": "eu-1"}]
    drop = [{"action": "drop", "sourceLabels": ["__name__"], "regex": "ssvm_operator_reconcile_.*"}]
    values = {
        "metrics": {
            "serviceMonitor": {
                "enabled": True,
                "namespace": "monitoring",
                "annotations": {"example.com/owner": "platform"},
                "relabelings": relabel,
                "metricRelabelings": drop,
            }
        }
    }
    monitor = one(helm.render(values), "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["metadata"]["annotations"] == {"example.com/owner": "platform"}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["relabelings"] == relabel and endpoint["metricRelabelings"] == drop
    assert endpoint["honorLabels"] is True, "the operator's namespace label must survive the scrape"


def test_pod_monitor_scrapes_the_metrics_port_without_a_service(helm: Helm) -> None:
    values = {"metrics": {"service": {"enabled": False}, "podMonitor": {"enabled": True}}}
    manifests = helm.render(values)
    assert not [m for m in manifests if m["kind"] == "Service"]
    monitor = one(manifests, "PodMonitor")
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics" and endpoint["honorLabels"] is True
    deployment = one(manifests, "Deployment")
    ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert "metrics" in [p["name"] for p in ports]
    selector = monitor["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


def test_pod_monitor_without_metrics_is_refused(helm: Helm) -> None:
    result = helm.template({"metrics": {"enabled": False, "podMonitor": {"enabled": True}}})
    assert (
        result.returncode != 0
        and "metrics.podMonitor.enabled=true needs metrics.enabled=true" in result.output
    )


def test_monitoring_is_off_by_default(helm: Helm) -> None:
    kinds = {m["kind"] for m in helm.render()}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap"}
