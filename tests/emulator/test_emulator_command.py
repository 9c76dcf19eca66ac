"""The `kube-emulator` command and the subprocess variant of the testing helpers."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys

import pytest
import yaml

from kube_emulator.testing import emulated_cluster_process

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("kubectl_available")]


def test_cli_serves_writes_a_kubeconfig_and_stops_on_sigterm(
    tmp_path: pathlib.Path, widgets_crd: pathlib.Path
) -> None:
    kubeconfig_path = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kube_emulator",
            "--port",
            "0",
            "--crds",
            str(widgets_crd.parent),
            "--namespace",
            "default",
            "--namespace",
            "ssvm",
            "--kubeconfig",
            str(kubeconfig_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("listening on http://127.0.0.1:")
        config = yaml.safe_load(kubeconfig_path.read_text())
        assert config["clusters"][0]["cluster"]["server"] == first.split("listening on ", 1)[1].strip()
        assert config["contexts"][0]["context"]["namespace"] == "default"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


def test_subprocess_variant(widgets_crd: pathlib.Path) -> None:
    with emulated_cluster_process(crds=[widgets_crd], namespaces=["default", "ssvm"]) as emulator:
        namespaces = emulator.kubectl("get", "ns", "-o", "name", check=True).stdout.split()
        assert "namespace/ssvm" in namespaces
        emulator.inject_fault("list", "widgets", status=503)
        failed = emulator.kubectl("get", "wd", "-n", "ssvm")
        assert failed.returncode != 0 and "injected fault" in failed.stderr
        assert emulator.kubectl("get", "wd", "-n", "ssvm").returncode == 0
        calls = [(call.verb, call.resource, call.status) for call in emulator.request_log() if call.resource]
        assert ("list", "widgets", 503) in calls and ("list", "widgets", 200) in calls
        emulator.clear_request_log()
        assert emulator.request_log() == []
    assert emulator.process.returncode == 0


def test_cli_refuses_an_invalid_crd_clearly(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.y}\n"
        "spec: {group: y, scope: Namespaceded, names: {plural: x, kind: X}, versions: []}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "kube_emulator", "--crds", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert (
        'spec.scope: Unsupported value: "Namespaceded"' in result.stderr and "Traceback" not in result.stderr
    )
