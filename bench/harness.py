"""The real operator process (`ssvm-operator run`, kopf inside) against the Kubernetes emulator and the
CloudStack simulator, as the end-to-end tests run it, for measurements that need the whole system."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from kube_emulator.server import FakeApiserver
from kube_emulator.testing import EmulatedCluster, emulated_cluster

REPOSITORY = Path(__file__).resolve().parents[1]
API_VERSION = "ssvm.cloudstack.io/v1alpha1"
NAMESPACE = "default"
ENDPOINT = "region-1"
T = TypeVar("T")


class OperatorRun:
    """One operator child process; its pid is what /proc is read for."""

    def __init__(self, env: Mapping[str, str], log_path: Path, tick_seconds: float) -> None:
        self.env = {**env, "SSVM_OPERATOR_TICK_SECONDS": str(tick_seconds), "PYTHONUNBUFFERED": "1"}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ssvm_operator.cli", "run", "--log-level", "INFO"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak resident set) from /proc/<pid>/status, in KiB."""
        wanted = {"VmRSS", "VmHWM"}
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in wanted:
                found[key] = int(value.split()[0])
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the operator exited:\n{tail}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None


@dataclass
class System:
    cluster: EmulatedCluster
    cloudstack: SimulatorHandle
    operator: OperatorRun

    def create(self, *docs: Mapping[str, Any]) -> None:
        for doc in docs:
            self.cluster.call(functools.partial(_create, doc), timeout=30)

    def endpoint_ready(self) -> bool:
        def read(api: FakeApiserver) -> Mapping[str, Any]:
            return api.get_object(API_VERSION, "CloudStackEndpoint", ENDPOINT, NAMESPACE) or {}

        return condition(self.cluster.call(read), "Ready").get("status") == "True"

    def pools(self) -> list[dict[str, Any]]:
        found = self.cluster.call(
            lambda api: api.list_objects(API_VERSION, "SSVMPool", NAMESPACE), timeout=30
        )
        return [dict(body) for body in found]

    def ready_pools(self) -> int:
        return sum(1 for pool in self.pools() if condition(pool, "Ready").get("status") == "True")

    def wait(self, check: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
        deadline = time.monotonic() + timeout
        while True:
            self.operator.check_alive()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not reached within {timeout:.0f}s")
            time.sleep(interval)


def _create(body: Mapping[str, Any], api: FakeApiserver) -> Any:
    return api.create_object(body)


def condition(body: Mapping[str, Any], type_: str) -> dict[str, Any]:
    for found in (body.get("status") or {}).get("conditions") or ():
        if found.get("type") == type_:
            return dict(found)
    return {}


def endpoint_docs(sim: SimulatorHandle, poll_seconds: int) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{ENDPOINT}-keys", "namespace": NAMESPACE},
            "stringData": {"apiKey": sim.api_key, "secretKey": sim.secret_key},
        },
        {
            "apiVersion": API_VERSION,
            "kind": "CloudStackEndpoint",
            "metadata": {"name": ENDPOINT, "namespace": NAMESPACE},
            "spec": {
                "url": sim.api_url,
                "credentialsSecretRef": {"name": f"{ENDPOINT}-keys"},
                "pollIntervalSeconds": poll_seconds,
                "timeoutSeconds": 10,
                "jobTimeoutSeconds": 120,
                "requestsPerSecond": 200,
            },
        },
    ]


def pool_doc(zone: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMPool",
        "metadata": {"name": zone, "namespace": NAMESPACE},
        "spec": {"endpointRef": {"name": ENDPOINT}, "zone": zone, **spec},
    }


@contextlib.contextmanager
def running_system(
    *, zones: int, scan_interval: float, tick_seconds: float, poll_seconds: int
) -> Iterator[System]:
    """Simulator (own process), emulator (a thread here), operator (own process) and one endpoint."""
    with (
        tempfile.TemporaryDirectory(prefix="ssvm-bench-") as scratch,
        running_simulator(mode="subprocess", zones=zones, scan_interval=scan_interval) as cloudstack,
        emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=[NAMESPACE]) as cluster,
    ):
        cloudstack.admin.wait_for(lambda: len(cloudstack.admin.ssvms(running=True)) >= zones, timeout=120)
        operator = OperatorRun(cluster.env(), Path(scratch) / "operator.log", tick_seconds)
        system = System(cluster, cloudstack, operator)
        operator.start()
        try:
            system.create(*endpoint_docs(cloudstack, poll_seconds))
            system.wait(system.endpoint_ready, timeout=60, what="the endpoint Ready")
            yield system
        finally:
            operator.stop()
