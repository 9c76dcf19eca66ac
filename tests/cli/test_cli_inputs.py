"""`ssvm-operator` as a new user and a CI script meet it: help, manifests from files, directories and stdin,
the endpoint and settings read from the same manifests, JSON/YAML output, and every bad input told in one
line on stderr with exit code 2. `diagnose` follows the kubeconfig's context and namespace as kubectl does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from kube_emulator.testing import emulated_cluster
from tests.e2e.cluster_helpers import apply, pool_doc

REPOSITORY = Path(__file__).resolve().parents[2]
API = "ssvm.cloudstack.io/v1alpha1"


@pytest.fixture(scope="module")
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(scan_interval=0.5) as sim:
        yield sim


def cli(
    *args: str,
    sim: SimulatorHandle | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    if sim is not None:
        environment |= {"CLOUDSTACK_API_KEY": sim.api_key, "CLOUDSTACK_SECRET_KEY": sim.secret_key}
    return subprocess.run(
        [sys.executable, "-m", "ssvm_operator.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def manifests(sim: SimulatorHandle) -> list[dict[str, Any]]:
    """An endpoint pointing at the simulator, a pool and settings, as a repository would hold them."""
    return [
        {
            "apiVersion": API,
            "kind": "CloudStackEndpoint",
            "metadata": {"name": "region-1"},
            "spec": {"url": sim.api_url},
        },
        {
            "apiVersion": API,
            "kind": "SSVMPool",
            "metadata": {"name": "zone-1"},
            "spec": {"endpointRef": {"name": "region-1"}, "zone": "zone-1"},
        },
        {
            "apiVersion": API,
            "kind": "SSVMSettings",
            "metadata": {"name": "region-1"},
            "spec": {"endpointRef": {"name": "region-1"}, "allowedInternalSites": ["10.10.0.0/16"]},
        },
    ]


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_help_is_written_for_users_with_commands_keys_and_exit_codes() -> None:
    shown = cli("--help")
    assert shown.returncode == 0
    for expected in ("Secondary Storage VMs", "plan", "diagnose", "CLOUDSTACK_API_KEY", "Exit codes"):
        assert expected in shown.stdout
    plan_help = cli("plan", "--help").stdout
    assert "-o {text,json,yaml}" in plan_help and "-R" in plan_help and "exit codes" in plan_help


def test_the_endpoint_and_the_settings_come_from_the_same_manifests(cloudstack: SimulatorHandle) -> None:
    result = cli(
        "plan", "-f", "-", "-o", "json", sim=cloudstack, stdin=yaml.safe_dump_all(manifests(cloudstack))
    )
    assert result.returncode == 0, result.stderr
    plans = json.loads(result.stdout)
    [pool] = plans["pools"]
    assert (pool["name"], pool["zone"], pool["ready"], pool["stalled"]) == ("zone-1", "zone-1", 1, False)
    [settings] = plans["settings"]
    [change] = settings["changes"]
    assert change["setting"] == "secstorage.allowed.internal.sites" and change["to"] == "10.10.0.0/16"
    assert change["rollout"] == "Reconnect", "the restart alone delivers the sites to every SSVM"
    assert plans["stalled"] is False


def test_directories_recursion_and_yaml_output(cloudstack: SimulatorHandle, tmp_path: Path) -> None:
    endpoint, pool, _ = manifests(cloudstack)
    (tmp_path / "endpoint.yaml").write_text(yaml.safe_dump(endpoint))
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "zone-1.yml").write_text(yaml.safe_dump(pool))
    (tmp_path / "README.md").write_text("not a manifest")
    flat = cli("plan", "-f", str(tmp_path), sim=cloudstack)
    assert "no SSVMPool or SSVMSettings" in one_line_error(flat), "without -R the subdirectory is not read"
    deep = cli("plan", "-f", str(tmp_path), "-R", "-o", "yaml", sim=cloudstack)
    assert deep.returncode == 0, deep.stderr
    assert [p["name"] for p in yaml.safe_load(deep.stdout)["pools"]] == ["zone-1"]


def test_the_repository_examples_directory_plans(cloudstack: SimulatorHandle) -> None:
    result = cli("plan", "-f", str(REPOSITORY / "examples"), "--endpoint", cloudstack.api_url, sim=cloudstack)
    assert result.returncode == 0, result.stderr
    assert "SSVMPool zone-1 (zone zone-1): 1/1 ready" in result.stdout
    assert "SSVMSettings region-1 (endpoint region-1)" in result.stdout
    assert "set secstorage.allowed.internal.sites" in result.stdout


def test_invalid_settings_fail_the_check(cloudstack: SimulatorHandle) -> None:
    endpoint, _, settings = manifests(cloudstack)
    settings["spec"] = {"endpointRef": {"name": "region-1"}, "settings": {"secstorage.no.such.key": "1"}}
    result = cli("plan", "-f", "-", sim=cloudstack, stdin=yaml.safe_dump_all([endpoint, settings]))
    assert result.returncode == 1, result.stderr
    assert "Stalled: spec.settings.secstorage.no.such.key" in result.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("plan", "-f", "missing.yaml"), None, "missing.yaml: no such file or directory"),
        (("plan", "-f", "-"), "kind: [unclosed", "not valid YAML (line 1)"),
        (("plan", "-f", "-"), "kind: ConfigMap\n", "no SSVMPool or SSVMSettings"),
        (
            ("plan", "-f", "-"),
            "kind: SSVMPool\nmetadata: {name: p}\nspec: {endpointRef: {name: nowhere}, zone: z}\n",
            "CloudStackEndpoint nowhere is not in the given manifests",
        ),
        (
            ("plan", "-f", "-"),
            "kind: SSVMPool\nmetadata: {name: b}\nspec: {endpointRef: {name: r}, zone: z, replicas: -3}\n",
            "<stdin>: SSVMPool b: spec.replicas",
        ),
        (("plan", "-f", "x.yaml", "-o", "xml"), None, "invalid choice: 'xml'"),
        (("plan",), None, "the following arguments are required: -f"),
        (("frobnicate",), None, "invalid choice: 'frobnicate'"),
        (("run", "--log-level", "loud"), None, "invalid choice: 'LOUD'"),
        (("diagnose",), None, "name a pool, or give --endpoint and --zone"),
    ],
)
def test_every_bad_input_is_one_line_and_exit_2(
    cloudstack: SimulatorHandle, tmp_path: Path, args: tuple[str, ...], stdin: str | None, says: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ssvm_operator.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "CLOUDSTACK_API_KEY": cloudstack.api_key,
            "CLOUDSTACK_SECRET_KEY": cloudstack.secret_key,
        },
        timeout=60,
        check=False,
    )
    assert says in one_line_error(result)


def test_missing_keys_are_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSTACK_")}
    result = subprocess.run(
        [sys.executable, "-m", "ssvm_operator.cli", "plan", "-f", str(REPOSITORY / "examples")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert "CLOUDSTACK_API_KEY" in one_line_error(result)


def test_diagnose_follows_the_kubeconfig_context_and_its_namespace(tmp_path: Path) -> None:
    if shutil.which("kubectl") is None and not (REPOSITORY / ".tools" / "bin" / "kubectl").is_file():
        pytest.skip("kubectl not found: run `make tools`")
    with emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=["default", "team-a"]) as cluster:
        apply(
            cluster, {**pool_doc("zone-1", "zone-1"), "metadata": {"name": "zone-1", "namespace": "team-a"}}
        )
        config = yaml.safe_load(Path(cluster.kubeconfig_path).read_text())
        [current] = config["contexts"]
        team = {"name": "team-a", "context": {**current["context"], "namespace": "team-a"}}
        config["contexts"].append(team)
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(config))
        env = {"KUBECONFIG": str(kubeconfig)}

        in_default = cli("diagnose", "zone-1", env=env)
        assert "SSVMPool default/zone-1 does not exist" in one_line_error(in_default)
        in_team = cli("diagnose", "zone-1", "--context", "team-a", env=env)
        assert in_team.returncode in (0, 1) and "does not exist" not in in_team.stderr, in_team.stderr
        explicit = cli("diagnose", "zone-1", "-n", "team-a", env=env)
        assert explicit.returncode in (0, 1), explicit.stderr
        config["current-context"] = "team-a"
        kubeconfig.write_text(yaml.safe_dump(config))
        current_namespace = cli("diagnose", "zone-1", env=env)
        assert current_namespace.returncode in (0, 1), current_namespace.stderr
        unknown = cli("diagnose", "zone-1", "--context", "nope", env=env)
        assert "context 'nope' is not in the kubeconfig" in one_line_error(unknown)
