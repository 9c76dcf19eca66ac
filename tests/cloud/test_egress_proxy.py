"""The CloudStack client goes through the egress proxy the environment names (HTTP_PROXY/HTTPS_PROXY), and
around it for the hosts NO_PROXY lists, as in segmented data centres. The proxy is a real one (proxy.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.errors import CloudError
from tests.e2e.cluster_helpers import eventually

PROXY_COMMAND = (
    sys.executable,
    "-m",
    "proxy",
    "--hostname",
    "127.0.0.1",
    "--num-workers",
    "1",
    "--num-acceptors",
    "1",
)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(zones=1) as sim:
        yield sim


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """proxy.py on a free port; yields its URL and its access log."""
    port = free_port()
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*PROXY_COMMAND, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        eventually(lambda: answers(port), timeout=30, what="proxy.py listening")
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture(autouse=True)
def no_proxy_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


async def list_zones(cloudstack: SimulatorHandle) -> list[str]:
    settings = ConnectionSettings(cloudstack.api_url, timeout_seconds=5, requests_per_second=100)
    async with CloudClient(settings, Credentials(cloudstack.api_key, cloudstack.secret_key)) as client:
        return [zone["name"] for zone in await client.list("listZones")]


def requests_seen(log: Path, cloudstack: SimulatorHandle) -> int:
    target = urlsplit(cloudstack.api_url).netloc
    return sum(1 for line in log.read_text(errors="replace").splitlines() if f"POST {target}" in line)


async def test_requests_go_through_the_proxy_the_environment_names(
    cloudstack: SimulatorHandle, proxy: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, log = proxy
    before = requests_seen(log, cloudstack)
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("HTTPS_PROXY", url)
    assert await list_zones(cloudstack) == ["zone-1"]
    eventually(lambda: requests_seen(log, cloudstack) > before, timeout=10, what="the proxy's access log")


async def test_a_proxy_that_does_not_answer_is_a_network_error(
    cloudstack: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(CloudError) as raised:
        await list_zones(cloudstack)
    assert raised.value.retryable


async def test_no_proxy_hosts_are_reached_directly(
    cloudstack: SimulatorHandle, proxy: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, log = proxy
    before = requests_seen(log, cloudstack)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # would fail if used
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert await list_zones(cloudstack) == ["zone-1"]
    assert requests_seen(log, cloudstack) == before
