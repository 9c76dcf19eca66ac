"""Label/field selectors, the printer-column JSONPath subset and server-side Table output."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from kube_emulator import errors, jsonpath, selectors, tables
from kube_emulator.resources import PrinterColumn
from kube_emulator.testing import EmulatedCluster

pytestmark = pytest.mark.timeout(30)

WidgetFactory = Callable[..., dict[str, Any]]
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("tier=gold", {"tier": "gold"}, True),
        ("tier==gold", {"tier": "silver"}, False),
        ("tier!=gold", {}, True),
        ("tier in (gold, silver)", {"tier": "silver"}, True),
        ("tier notin (gold)", {}, True),
        ("tier", {"tier": ""}, True),
        ("!tier", {"tier": "x"}, False),
        ("tier in (gold,silver),app=web", {"tier": "gold", "app": "web"}, True),
        ("tier in (gold,silver),app=web", {"tier": "gold", "app": "db"}, False),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert selectors.parse_labels(selector).matches(labels) is expected


def test_malformed_label_selector_is_a_bad_request() -> None:
    with pytest.raises(errors.ApiError) as caught:
        selectors.parse_labels("tier in gold)")
    assert caught.value.code == 400


def test_field_selectors_only_allow_known_fields() -> None:
    allowed = {"metadata.name", "status.phase"}.__contains__
    selector = selectors.parse_fields("metadata.name=a,status.phase!=Gone", allowed)
    assert selector.matches({"metadata.name": "a", "status.phase": "Active"})
    assert not selector.matches({"metadata.name": "a", "status.phase": "Gone"})
    with pytest.raises(errors.ApiError, match=r"field label not supported: spec\.size"):
        selectors.parse_fields("spec.size=1", allowed)


DOCUMENT = {
    "metadata": {"name": "w", "labels": {"a/b": "c"}},
    "spec": {"zone": "z1", "ports": [{"n": 1}, {"n": 2}]},
    "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".spec.zone", ["z1"]),
        ("{.spec.zone}", ["z1"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type!='Ready')].type", ["Synced"]),
        (".spec.ports[*].n", [1, 2]),
        (".spec.ports[-1].n", [2]),
        (".spec.ports[0:1].n", [1]),
        (".metadata.labels['a/b']", ["c"]),
        ("..n", [1, 2]),
        (".spec.ports[?(@.n > 1)].n", [2]),
        (".spec.missing", []),
    ],
)
def test_jsonpath_subset(expression: str, expected: list[Any]) -> None:
    assert jsonpath.find(expression, DOCUMENT) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 600, "3h10m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 3600, "3d1h"),
        (40 * 86400, "40d"),
        (-5, "<invalid>"),
    ],
)
def test_human_durations(seconds: float, expected: str) -> None:
    assert tables.human_duration(seconds) == expected


def test_list_with_selectors(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    for name, tier in (("a", "gold"), ("b", "silver"), ("c", "bronze")):
        body = widget(name)
        body["metadata"]["labels"] = {"tier": tier}
        cluster.request("POST", widgets_path, body)

    def names(query: str) -> list[str]:
        return [
            item["metadata"]["name"]
            for item in cluster.request("GET", f"{widgets_path}?{query}").body["items"]
        ]

    assert names("labelSelector=tier%3Dgold") == ["a"]
    assert names("labelSelector=tier+in+%28gold%2Csilver%29") == ["a", "b"]
    assert names("labelSelector=tier%21%3Dgold") == ["b", "c"]
    assert names("fieldSelector=metadata.name%3Dc") == ["c"]
    assert names("fieldSelector=metadata.namespace%3Dother") == []


def test_table_output_uses_printer_columns(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget("w1", zone="z9", size=3))
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    cluster.request("PATCH", f"{widgets_path}/w1/status", status, content_type="application/merge-patch+json")
    table = cluster.request("GET", widgets_path, accept=TABLE).body
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = [(column["name"], column["priority"]) for column in table["columnDefinitions"]]
    assert columns == [("Name", 0), ("Zone", 0), ("Size", 0), ("Ready", 0), ("Mode", 1), ("Age", 0)]
    cells = table["rows"][0]["cells"]
    assert cells[:5] == ["w1", "z9", 3, "True", "fast"] and cells[5].endswith("s")
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    single = cluster.request("GET", f"{widgets_path}/w1", accept=TABLE).body
    assert single["kind"] == "Table" and len(single["rows"]) == 1


def test_table_for_built_ins(cluster: EmulatedCluster) -> None:
    table = cluster.request("GET", "/api/v1/namespaces", accept=TABLE).body
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert ["default", "Active"] in [row["cells"][:2] for row in table["rows"]]


def test_date_cells_are_ages() -> None:
    column = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
    now = datetime.datetime(2026, 1, 1, 0, 10, tzinfo=datetime.UTC)
    assert tables.cell(column, {"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"}}, now) == "10m"
    assert tables.cell(column, {"metadata": {}}, now) is None


def test_event_tables_for_both_event_apis(cluster: EmulatedCluster) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Widget", "name": "w1", "namespace": "default"},
        "reason": "Tested",
        "message": "hello",
        "type": "Warning",
    }
    cluster.request("POST", "/api/v1/namespaces/default/events", event)
    for path in ("/api/v1/namespaces/default/events", "/apis/events.k8s.io/v1/namespaces/default/events"):
        table = cluster.request("GET", path, accept=TABLE).body
        names = [column["name"] for column in table["columnDefinitions"] if column["priority"] == 0]
        assert names == ["Last Seen", "Type", "Reason", "Object", "Message"]
        cells = table["rows"][0]["cells"]
        assert (cells[1], cells[2], cells[3], cells[6]) == ("Warning", "Tested", "widget/w1", "hello")
