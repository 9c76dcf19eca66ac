"""Run the emulator from tests and demos: in a background thread, or in a subprocess.

    from kube_emulator.testing import emulated_cluster

    with emulated_cluster(crds=["crds/"], namespaces=["ssvm"]) as cluster:
        cluster.kubectl("apply", "-f", "examples/pools.yaml", check=True)
        print(cluster.kubectl("get", "ssvmpools", "-A").stdout)
        assert cluster.apiserver.request_log.permissions(user_agent_prefix="kopf")

Pointing kopf at the emulator (the `$KUBECONFIG` gotcha of README.md §1): kopf's default login goes
through the `kubernetes` client, whose `kubernetes.config` freezes `$KUBECONFIG` at *import* time, while the
emulator's port — hence its kubeconfig — is only known once it runs. Two ways work:

* Recommended: register one login handler that reads the kubeconfig at login time, and set `KUBECONFIG`
  per test (e.g. `monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_path))`)::

      @kopf.on.login()
      def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
          return kopf.login_with_kubeconfig(**kwargs)

  Any explicit login handler disables kopf's fallback ones, so the frozen default is never consulted,
  and the same operator code still logs in to a real cluster. `cluster.connection_info()` returns the
  equivalent `kopf.ConnectionInfo` for a handler that should not depend on the environment.
* Or write the kubeconfig to a path fixed before anything imports `kubernetes` (set
  `os.environ["KUBECONFIG"]` at the top of `conftest.py` and pass that path as `kubeconfig_path=`).
  This is the way for code that uses the `kubernetes` client itself; such code may also call
  `kubernetes.config.load_kube_config(config_file=cluster.kubeconfig_path)` explicitly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import kmock

from kube_emulator import kubeconfig
from kube_emulator.faults import Fault
from kube_emulator.requestlog import ApiCall, RequestLog
from kube_emulator.server import EmulatorSettings, FakeApiserver

if TYPE_CHECKING:
    import kopf

T = TypeVar("T")

_REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0


def find_kubectl() -> pathlib.Path:
    """`$KUBECTL`, else the project's pinned `.tools/bin/kubectl` (`make tools`), else `kubectl` on PATH."""
    candidates = [
        os.environ.get("KUBECTL"),
        str(_REPOSITORY / ".tools" / "bin" / "kubectl"),
        shutil.which("kubectl"),
    ]
    for candidate in candidates:
        if candidate and pathlib.Path(candidate).is_file():
            return pathlib.Path(candidate)
    raise FileNotFoundError("kubectl not found: run `make tools` or set $KUBECTL")


def _run_kubectl(
    kubectl: pathlib.Path,
    env: dict[str, str],
    args: Sequence[str],
    input: str | None,
    check: bool,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(kubectl), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed with {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def _kubectl_env(kubeconfig_path: pathlib.Path, cache_dir: pathlib.Path) -> dict[str, str]:
    # A private discovery cache: kubectl would otherwise reuse ~/.kube/cache from another emulator.
    return {**os.environ, "KUBECONFIG": str(kubeconfig_path), "KUBECACHEDIR": str(cache_dir)}


@dataclass(frozen=True)
class ApiReply:
    """The answer to `EmulatedCluster.request`: status, decoded JSON body, headers."""

    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def warnings(self) -> list[str]:
        return [value for key, value in self.headers.items() if key.lower() == "warning"]


def _request(url: str, method: str, body: Any, content_type: str, accept: str) -> ApiReply:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": content_type, "Accept": accept}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, headers = error.read(), error.code, dict(error.headers)
    return ApiReply(status, json.loads(raw) if raw else None, headers)


@dataclass
class EmulatedCluster:
    """A running in-process emulator (see `emulated_cluster`)."""

    url: str
    kubeconfig_path: pathlib.Path
    apiserver: FakeApiserver
    loop: asyncio.AbstractEventLoop
    cache_dir: pathlib.Path
    kubectl_path: pathlib.Path | None = None

    @property
    def request_log(self) -> RequestLog:
        return self.apiserver.request_log

    def env(self) -> dict[str, str]:
        """Environment for subprocesses (kubectl, helm, an operator) that should talk to this cluster."""
        return _kubectl_env(self.kubeconfig_path, self.cache_dir)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster; `check=True` raises with its output on failure."""
        kubectl = self.kubectl_path or find_kubectl()
        return _run_kubectl(kubectl, self.env(), args, input, check, timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> ApiReply:
        """One raw API request (a non-bytes body is sent as JSON); errors are returned, not raised."""
        return _request(self.url + path, method, body, content_type, accept)

    def call(self, fn: Callable[[FakeApiserver], T], timeout: float = 10.0) -> T:
        """Run `fn(apiserver)` on the emulator's event loop (safe access to objects from a test thread).

        Called from the loop itself (e.g. nested in a `wait_for` predicate), it runs `fn` directly.
        """
        if self._on_loop():
            return fn(self.apiserver)

        async def run() -> T:
            return fn(self.apiserver)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def wait_for(
        self, predicate: Callable[[FakeApiserver], T], timeout: float = 10.0, interval: float = 0.05
    ) -> T:
        """Poll `predicate(apiserver)` on the loop until it returns something truthy; raise on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.call(predicate)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s: {predicate!r}")
            time.sleep(interval)

    def inject_fault(self, verb: str | None = None, resource: str | None = None, **kwargs: Any) -> Fault:
        return self.apiserver.inject_fault(verb, resource, **kwargs)

    def connection_info(self) -> kopf.ConnectionInfo:
        """A `kopf.ConnectionInfo` for this cluster (for a `@kopf.on.login` handler)."""
        import kopf  # only tests of operators need kopf

        return kopf.ConnectionInfo(server=self.url, token=kubeconfig.DUMMY_TOKEN, default_namespace="default")


@contextlib.contextmanager
def emulated_cluster(
    *,
    crds: Iterable[str | os.PathLike[str]] = (),
    namespaces: Iterable[str] = ("default",),
    settings: EmulatorSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    kubeconfig_path: str | os.PathLike[str] | None = None,
    kubectl: str | os.PathLike[str] | None = None,
) -> Iterator[EmulatedCluster]:
    """Serve a `FakeApiserver` on `host:port` (0: a free port) from a thread with its own event loop.

    The kubeconfig is written to `kubeconfig_path` or to a temporary directory removed at exit.
    With explicit `settings`, its namespaces are used and `crds` are loaded in addition to its crd_paths.
    """
    if settings is None:
        effective = EmulatorSettings(namespaces=tuple(namespaces), crd_paths=tuple(map(str, crds)))
    else:
        effective = dataclasses.replace(settings, crd_paths=(*settings.crd_paths, *map(str, crds)))
    with tempfile.TemporaryDirectory(prefix="kube-emulator-") as scratch:
        workdir = pathlib.Path(scratch)
        config_path = pathlib.Path(kubeconfig_path) if kubeconfig_path else workdir / "kubeconfig"
        ready: concurrent.futures.Future[tuple[FakeApiserver, asyncio.AbstractEventLoop, int]] = (
            concurrent.futures.Future()
        )
        stop: list[asyncio.Event] = []

        async def main() -> None:
            try:
                api = FakeApiserver(settings=effective)
                stop.append(asyncio.Event())
                async with api, kmock.Server(api, host=host, port=port or None) as server:
                    ready.set_result((api, asyncio.get_running_loop(), server.port))
                    await stop[0].wait()
                    api.close_watches()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        thread = threading.Thread(target=asyncio.run, args=(main(),), name="kube-emulator", daemon=True)
        thread.start()
        api, loop, bound_port = ready.result(timeout=START_TIMEOUT)
        url = f"http://{host}:{bound_port}"
        kubeconfig.write(config_path, url, effective.namespaces[0] if effective.namespaces else "default")
        cluster = EmulatedCluster(
            url=url,
            kubeconfig_path=config_path,
            apiserver=api,
            loop=loop,
            cache_dir=workdir / "kube-cache",
            kubectl_path=pathlib.Path(kubectl) if kubectl else None,
        )
        try:
            yield cluster
        finally:
            loop.call_soon_threadsafe(stop[0].set)
            thread.join(timeout=30)


# ---- the subprocess variant ----------------------------------------------------------------------------


@dataclass
class EmulatorProcess:
    """A `kube-emulator` subprocess (see `emulated_cluster_process`); state is reached over HTTP."""

    url: str
    kubeconfig_path: pathlib.Path
    process: subprocess.Popen[str]
    cache_dir: pathlib.Path
    kubectl_path: pathlib.Path | None = None
    output: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return _kubectl_env(self.kubeconfig_path, self.cache_dir)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return _run_kubectl(self.kubectl_path or find_kubectl(), self.env(), args, input, check, timeout)

    def _admin(self, method: str, what: str, payload: Any | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{what}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def request_log(self) -> list[ApiCall]:
        return [ApiCall(**entry) for entry in self._admin("GET", "requests")]

    def clear_request_log(self) -> None:
        self._admin("DELETE", "requests")

    def inject_fault(self, verb: str | None = None, resource: str | None = None, **kwargs: Any) -> int:
        return int(self._admin("POST", "faults", {"verb": verb, "resource": resource, **kwargs})["id"])

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")


@contextlib.contextmanager
def emulated_cluster_process(
    *,
    crds: Iterable[str | os.PathLike[str]] = (),
    namespaces: Iterable[str] = ("default",),
    kubeconfig_path: str | os.PathLike[str] | None = None,
    extra_args: Sequence[str] = (),
    kubectl: str | os.PathLike[str] | None = None,
) -> Iterator[EmulatorProcess]:
    """Run `python -m kube_emulator` on a free port; stopped with SIGTERM at exit."""
    with tempfile.TemporaryDirectory(prefix="kube-emulator-") as scratch:
        workdir = pathlib.Path(scratch)
        config_path = pathlib.Path(kubeconfig_path) if kubeconfig_path else workdir / "kubeconfig"
        command = [sys.executable, "-m", "kube_emulator", "--port", "0", "--kubeconfig", str(config_path)]
        for path in crds:
            command += ["--crds", str(path)]
        for namespace in namespaces:
            command += ["--namespace", namespace]
        command += list(extra_args)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            url, output = _await_listening(process)
            yield EmulatorProcess(
                url=url,
                kubeconfig_path=config_path,
                process=process,
                output=output,
                cache_dir=workdir / "kube-cache",
                kubectl_path=pathlib.Path(kubectl) if kubectl else None,
            )
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _await_listening(process: subprocess.Popen[str]) -> tuple[str, list[str]]:
    assert process.stdout is not None
    output: list[str] = []
    result: concurrent.futures.Future[str] = concurrent.futures.Future()

    def pump() -> None:  # keep draining the output so that the child never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.startswith("listening on ") and not result.done():
                result.set_result(line.split("listening on ", 1)[1].strip())
        if not result.done():
            result.set_exception(RuntimeError("kube-emulator exited before listening:\n" + "".join(output)))

    threading.Thread(target=pump, name="kube-emulator-output", daemon=True).start()
    return result.result(timeout=START_TIMEOUT), output
