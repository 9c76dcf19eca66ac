"""values.schema.json: draft-07, closed everywhere, and in agreement with values.yaml."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.chart.helm_runner import CHART, load_sync

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())

# Helm's global values of a parent chart are shared with every subchart; they cannot be closed here.
OPEN_BY_DESIGN = {
    "properties.global",
    # Kubernetes' own free-form type (managedFields of an ephemeral volume's claim template), kept as it is.
    "definitions.io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
}


def object_nodes(node: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(node, Mapping):
        return
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "object" in types or "properties" in node:
        yield path, node
    for key, child in node.items():
        if key in ("properties", "definitions"):
            for name, sub in child.items():
                yield from object_nodes(sub, f"{path}.{key}.{name}".lstrip("."))
        elif key in ("items", "additionalProperties"):
            yield from object_nodes(child, f"{path}.{key}".lstrip("."))


def test_schema_is_draft_07() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_every_object_is_closed() -> None:
    open_nodes = [
        path
        for path, node in object_nodes(SCHEMA, "")
        if path not in OPEN_BY_DESIGN and node.get("additionalProperties", True) is True
    ]
    assert open_nodes == []


def test_every_value_has_a_schema_and_the_defaults_pass_it() -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(VALUES)
    assert set(VALUES) == set(SCHEMA["properties"]) - {"global"}


def test_every_top_level_value_is_documented_in_install_guide() -> None:
    guide = (CHART.parent.parent / "docs" / "install.md").read_text()
    missing = [key for key in VALUES if f"`{key}" not in guide]
    assert missing == [], "values not mentioned in docs/install.md"


def test_stale_api_reference_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync = load_sync()
    doc = tmp_path / "api.md"
    doc.write_text(sync.API_DOC.read_text().replace("| `spec.zone` |", "| `spec.zoneName` |"))
    monkeypatch.setattr(sync, "API_DOC", doc)
    assert set(sync.stale_files()) == {doc}
    assert "| `spec.zone` |" in sync.api_doc()


def test_stale_crd_copy_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync = load_sync()
    crds = tmp_path / "crds"
    shutil.copytree(sync.REPO_CRDS, crds)
    changed = crds / "ssvm.cloudstack.io_ssvmpools.yaml"
    changed.write_text(changed.read_text().replace("maximum: 16", "maximum: 32"))
    monkeypatch.setattr(sync, "REPO_CRDS", crds)
    stale = sync.stale_files()
    assert set(stale) == {sync.CRD_TEMPLATES / changed.name, sync.API_DOC}, "the chart copy and the reference"
    assert sync.main(["--check"]) == 1
