"""Run the CloudStack simulator from tests and demos, and steer it through its admin path.

    from cs import CloudStack
    from cloudstack_sim.testing import running_simulator

    with simulator_in_thread(scan_interval=0.2) as sim:          # a background thread, its own event loop
        api = CloudStack(endpoint=sim.api_url, key=sim.api_key, secret=sim.secret_key)
        vm = api.listSystemVms(systemvmtype="secondarystoragevm", fetch_list=True)[0]
        api.destroySystemVm(id=vm["id"])
        sim.admin.wait_for(lambda: len(sim.admin.ssvms(running=True)) == 2, timeout=10)

    with simulator_subprocess(scenario="examples/sim/unhealthy.yaml") as sim:
        ...                                                         # a child process, same interface

Public API:
    running_simulator(*, mode="thread", scenario=None, zones=None, scan_interval=None, api_key=...,
                      secret_key=..., seed=None, timings=None, scanner_paused=False,
                      integration_port=None, cloudstack_version=None,
                      start_timeout=20.0) -> ContextManager[SimulatorHandle]
    simulator_in_thread(**options), simulator_subprocess(**options): the same with the mode chosen
    SimulatorHandle: api_url, api_key, secret_key, admin_url, admin (AdminClient), banner (the lines the
                     CLI prints), client(**cs_options) -> cs.CloudStack, aio_client(**cs_options),
                     simulator and call(fn) (thread mode only), process (subprocess mode only)
    AdminClient: state(), ssvms(zone=None, running=False, state=None), vm(ref, state=None), scan(),
                 pause_scanner(), resume_scanner(), restart_management_server(names=None, downtime=0.0),
                 set_agent_state(vm, state, sticky=False), set_guest(vm, hung=None, ssh=None),
                 fail_vm(vm, state="Error"), set_image_store(store, **fields),
                 set_reachability(vm, target="*", reachable=False), set_zone_behaviour(zone, **fields),
                 inject_fault(command="*", kind="error", count=None, probability=1.0, status=None,
                 delay=None, message=None), faults(), clear_faults(), call_counts(), reset_call_counts(),
                 wait_for(predicate, timeout=10.0, interval=0.05)
VM and zone references are a uuid or a name. Admin methods raise AdminError on a non-2xx answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from cloudstack_sim import scenario as scenarios
from cloudstack_sim.config import DEFAULT_API_KEY, DEFAULT_SECRET_KEY, SimulatorConfig
from cloudstack_sim.server import Simulator

T = TypeVar("T")
Mode = Literal["thread", "subprocess"]
State = dict[str, Any]

_LISTENING = re.compile(r"^listening on (?P<url>\S+)$")


class AdminError(RuntimeError):
    """The admin path refused a request; the message carries its status and answer."""


class AdminClient:
    """A small synchronous client for `/_sim` (standard library only, usable from any thread)."""

    def __init__(self, admin_url: str, timeout: float = 30.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(dict(body)).encode() if body is not None else None
        request = urllib.request.Request(
            self.admin_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AdminError(
                f"{method} {path}: HTTP {error.code}: {error.read().decode(errors='replace')}"
            ) from None

    # inspection

    def state(self) -> State:
        """Zones, VMs (with role and boot record), settings (database value and value in force), jobs,
        faults, call counts, scanner status."""
        result: State = self._call("GET", "/state")
        return result

    def ssvms(
        self, zone: str | None = None, running: bool = False, state: State | None = None
    ) -> list[dict[str, Any]]:
        """Live SSVMs (zone by name or uuid); `running=True` keeps Running VMs with agent Up. Reads `state`
        when given, else fetches it."""
        state = state if state is not None else self.state()
        return [
            vm
            for vm in state["vms"]
            if vm["type"] == "SecondaryStorageVm"
            and (zone is None or zone in (vm["zone"], vm["zone_id"]))
            and (not running or (vm["state"] == "Running" and vm["agent_state"] == "Up"))
        ]

    def vm(self, ref: str, state: State | None = None) -> dict[str, Any] | None:
        """One live VM by uuid or name, or None once it is gone."""
        state = state if state is not None else self.state()
        return next((vm for vm in state["vms"] if ref in (vm["id"], vm["name"])), None)

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return result

    def call_counts(self) -> dict[str, int]:
        """API requests received per command name since the last reset (rejected ones included)."""
        result: dict[str, int] = self._call("GET", "/calls")["calls"]
        return result

    # control

    def scan(self) -> list[dict[str, Any]]:
        """Run one scan now (waits for any start it makes); returns what it did per zone."""
        result: list[dict[str, Any]] = self._call("POST", "/scan")["decisions"]
        return result

    def pause_scanner(self) -> None:
        self._call("POST", "/scanner/pause")

    def resume_scanner(self) -> None:
        self._call("POST", "/scanner/resume")

    def restart_management_server(
        self, names: list[str] | None = None, downtime: float = 0.0
    ) -> dict[str, Any]:
        """Fail the jobs the servers owned and make them read every setting again (lastserverstart moves)."""
        body: dict[str, Any] = {"downtime": downtime}
        if names:
            body["names"] = names
        result: dict[str, Any] = self._call("POST", "/management-server/restart", body)
        return result

    def upgrade(
        self,
        version: str,
        *,
        new_template: bool = True,
        ready_in: list[str] | None = None,
        downtime: float = 0.0,
    ) -> dict[str, Any]:
        """Upgrade every management server to `version`; a new system VM template is registered (ready in
        `ready_in`, default every zone) unless `new_template=False`. SSVMs keep their template and agent."""
        body: dict[str, Any] = {"version": version, "new_template": new_template, "downtime": downtime}
        if ready_in is not None:
            body["ready_in"] = ready_in
        result: dict[str, Any] = self._call("POST", "/upgrade", body)
        return result

    def set_template_ready(self, template: str, zones: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/templates/{template}/ready", {"zones": zones})
        return result

    def set_agent_state(self, vm: str, state: str, sticky: bool = False) -> dict[str, Any]:
        """Force the SSVM's agent state now (Up, Connecting, Alert or Disconnected: an SSVM agent never
        reaches Down in CloudStack); `sticky=True` keeps it across reboots and restarts."""
        result: dict[str, Any] = self._call("POST", f"/vms/{vm}/agent", {"state": state, "sticky": sticky})
        return result

    def set_guest(self, vm: str, *, hung: bool | None = None, ssh: bool | None = None) -> dict[str, Any]:
        """`hung`: the guest stops responding (agent Disconnected after the ping timeout, ACPI reboots
        ignored, runDiagnostics ends with exit code -1) until a stop; `ssh=False`: the host cannot reach the
        guest's SSH on its link-local address (runDiagnostics ends with exit code -1)."""
        body = {name: value for name, value in (("hung", hung), ("ssh", ssh)) if value is not None}
        result: dict[str, Any] = self._call("POST", f"/vms/{vm}/guest", body)
        return result

    def set_image_store(self, store: str, **fields: Any) -> dict[str, Any]:
        """total_gib, used_gib (what the store reports), readonly; `store` is a uuid or a name."""
        result: dict[str, Any] = self._call("POST", f"/image-stores/{store}", fields)
        return result

    def fail_vm(self, vm: str, state: str = "Error") -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/vms/{vm}/fail", {"state": state})
        return result

    def set_reachability(self, vm: str, target: str = "*", reachable: bool = False) -> dict[str, Any]:
        """Whether runDiagnostics from `vm` reaches `target` ("*": every target not set otherwise)."""
        result: dict[str, Any] = self._call(
            "POST", f"/vms/{vm}/reachability", {"target": target, "reachable": reachable}
        )
        return result

    def set_zone_behaviour(self, zone: str, **fields: Any) -> dict[str, Any]:
        """boot_fails, agent_connects_as (Connecting, Alert, Disconnected or None), agent_connects (False:
        agents never reach the management server), command_load, vm_capacity."""
        result: dict[str, Any] = self._call("POST", f"/zones/{zone}/behaviour", fields)
        return result

    def inject_fault(
        self,
        command: str = "*",
        kind: str = "error",
        count: int | None = None,
        probability: float = 1.0,
        status: int | None = None,
        delay: float | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """kind: error | gateway | timeout | slow | job_failure | job_stuck (see cloudstack_sim.faults)."""
        body = {
            "command": command,
            "kind": kind,
            "count": count,
            "probability": probability,
            "status": status,
            "delay": delay,
            "message": message,
        }
        result: dict[str, Any] = self._call("POST", "/faults", body)
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def reset_call_counts(self) -> None:
        self._call("DELETE", "/calls")

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
        """Poll `predicate()` until it returns something truthy, and return that; TimeoutError otherwise
        (with the VMs' states in the message)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                summary = [(vm["name"], vm["state"], vm["agent_state"]) for vm in self.state()["vms"]]
                raise TimeoutError(f"condition not met within {timeout}s; VMs: {summary}")
            time.sleep(interval)


@dataclass
class SimulatorHandle:
    api_url: str
    api_key: str
    secret_key: str
    admin_url: str
    admin: AdminClient
    banner: str = ""
    """What `cloudstack-sim` prints once it listens (URL, keys, admin URL), one item per line."""
    simulator: Simulator | None = None
    """The in-process simulator (thread mode only); touch it only through `call`."""
    process: subprocess.Popen[str] | None = None
    loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    def client(self, **options: Any) -> Any:
        """A `cs.CloudStack` for this simulator; `options` go to its constructor (method, timeout, ...)."""
        from cs import CloudStack

        return CloudStack(endpoint=self.api_url, key=self.api_key, secret=self.secret_key, **options)

    def aio_client(self, **options: Any) -> Any:
        """A `cs.AIOCloudStack` for this simulator (use it as an async context manager)."""
        from cs import AIOCloudStack

        return AIOCloudStack(endpoint=self.api_url, key=self.api_key, secret=self.secret_key, **options)

    def call(self, fn: Callable[[Simulator], T], timeout: float = 10.0) -> T:
        """Run `fn(simulator)` on the simulator's event loop (thread mode only)."""
        if self.simulator is None or self.loop is None:
            raise RuntimeError("call() needs a simulator running in a thread")
        simulator = self.simulator

        async def run() -> T:
            return fn(simulator)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)


def _scenario_document(scenario: str | Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if scenario is None:
        return None
    if isinstance(scenario, Mapping):
        return dict(scenario)
    return scenarios.load(scenario)


@contextlib.contextmanager
def running_simulator(
    *,
    mode: Mode = "thread",
    scenario: str | Path | Mapping[str, Any] | None = None,
    zones: int | None = None,
    scan_interval: float | None = None,
    api_key: str = DEFAULT_API_KEY,
    secret_key: str = DEFAULT_SECRET_KEY,
    seed: int | None = None,
    timings: Mapping[str, float] | None = None,
    scanner_paused: bool = False,
    integration_port: int | None = None,
    cloudstack_version: str | None = None,
    start_timeout: float = 20.0,
) -> Iterator[SimulatorHandle]:
    """A simulator on a free 127.0.0.1 port for the duration of the block.

    `cloudstack_version` ("4.15", "4.20.1", ...) makes it answer as that release (releases.py; the CLI's
    --cloudstack-version); None keeps the scenario's, else the newest release modelled.

    `scenario` is a YAML path or an already parsed mapping; `timings` overrides delays in seconds (boot,
    stop, agent_connect, reboot, expunge, migrate, diagnostics, first_scan), which otherwise follow the scan
    interval. `mode="subprocess"` isolates the simulator in a child process (`python -m cloudstack_sim`).
    """
    config = SimulatorConfig(
        host="127.0.0.1",
        port=0,
        api_key=api_key,
        secret_key=secret_key,
        scan_interval=scan_interval,
        zones=zones,
        seed=seed,
        timings=dict(timings or {}),
        scanner_enabled=not scanner_paused,
        cloudstack_version=cloudstack_version,
    )
    document = _scenario_document(scenario)
    if mode == "thread":
        with _in_thread(config, document, integration_port, start_timeout) as handle:
            yield handle
    elif mode == "subprocess":
        with _in_subprocess(config, document, integration_port, start_timeout) as handle:
            yield handle
    else:
        raise ValueError(f"mode must be 'thread' or 'subprocess', not {mode!r}")


@contextlib.contextmanager
def _in_thread(
    config: SimulatorConfig,
    document: dict[str, Any] | None,
    integration_port: int | None,
    start_timeout: float,
) -> Iterator[SimulatorHandle]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []
    box: list[Simulator] = []

    async def main() -> None:
        try:
            sim = Simulator(config, document, integration_port=integration_port)
            await sim.start()
        except BaseException as error:
            failure.append(error)
            started.set()
            raise
        box.append(sim)
        started.set()
        try:
            await sim.serve_forever()
        finally:
            await sim.stop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(Exception):
            loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, name="cloudstack-sim", daemon=True)
    thread.start()
    if not started.wait(start_timeout) or failure or not box:
        cause = failure[0] if failure else None
        raise RuntimeError(f"the simulator did not start: {cause or 'timeout'}") from cause
    sim = box[0]
    handle = SimulatorHandle(
        api_url=sim.api_url,
        api_key=config.api_key,
        secret_key=config.secret_key,
        admin_url=sim.admin_url,
        admin=AdminClient(sim.admin_url),
        banner="\n".join(sim.banner_lines()),
        simulator=sim,
        loop=loop,
    )
    try:
        yield handle
    finally:
        loop.call_soon_threadsafe(sim.closing.set)
        thread.join(15)


@contextlib.contextmanager
def _in_subprocess(
    config: SimulatorConfig,
    document: dict[str, Any] | None,
    integration_port: int | None,
    start_timeout: float,
) -> Iterator[SimulatorHandle]:
    with tempfile.TemporaryDirectory(prefix="cloudstack-sim-") as tmp:
        command = [
            sys.executable,
            "-m",
            "cloudstack_sim",
            "--host",
            config.host,
            "--port",
            "0",
            "--api-key",
            config.api_key,
            "--secret-key",
            config.secret_key,
            "--log-level",
            "WARNING",
        ]
        if document is not None:
            path = Path(tmp) / "scenario.yaml"
            path.write_text(yaml.safe_dump(document), encoding="utf-8")
            command += ["--scenario", str(path)]
        for option, value in (
            ("--zones", config.zones),
            ("--scan-interval", config.scan_interval),
            ("--seed", config.seed),
            ("--integration-port", integration_port),
            ("--cloudstack-version", config.cloudstack_version),
        ):
            if value is not None:
                command += [option, str(value)]
        for name, seconds in config.timings.items():
            if seconds is not None:
                command += [f"--{name.replace('_', '-')}-delay", str(seconds)]
        if not config.scanner_enabled:
            command.append("--paused")
        stderr_path = Path(tmp) / "stderr.log"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            lines = _wait_for_banner(process, start_timeout, stderr_path)
            url = next(m["url"] for m in map(_LISTENING.match, lines) if m)
            admin_url = url.removesuffix("/client/api") + "/_sim"
            yield SimulatorHandle(
                api_url=url,
                api_key=config.api_key,
                secret_key=config.secret_key,
                admin_url=admin_url,
                admin=AdminClient(admin_url),
                banner="\n".join(lines),
                process=process,
            )
        finally:
            _terminate(process)


def _wait_for_banner(process: subprocess.Popen[str], timeout: float, stderr_path: Path) -> list[str]:
    """The lines the CLI prints once it listens, up to and including the admin URL."""
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not done.is_set():
                lines.append(line.strip())
                if line.startswith("admin on "):
                    done.set()
        # Keeps draining stdout to its end so the child never blocks on a full pipe.

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(timeout):
        _terminate(process)
        raise RuntimeError(
            f"cloudstack-sim did not start:\n{stderr_path.read_text(errors='replace')[-3000:]}"
        )
    return list(lines)


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def simulator_in_thread(**options: Any) -> contextlib.AbstractContextManager[SimulatorHandle]:
    """`running_simulator(mode="thread", **options)`."""
    return running_simulator(mode="thread", **options)


def simulator_subprocess(**options: Any) -> contextlib.AbstractContextManager[SimulatorHandle]:
    """`running_simulator(mode="subprocess", **options)`."""
    return running_simulator(mode="subprocess", **options)
