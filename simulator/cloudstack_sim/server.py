"""One running simulator: the region, its scanner, the API and admin routes, and the HTTP listeners."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from aiohttp import web

from cloudstack_sim import scenario as scenarios
from cloudstack_sim.admin import add_admin_routes
from cloudstack_sim.api import API_PATH, ApiEndpoint
from cloudstack_sim.commands import Services
from cloudstack_sim.config import SimulatorConfig, Timings
from cloudstack_sim.faults import CallCounter, FaultBook
from cloudstack_sim.jobs import JobTable
from cloudstack_sim.lifecycle import Lifecycle
from cloudstack_sim.model import ManagementServer, Template, Zone
from cloudstack_sim.releases import Release, short
from cloudstack_sim.scanner import Scanner, scan_interval_seconds
from cloudstack_sim.signing import Credentials

log = logging.getLogger("cloudstack_sim")

ADMIN_PREFIX = "/_sim"


class Simulator:
    """Build with a config (and optionally a parsed scenario), then `await start()` inside an event loop."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        scenario: dict[str, Any] | None = None,
        integration_port: int | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.cloud = scenarios.build(
            scenario, self.config.zones, self.config.seed, self.config.cloudstack_version
        )
        if self.config.scan_interval is not None:
            millis = max(1, round(self.config.scan_interval * 1000))
            self.cloud.settings.set_global("secstorage.capacityscan.interval", str(millis))
            for ms in self.cloud.management_servers:
                if not ms.decommissioned:
                    self.cloud.start_management_server(ms)
        self.credentials = Credentials(self.config.api_key, self.config.secret_key)
        # Timings follow the scan interval the region starts with; later interval changes do not rescale them.
        self.timings = Timings.from_scan_interval(scan_interval_seconds(self.cloud), **self.config.timings)
        self.lifecycle = Lifecycle(self.cloud, self.timings)
        self.jobs = JobTable(self.cloud)
        self.services = Services(self.cloud, self.lifecycle, self.jobs)
        self.faults = FaultBook(random.Random(self.config.seed))
        self.calls = CallCounter()
        self.scanner = Scanner(
            self.cloud, self.lifecycle, random.Random(self.config.seed), self.timings.first_scan
        )
        self.scanner.paused = not self.config.scanner_enabled
        self.scanner.console_proxies.enabled = bool((scenario or {}).get("console_proxies", True))
        self.integration_port = integration_port
        self.closing = asyncio.Event()
        self._unavailable_until = 0.0
        self._runners: list[web.AppRunner] = []
        self.port = 0
        self.bound_integration_port: int | None = None

    # addresses

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PATH

    @property
    def admin_url(self) -> str:
        return self.base_url + ADMIN_PREFIX

    def banner_lines(self) -> list[str]:
        """What the CLI prints once it listens: machine-parsable, one item per line."""
        lines = [
            f"listening on {self.api_url}",
            f"api key: {self.config.api_key}",
            f"secret key: {self.config.secret_key}",
            f"admin on {self.admin_url}",
        ]
        if self.bound_integration_port is not None:
            lines.append(
                f"integration api on http://{self.config.host}:{self.bound_integration_port}/client/api"
            )
        return lines

    # lifecycle of the simulator itself

    def available(self) -> bool:
        return asyncio.get_running_loop().time() >= self._unavailable_until

    def make_app(self) -> web.Application:
        app = web.Application()
        endpoint = ApiEndpoint(
            self.services, self.credentials, self.faults, self.calls, self.closing, self.available
        )
        # ApiServlet is mapped to /api/* (client/WEB-INF/web.xml): /client/api/ and deeper paths answer too.
        for path in (API_PATH, API_PATH + "/{tail:.*}"):
            app.router.add_route("GET", path, endpoint.handle)
            app.router.add_route("POST", path, endpoint.handle)
        add_admin_routes(app, self, ADMIN_PREFIX)
        return app

    def _integration_app(self) -> web.Application:
        app = web.Application()
        endpoint = ApiEndpoint(self.services, None, self.faults, self.calls, self.closing, self.available)
        for path in (API_PATH, "/client/", "/"):
            app.router.add_route("GET", path, endpoint.handle)
            app.router.add_route("POST", path, endpoint.handle)
        return app

    async def start(self) -> None:
        self.port = await self._listen(self.make_app(), self.config.port)
        if self.integration_port is not None:
            self.bound_integration_port = await self._listen(self._integration_app(), self.integration_port)
        self.scanner.start()
        log.info("simulator.started url=%s zones=%d", self.api_url, len(self.cloud.zones))

    async def _listen(self, app: web.Application, port: int) -> int:
        # A short shutdown timeout: injected hangs are released through `closing` anyway.
        runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, port)
        await site.start()
        self._runners.append(runner)
        server = site._server  # aiohttp exposes the bound port only through the listening socket
        assert isinstance(server, asyncio.base_events.Server)
        return int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.closing.set()
        await self.scanner.stop()
        await self.jobs.close()
        await self.lifecycle.close()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    async def serve_forever(self) -> None:
        await self.closing.wait()

    # control

    async def upgrade(
        self,
        version: str,
        *,
        new_template: bool = True,
        ready_in: list[str] | None = None,
        hypervisor: str = "KVM",
        downtime: float = 0.0,
    ) -> Template | None:
        """The admin's upgrade of every management server to `version`: they stop, the release moves (new
        commands, fields and settings), and they start again; the upgrade registers the release's system VM
        template (SystemVmTemplateRegistration), downloaded in the zones of `ready_in` (every zone by default;
        `set_template_ready` downloads it later). Existing system VMs keep their template and agent version
        until they are patched or recreated."""
        release = Release.of(version)
        if release.version <= self.cloud.release.version:
            raise ValueError(f"{version} is not newer than {self.cloud.version}")
        zones = (
            [self._zone(ref) for ref in ready_in] if ready_in is not None else list(self.cloud.zones.values())
        )

        def moved() -> None:
            self.cloud.release = release
            self.cloud.version = release.name
            for ms in self.cloud.management_servers:
                ms.version = release.name

        await self.restart_management_servers(None, downtime, before_start=moved)
        if not new_template:
            return None
        template = Template(
            uuid=self.cloud.new_uuid(),
            internal_id=self.cloud.next_id("vm_template"),
            name=f"systemvm-{hypervisor.lower()}-{short(release.version)}",
            created=self.cloud.now(),
            hypervisor=hypervisor,
        )
        template.ready_in_zones.update(z.uuid for z in zones)
        self.cloud.templates[template.uuid] = template
        log.info("cloudstack.upgraded version=%s template=%s", release.name, template.name)
        return template

    def set_template_ready(self, template_ref: str, zones: list[str]) -> Template:
        """The template finishes downloading in these zones (by name or uuid)."""
        template = self.cloud.templates.get(template_ref) or next(
            (t for t in self.cloud.templates.values() if t.name == template_ref), None
        )
        if template is None:
            raise LookupError(f"no template {template_ref}")
        template.ready_in_zones.update(self._zone(ref).uuid for ref in zones)
        return template

    def _zone(self, ref: str) -> Zone:
        zone = self.cloud.find_zone(ref)
        if zone is None:
            raise LookupError(f"no zone {ref}")
        return zone

    async def restart_management_servers(
        self,
        names: list[str] | None = None,
        downtime: float = 0.0,
        before_start: Callable[[], None] | None = None,
    ) -> list[ManagementServer]:
        """Stop and start management servers: they fail the jobs they owned and read every setting again."""
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ValueError("names must be a list of management server names or ids")
        servers = [
            ms
            for ms in self.cloud.management_servers
            if not ms.decommissioned and (not names or ms.name in names or ms.uuid in names)
        ]
        if not servers:
            raise LookupError(f"no management server named {names}")
        now = self.cloud.now()
        for ms in servers:
            ms.state = "Down"
            ms.last_server_stop = now
        held = self.lifecycle.management_servers_down({ms.uuid for ms in servers})
        loop = asyncio.get_running_loop()
        if downtime > 0:
            self._unavailable_until = loop.time() + downtime
            await asyncio.sleep(downtime)
        # Responses show whole seconds. Starting on a second boundary makes the rendered lastserverstart later
        # than every answer given before the restart and not later than any answer given after it, so a
        # caller comparing it with the time of a setting change gets the right answer both ways.
        await asyncio.sleep(1.0 - self.cloud.now().timestamp() % 1.0)
        self.jobs.fail_pending({ms.uuid for ms in servers})
        if before_start is not None:
            before_start()
        for ms in servers:
            self.cloud.start_management_server(ms)
        # The agents reconnect to the restarted server and get its connect-time settings.
        self.lifecycle.reconnect(held, servers[0])
        self.scanner.restart_schedule()
        log.info("management_server.restarted servers=%s", [ms.name for ms in servers])
        return servers
