"""The real operator (kopf inside) managing a zone of the CloudStack simulator through the Kubernetes
emulator, with `--metrics-port`: what Prometheus, `kubectl describe` and a log pipeline see of it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from kube_emulator.testing import EmulatedCluster, emulated_cluster
from tests.e2e.cluster_helpers import apply, endpoint_docs
from tests.support.network import free_port
from tests.support.paths import REPOSITORY

__all__ = ["Scene", "free_port", "operator_scene"]

SCAN_SECONDS = 0.5
TICK_SECONDS = 0.3


@dataclass
class Scene:
    cluster: EmulatedCluster
    cloudstack: SimulatorHandle
    metrics_port: int
    log_path: Path

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            return str(response.read().decode())

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


@contextlib.contextmanager
def operator_scene(
    log_path: Path, *objects: dict[str, Any], log_level: str = "INFO", extra_args: Sequence[str] = ()
) -> Iterator[Scene]:
    """The endpoint `region-1` and `objects` applied, the operator running until the block ends."""
    port = free_port()
    with (
        simulator_in_thread(scan_interval=SCAN_SECONDS) as cloudstack,
        emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=["default"]) as cluster,
        log_path.open("ab") as log,
    ):
        env = {
            **cluster.env(),
            "SSVM_OPERATOR_TICK_SECONDS": str(TICK_SECONDS),
            "PYTHONUNBUFFERED": "1",
            "POD_ID": "ssvm-operator-7d9f-abcde",
        }
        command = [sys.executable, "-m", "ssvm_operator.cli", "run", "--log-level", log_level]
        command += ["--metrics-port", str(port), "--metrics-address", "127.0.0.1", *extra_args]
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            apply(cluster, *endpoint_docs(cloudstack.api_url, cloudstack.api_key, cloudstack.secret_key))
            if objects:
                apply(cluster, *objects)
            yield Scene(cluster, cloudstack, port, log_path)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
