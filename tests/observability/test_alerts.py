"""The chart's alerts, run by a real Prometheus server (Debian's `prometheus`, `make tools`) that scrapes the
real operator: "pool not Ready" fires after its `for:` while an SSVM is broken, and clears after the repair.

The rules are the chart's PrometheusRule as `helm template` renders it, with `for:` shortened through the
chart's values, so what runs here is what a user installs. The scrape keeps the operator's labels
(`honor_labels`), as the chart's ServiceMonitor and PodMonitor do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.cluster_helpers import apply, eventually, pool_doc, wait_condition
from tests.observability.scene import Scene, free_port, operator_scene
from tests.support.paths import REPOSITORY
from tests.support.tools import require_tool

CHART = REPOSITORY / "charts" / "ssvm-operator"
FOR_SECONDS = 5
BROKEN_BY_HAND = {"unhealthyAfterSeconds": 1, "remediation": "None"}
REPAIRED_BY_THE_OPERATOR = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3, "remediation": "Recreate"}


@dataclass
class Prometheus:
    url: str

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            body = json.loads(response.read().decode())
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.get("/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == name]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/api/v1/query", query=expr)["result"]
        return result


def chart_rules(tmp_path: Path) -> Path:
    helm = require_tool("helm")
    env = {**os.environ, **{f"HELM_{k}_HOME": str(tmp_path / k.lower()) for k in ("CACHE", "CONFIG", "DATA")}}
    quick = f"{FOR_SECONDS}s"
    rendered = subprocess.run(
        [str(helm), "template", "ssvm-operator", str(CHART), "--show-only", "templates/prometheusrule.yaml"]
        + ["--set", "metrics.prometheusRule.enabled=true"]
        + [f"--set=metrics.prometheusRule.rules.{rule}.for={quick}" for rule in ("poolNotReady", "stalled")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": yaml.safe_load(rendered)["spec"]["groups"]}))
    return rules


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    log_path = tmp_path_factory.mktemp("alerts") / "operator.log"
    pool = pool_doc("zone-1", "zone-1", health=BROKEN_BY_HAND)
    with operator_scene(log_path, pool) as running:
        wait_condition(running.cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=40)
        yield running


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chart_rules(tmp_path_factory.mktemp("rules"))


@pytest.fixture(scope="module")
def prometheus(
    scene: Scene, rules_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    binary = require_tool("prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_file)],
        "scrape_configs": [
            {
                "job_name": "ssvm-operator",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{scene.metrics_port}"]}],
            }
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (workdir / "prometheus.log").open("ab") as log:
        process = subprocess.Popen(
            [
                str(binary),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            server = Prometheus(f"http://127.0.0.1:{port}")
            eventually(lambda: _scraped(server), timeout=30, what="Prometheus scraping the operator")
            yield server
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _scraped(server: Prometheus) -> bool:
    try:
        return bool(server.query('ssvm_operator_pool_ready_replicas{name="zone-1"}'))
    except OSError:
        return False


def firing(server: Prometheus, alert: str, /, **labels: str) -> list[dict[str, Any]]:
    return [
        a
        for a in server.alerts(alert)
        if a["state"] == "firing" and all(a["labels"].get(k) == v for k, v in labels.items())
    ]


def test_pool_not_ready_fires_after_its_for_while_an_ssvm_is_broken_and_clears_after_the_repair(
    scene: Scene, prometheus: Prometheus
) -> None:
    pool = {"namespace": "default", "name": "zone-1"}
    assert not prometheus.alerts("SSVMPoolNotReady"), "a Ready pool raises no alert"
    assert not firing(prometheus, "SSVMOperatorAbsent"), "the operator is scraped"

    broken_at = time.time()
    # Running with its agent Down: CloudStack's scanner does not replace it, and remediation None leaves it.
    broken = scene.cloudstack.admin.ssvms(zone="zone-1")[0]["name"]
    scene.cloudstack.admin.set_agent_state(broken, "Alert", sticky=True)
    wait_condition(scene.cluster, "SSVMPool", "zone-1", "Ready", "False", timeout=30)
    [alert] = eventually(
        lambda: firing(prometheus, "SSVMPoolNotReady", **pool), timeout=60, what="SSVMPoolNotReady firing"
    )
    fired_at = time.time()
    assert alert["labels"]["reason"] == "SSVMUnhealthy" and alert["labels"]["severity"] == "warning"
    assert "default/zone-1" in alert["annotations"]["summary"]
    assert fired_at - broken_at >= FOR_SECONDS, "not before its for:"

    apply(scene.cluster, pool_doc("zone-1", "zone-1", health=REPAIRED_BY_THE_OPERATOR))
    # The operator reboots it; the agent stays Down, so it recreates it and CloudStack starts a new one.
    wait_condition(scene.cluster, "SSVMPool", "zone-1", "Ready", "True", timeout=90)
    eventually(
        lambda: not prometheus.alerts("SSVMPoolNotReady"), timeout=30, what="SSVMPoolNotReady resolved"
    )


def test_every_metric_the_alerts_and_dashboard_use_is_served_by_the_running_operator(
    scene: Scene, prometheus: Prometheus, rules_file: Path
) -> None:
    # One refused CloudStack request, so that the error counter has a series, as it does in production.
    scene.cloudstack.admin.inject_fault(command="listZones", kind="error", count=1, status=530)
    eventually(lambda: prometheus.query("ssvm_operator_cloudstack_api_errors_total"), what="an error counted")
    served = set(prometheus.get("/api/v1/label/__name__/values"))
    rules = yaml.safe_load(rules_file.read_text())
    board = json.loads((CHART / "dashboards" / "ssvm-operator.json").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for panel in board["panels"]:
        for target in panel["targets"]:
            expressions.append(target["expr"].replace("$__rate_interval", "1m").replace("$zone", ".*"))
    for expr in expressions:
        used = set(re.findall(r"\bssvm_operator_[a-z_]+\b", expr))
        assert used <= served, (expr, used - served)
        prometheus.query(expr)  # Prometheus evaluates it without an error


def series_of(scene: Scene, name: str) -> list[str]:
    return [
        sample.name
        for family in text_string_to_metric_families(scene.scrape())
        for sample in family.samples
        if sample.labels.get("name") == name and family.name.startswith("ssvm_operator_")
    ]


def test_a_deleted_pool_leaves_no_series_and_no_alert(scene: Scene, prometheus: Prometheus) -> None:
    assert series_of(scene, "zone-1")
    scene.cluster.kubectl("delete", "ssvmpool", "zone-1", "-n", "default", check=True)
    eventually(lambda: not series_of(scene, "zone-1"), timeout=30, what="zone-1's series removed")
    eventually(
        lambda: not prometheus.query('{__name__=~"ssvm_operator_.*", name="zone-1"}'),
        timeout=30,
        what="zone-1's series gone from Prometheus",
    )
    eventually(lambda: not prometheus.alerts("SSVMPoolNotReady"), timeout=10, what="no alert about zone-1")
