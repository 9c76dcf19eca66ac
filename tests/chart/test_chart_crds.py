"""The chart's CRDs are those of crds/, structural; examples pass them and invalid resources do not."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.cr_validation import cr_errors, structural_problems, undescribed, version_schema
from tests.chart.helm_runner import CHART, Helm, load_sync, of_kind
from tests.support.paths import REPOSITORY

CRD_FILES = sorted((REPOSITORY / "crds").glob("*.yaml"))
EXAMPLES = sorted((REPOSITORY / "examples").glob("*.yaml"))


def crds_by_kind() -> dict[str, dict[str, Any]]:
    crds = [yaml.safe_load(path.read_text()) for path in CRD_FILES]
    return {crd["spec"]["names"]["kind"]: crd for crd in crds}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_generated_chart_files_are_current() -> None:
    stale = load_sync().stale_files()
    assert not stale, "stale: " + ", ".join(sorted(str(p) for p in stale)) + " - run: make chart"


def test_rendered_crds_equal_the_repository_crds(helm: Helm) -> None:
    rendered = {
        crd["metadata"]["name"]: crd
        for crd in of_kind(helm.render(), "CustomResourceDefinition")
        if crd["spec"]["group"] == "ssvm.cloudstack.io"
    }
    sources = {crd["metadata"]["name"]: crd for crd in crds_by_kind().values()}
    assert set(rendered) == set(sources)
    for name, source in sources.items():
        assert rendered[name]["spec"] == source["spec"], f"{name} differs from crds/"


def test_all_rendered_crds_are_structural(helm: Helm) -> None:
    values = {"peering": {"enabled": True}}
    crds = of_kind(helm.render(values), "CustomResourceDefinition")
    assert len(crds) == 5
    for crd in crds:
        assert structural_problems(crd) == [], crd["metadata"]["name"]


@pytest.mark.parametrize("path", CRD_FILES, ids=[p.name for p in CRD_FILES])
def test_every_field_has_a_description(path: Path) -> None:
    """`kubectl explain` shows these; an empty one leaves the user guessing."""
    assert undescribed(yaml.safe_load(path.read_text())) == []


def test_cel_rules_say_they_are_offline_checkable() -> None:
    for path in CRD_FILES:
        text = path.read_text()
        if "x-kubernetes-validations" in text:
            assert text.startswith("# CEL rules here use only plain CEL and the strings extension"), path.name


def test_structural_check_catches_mistakes() -> None:
    crd = copy.deepcopy(crds_by_kind()["SSVMPool"])
    spec = version_schema(crd)["properties"]["spec"]
    del spec["properties"]["zone"]["type"]
    spec["properties"]["mode"]["x-kubernetes-list-type"] = "set"
    spec["properties"]["replicas"]["default"] = "one"
    spec["properties"]["paused"]["$ref"] = "#/definitions/x"
    problems = "\n".join(structural_problems(crd))
    assert "spec.zone has no type" in problems
    assert "spec.mode: x-kubernetes-list-type on a string" in problems
    assert "spec.replicas: default does not validate" in problems
    assert "spec.paused uses $ref" in problems


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_are_valid(path: Path) -> None:
    crds = crds_by_kind()
    for doc in documents(path):
        if doc["apiVersion"].startswith("ssvm.cloudstack.io/"):
            assert cr_errors(crds[doc["kind"]], doc) == [], f"{path.name}: {doc['metadata']['name']}"


API_DOC = REPOSITORY / "docs" / "api.md"


def yaml_blocks(markdown: str) -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", markdown, re.DOTALL)
    return [doc for block in blocks for doc in yaml.safe_load_all(block) if doc]


def test_api_reference_covers_every_kind() -> None:
    text = API_DOC.read_text()
    for kind in crds_by_kind():
        for part in ("summary", "spec", "status"):
            assert f"<!-- BEGIN GENERATED {kind} {part} -->" in text, f"docs/api.md has no {kind} {part}"


def test_api_reference_examples_are_valid() -> None:
    crds = crds_by_kind()
    examples = yaml_blocks(API_DOC.read_text())
    assert {e["kind"] for e in examples} == set(crds)
    for example in examples:
        assert cr_errors(crds[example["kind"]], example) == [], example["kind"]


def test_api_reference_names_every_field() -> None:
    text = API_DOC.read_text()
    for kind, crd in crds_by_kind().items():
        spec = version_schema(crd)["properties"]["spec"]["properties"]
        missing = [name for name in spec if f"`spec.{name}`" not in text]
        assert missing == [], f"{kind}: spec fields missing from docs/api.md"


def test_chart_crd_examples_are_valid_and_cover_every_crd() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    crds = crds_by_kind()
    listed = yaml.safe_load(chart["annotations"]["artifacthub.io/crds"])
    assert {(c["kind"], c["version"], c["name"]) for c in listed} == {
        (kind, crd["spec"]["versions"][0]["name"], crd["metadata"]["name"]) for kind, crd in crds.items()
    }
    examples = yaml.safe_load(chart["annotations"]["artifacthub.io/crdsExamples"])
    assert {e["kind"] for e in examples} == set(crds)
    for example in examples:
        assert cr_errors(crds[example["kind"]], example) == [], example["kind"]


def test_chart_endpoint_from_values_is_valid(helm: Helm) -> None:
    from tests.chart.chart_scenarios import SCENARIOS

    crd = crds_by_kind()["CloudStackEndpoint"]
    for scenario in ("endpoint-existing-secret", "endpoint-inline-credentials"):
        endpoint = of_kind(helm.render(SCENARIOS[scenario]), "CloudStackEndpoint")[0]
        assert cr_errors(crd, endpoint) == [], scenario


def _pool(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ssvm.cloudstack.io/v1alpha1",
        "kind": "SSVMPool",
        "metadata": {"name": "zone-1"},
        "spec": {"endpointRef": {"name": "region-1"}, "zone": "zone-1", **spec},
    }


def _settings(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ssvm.cloudstack.io/v1alpha1",
        "kind": "SSVMSettings",
        "metadata": {"name": "region-1"},
        "spec": {"endpointRef": {"name": "region-1"}, **spec},
    }


def _endpoint(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ssvm.cloudstack.io/v1alpha1",
        "kind": "CloudStackEndpoint",
        "metadata": {"name": "region-1"},
        "spec": {
            "url": "https://cloud.example.com/client/api",
            "credentialsSecretRef": {"name": "c"},
            **spec,
        },
    }


INVALID = [
    ("negative replicas", _pool(replicas=-1), "spec.replicas: -1 is less than the minimum of 0"),
    ("huge replicas", _pool(replicas=1000), "spec.replicas: 1000 is greater than the maximum of 16"),
    ("replicas as text", _pool(replicas="2"), "spec.replicas: '2' is not of type 'integer'"),
    ("empty zone", _pool(zone=""), "spec.zone: '' should be non-empty"),
    ("blank zone", _pool(zone="   "), "spec.zone: zone must name a CloudStack zone"),
    ("bad mode", _pool(mode="Turbo"), "spec.mode: 'Turbo' is not one of ['Enforce', 'Observe']"),
    (
        "bad remediation",
        _pool(health={"remediation": "Reinstall"}),
        "spec.health.remediation: 'Reinstall' is not one of",
    ),
    ("unknown field", _pool(bogus=True), "unknown field spec.bogus"),
    ("unknown nested field", _pool(health={"unhealthyAfter": 3}), "unknown field spec.health.unhealthyAfter"),
    (
        "missing zone",
        {**_pool(), "spec": {"endpointRef": {"name": "r"}}},
        "spec: 'zone' is a required property",
    ),
    (
        "malformed CIDR",
        _settings(allowedInternalSites=["10.0.0.0/abc"]),
        "spec.allowedInternalSites[0]: each site must be an IPv4 CIDR",
    ),
    (
        "everything CIDR",
        _settings(allowedInternalSites=["10.0.0.0/8", "0.0.0.0/0"]),
        "spec.allowedInternalSites[1]: 0.0.0.0/0 and other 0.0.0.0 sites would allow every site",
    ),
    (
        "octet out of range",
        _settings(allowedInternalSites=["10.256.0.0/16"]),
        "spec.allowedInternalSites[0]: each site must be an IPv4 CIDR",
    ),
    (
        "prefix out of range",
        _settings(allowedInternalSites=["10.0.0.0/33"]),
        "spec.allowedInternalSites[0]: each site must be an IPv4 CIDR",
    ),
    (
        "host bits set",
        _settings(allowedInternalSites=["10.1.2.3/16"]),
        "spec.allowedInternalSites[0]: a CIDR's host bits must be zero",
    ),
    (
        "site as a host name",
        _settings(allowedInternalSites=["templates.example.com"]),
        "spec.allowedInternalSites[0]: each site must be an IPv4 CIDR",
    ),
    (
        "replicas of the rollout",
        _settings(rollout={"maxUnavailable": 0}),
        "spec.rollout.maxUnavailable: 0 is less than the minimum of 1",
    ),
    (
        "no requests at all",
        _endpoint(requestsPerSecond=0),
        "spec.requestsPerSecond: 0 is less than or equal to the minimum of 0",
    ),
    (
        "huge job timeout",
        _endpoint(jobTimeoutSeconds=86401),
        "spec.jobTimeoutSeconds: 86401 is greater than the maximum of 86400",
    ),
    (
        "diagnostics too often",
        _pool(diagnostics={"intervalSeconds": 10}),
        "spec.diagnostics.intervalSeconds: 10 is less than the minimum of 60",
    ),
    (
        "negative budget",
        _pool(health={"maxUnavailable": -1}),
        "spec.health.maxUnavailable: -1 is less than the minimum of 0",
    ),
    (
        "secret setting without key",
        _settings(secretSettings={"secstorage.proxy": {"name": "proxy"}}),
        "spec.secretSettings.secstorage.proxy: 'key' is a required property",
    ),
    (
        "missing credentials",
        {**_endpoint(), "spec": {"url": "https://cloud.example.com/client/api"}},
        "spec: 'credentialsSecretRef' is a required property",
    ),
    (
        "bad settings mode",
        _settings(mode="Sometimes"),
        "spec.mode: 'Sometimes' is not one of ['Enforce', 'Observe']",
    ),
    ("empty setting name", _settings(settings={"": "x"}), "spec.settings: setting names must not be empty"),
    ("url scheme", _endpoint(url="ftp://cloud.example.com"), "spec.url: url must start with https://"),
    (
        "poll too fast",
        _endpoint(pollIntervalSeconds=0),
        "spec.pollIntervalSeconds: 0 is less than the minimum",
    ),
    ("wrong group", {**_pool(), "apiVersion": "ssvm.cloudstack.io/v1"}, "apiVersion 'ssvm.cloudstack.io/v1'"),
]


@pytest.mark.parametrize(("cr", "message"), [(c, m) for _, c, m in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_resources_are_refused_naming_the_field(cr: dict[str, Any], message: str) -> None:
    errors = cr_errors(crds_by_kind()[cr["kind"]], cr)
    assert any(message in error for error in errors), errors


VALID_SITES = [
    "10.0.0.0/8",
    "192.168.100.20",
    "192.168.100.20/32",
    "172.16.0.0/12",
    "0.0.0.1",
    "fd00::1",
    "::1",
]


def test_valid_sites_pass() -> None:
    assert cr_errors(crds_by_kind()["SSVMSettings"], _settings(allowedInternalSites=VALID_SITES)) == []


def test_the_site_rules_agree_with_the_operator() -> None:
    """The CRD refuses at admission what the operator would refuse later, and nothing else of these."""
    from ssvm_operator.model.settings import site_problem

    crd = crds_by_kind()["SSVMSettings"]
    candidates = [*VALID_SITES, "0.0.0.0", "0.0.0.0/0", "0.0.0.0/8", "::", "10.1.2.3/16", "10.0.0.0/abc", "x"]
    for site in candidates:
        refused_by_crd = bool(cr_errors(crd, _settings(allowedInternalSites=[site])))
        refused_by_operator = site_problem(site) is not None
        assert refused_by_crd == refused_by_operator, site


def test_defaults_are_applied_before_cel() -> None:
    from tests.chart.cr_validation import with_defaults

    pool = with_defaults(_pool(), version_schema(crds_by_kind()["SSVMPool"]))
    assert pool["spec"]["replicas"] == 1
    assert pool["spec"]["health"]["remediation"] == "Recreate"
