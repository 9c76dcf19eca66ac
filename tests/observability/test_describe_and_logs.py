"""What a person reads: `kubectl describe` of a repaired pool, and the operator's log at the default level.

The operator ran at INFO (the chart's default) through a repair and then ten quiet ticks
(tests/observability/conftest.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.e2e.cluster_helpers import events, get
from tests.observability.conftest import RepairedZone


def describe(zone: RepairedZone, kind: str, name: str) -> str:
    done = zone.scene.cluster.kubectl("describe", kind, name, "-n", "default", check=True)
    return done.stdout


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return parsed


def test_events_come_from_the_operator_and_name_the_pod(repaired_zone: RepairedZone) -> None:
    found = repaired_zone.scene.cluster.call(lambda api: api.events_for("zone-1", "default"))
    ours = [e for e in found if str(e.get("reason", "")).endswith(("Started", "Succeeded"))]
    assert ours, found
    for event in ours:
        assert event["source"]["component"] == "ssvm-operator"
        assert event["reportingComponent"] == "ssvm-operator"
        assert event["reportingInstance"] == "ssvm-operator-7d9f-abcde"
        assert event["metadata"]["name"].startswith("ssvm-operator-event-")
    described = describe(repaired_zone, "ssvmpool", "zone-1")
    events_part = described.split("Events:", 1)[1]
    assert "ssvm-operator" in events_part and "kopf" not in events_part, events_part


def test_action_events_name_the_ssvm_once(repaired_zone: RepairedZone) -> None:
    replaced = repaired_zone.replaced
    messages = [m for _, reason, m in events(repaired_zone.scene.cluster, "zone-1") if replaced in m]
    assert messages, events(repaired_zone.scene.cluster, "zone-1")
    for message in messages:
        # CloudStack's own error text, quoted as it answered (why no evidence was collected), may name it.
        ours = re.sub(r"failed: .*? \(\d{3}\)", "failed: <CloudStack's answer>", message)
        assert ours.count(replaced) == 1, message


def test_describe_shows_no_false_abnormal_condition_and_no_empty_list(repaired_zone: RepairedZone) -> None:
    pool = get(repaired_zone.scene.cluster, "SSVMPool", "zone-1")
    types = {c["type"]: c["status"] for c in pool["status"]["conditions"]}
    assert types["Ready"] == "True"
    assert not {"Stalled", "Reconciling", "Paused", "Degraded"} & set(types), types
    assert "inFlight" not in pool["status"] and "plannedActions" not in pool["status"], pool["status"]
    described = describe(repaired_zone, "ssvmpool", "zone-1")
    for absent in ("In Flight:", "Planned Actions:", "Type:    Stalled", "Reason:  Idle", "AsDeclared"):
        assert absent not in described, f"{absent!r} in:\n{described}"
    assert "Recent Actions:" in described  # the repair is still listed


def test_a_quiet_zone_logs_nothing_per_tick_at_info(repaired_zone: RepairedZone) -> None:
    quiet = repaired_zone.scene.log_lines()[repaired_zone.quiet_from :]
    per_tick = [line for line in quiet if "succeeded." in line or "pool.reconciled" in line]
    assert not per_tick, "\n".join(per_tick[:5])
    assert len(quiet) < 10, "more lines than ticks:\n" + "\n".join(quiet)


def test_the_repair_is_logged_at_info_and_kopf_and_operator_lines_share_namespace_and_name(
    repaired_zone: RepairedZone,
) -> None:
    records = json_lines(repaired_zone.scene.log_lines())
    about_pool = [r for r in records if r.get("namespace") == "default" and r.get("name") == "zone-1"]
    ours = [r for r in about_pool if r.get("event") == "pool.reconciled"]
    kopfs = [r for r in about_pool if str(r.get("logger", "")).startswith("kopf")]
    assert ours and all(r["level"] == "info" for r in ours), "the repair's reconciles are at INFO"
    assert kopfs, "kopf's lines about the pool carry the same namespace and name"
    assert all(r.get("kind") == "SSVMPool" for r in ours + kopfs)
    assert not any("k8s_ref" in r for r in records)
