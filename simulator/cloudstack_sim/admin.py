"""`/_sim/...`: inspect and steer the simulator. JSON in and out, no signature, loopback callers only.

    GET    /_sim/health                      {"ok": true}
    GET    /_sim/state                       everything below in one document
    POST   /_sim/scan                        run one scan now; returns its decisions
    POST   /_sim/scanner/pause | resume
    POST   /_sim/management-server/restart   {"names": [...], "downtime": seconds}
    POST   /_sim/vms/{vm}/agent              {"state": Up | Connecting | Alert | Disconnected, "sticky": bool}
    POST   /_sim/vms/{vm}/fail               {"state": "Error" | "Unknown" | "Stopped"}
    POST   /_sim/vms/{vm}/guest              {"hung": bool, "ssh": bool}
    POST   /_sim/vms/{vm}/reachability       {"target": "8.8.8.8" | "*" | "link-local", "reachable": false}
                                             (link-local: whether the host reaches the guest at all)
    POST   /_sim/zones/{zone}/behaviour      {"boot_fails", "agent_connects_as", "agent_connects",
                                              "command_load", "vm_capacity"}
    POST   /_sim/image-stores/{store}        {"total_gib", "used_gib", "readonly"}
    POST   /_sim/upgrade                     {"version", "new_template": bool, "ready_in": [zones],
                                              "hypervisor", "downtime"}
    POST   /_sim/templates/{template}/ready  {"zones": [...]}
    GET    /_sim/faults  POST /_sim/faults  DELETE /_sim/faults
    GET    /_sim/calls   DELETE /_sim/calls
`{vm}` and `{zone}` are a uuid or a name.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from cloudstack_sim.clock import cs_date
from cloudstack_sim.lifecycle import OperationFailed
from cloudstack_sim.model import AgentState, ImageStore, SystemVm, Template, VmState, Zone
from cloudstack_sim.scenario import connect_outcome, set_store_usage

if TYPE_CHECKING:
    from cloudstack_sim.server import Simulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_LOOPBACK = ("127.0.0.1", "::1")


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, default=str))


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError as error:
        raise web.HTTPBadRequest(text=f"body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise web.HTTPBadRequest(text=f"{name} must be true or false, not {value!r}")
    return value


def _count(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number of at least 0, not {value!r}")
    return value


def _date(value: Any) -> str | None:
    return cs_date(value) if value is not None else None


class AdminApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    # views

    def vm_state(self, vm: SystemVm) -> dict[str, Any]:
        cloud = self.sim.cloud
        offering = cloud.offerings.get(vm.offering_uuid)
        boot = vm.boot
        pending = self.sim.jobs.pending_for(vm.uuid)
        host = cloud.hosts.get(vm.host_uuid) if vm.host_uuid else None
        return {
            "id": vm.uuid,
            "name": vm.name,
            "type": vm.type.value,
            "zone": cloud.zones[vm.zone_uuid].name,
            "zone_id": vm.zone_uuid,
            "role": vm.role.value,
            "state": vm.state.value,
            "agent_state": vm.agent.state.value if vm.agent else None,
            "host": host.name if host else None,
            "offering": {"id": vm.offering_uuid, "name": offering.name if offering else None},
            "created": _date(vm.created),
            "version": vm.version,
            "template": getattr(cloud.templates.get(vm.template_uuid), "name", None),
            "pending_job": pending.uuid if pending else None,
            "agent_stuck_as": vm.agent_stuck_as.value if vm.agent_stuck_as else None,
            "guest": {"hung": vm.guest_hung, "ssh": vm.guest_ssh, "booting": vm.guest_booting},
            "reachability": dict(vm.reachability),
            "boot": None
            if boot is None
            else {
                "started_at": _date(boot.started_at),
                "offering": {
                    "id": boot.offering_uuid,
                    "name": getattr(cloud.offerings.get(boot.offering_uuid), "name", None),
                },
                "settings": boot.settings,
                "agent_connected_at": _date(boot.agent_connected_at),
                "connect_settings": boot.connect_settings,
                "boot_count": boot.boot_count,
                "boot_args": boot.boot_args,
            },
        }

    def zone_state(self, zone: Zone) -> dict[str, Any]:
        behaviour = asdict(zone.behaviour)
        behaviour["agent_connects_as"] = (
            zone.behaviour.agent_connects_as.value if zone.behaviour.agent_connects_as else None
        )
        return {
            "id": zone.uuid,
            "name": zone.name,
            "allocation_state": zone.allocation_state,
            "type": zone.type,
            "details": dict(zone.details),
            "ssvm_required": zone.ssvm_required,
            "scanned": zone.scanned,
            "ready": self.sim.cloud.zone_ready(zone),
            "behaviour": behaviour,
        }

    def settings_state(self) -> dict[str, Any]:
        cloud = self.sim.cloud
        result = {}
        for setting in cloud.release.settings():
            value = cloud.settings.global_value(setting.name)
            in_force = cloud.in_force(setting.name)
            result[setting.name] = {
                "value": value,
                "in_force": in_force,
                "in_force_by_server": {
                    ms.name: cloud.in_force(setting.name, ms) for ms in cloud.management_servers
                },
                "isdynamic": setting.dynamic,
                "pending_restart": not setting.takes_effect_immediately and value != in_force,
                "overrides": cloud.settings.overrides(setting.name),
            }
        return result

    def state(self) -> dict[str, Any]:
        sim, cloud = self.sim, self.sim.cloud
        return {
            "api_url": sim.api_url,
            "cloudstack_version": cloud.version,
            "templates": [
                self.template_state(t) for t in sorted(cloud.templates.values(), key=lambda t: t.internal_id)
            ],
            "scanner": self.scanner_state(),
            "management_servers": [
                {
                    "id": ms.uuid,
                    "name": ms.name,
                    "state": ms.state,
                    "last_server_start": _date(ms.last_server_start),
                    "last_server_stop": _date(ms.last_server_stop),
                    "pending_restart": cloud.pending_restart(ms),
                }
                for ms in cloud.management_servers
            ],
            "zones": [self.zone_state(z) for z in sorted(cloud.zones.values(), key=lambda z: z.internal_id)],
            "vms": [self.vm_state(vm) for vm in cloud.live_vms()],
            "image_stores": [
                self.store_state(s) for s in sorted(cloud.image_stores.values(), key=lambda s: s.internal_id)
            ],
            "settings": self.settings_state(),
            "jobs": [
                {
                    "id": j.uuid,
                    "command": j.command,
                    "status": j.status.name,
                    "instance": j.instance_uuid,
                    "result_code": j.result_code,
                    "created": _date(j.created),
                    "completed": _date(j.completed),
                }
                for j in sim.jobs.ordered()
            ],
            "faults": [f.describe() for f in sim.faults.active()],
            "calls": sim.calls.snapshot(),
        }

    def scanner_state(self) -> dict[str, Any]:
        scanner = self.sim.scanner
        return {
            "paused": scanner.paused,
            "interval": scanner.interval(),
            "scans": scanner.scans,
            "last_scan": _date(scanner.last_scan),
            "last_decisions": [d.as_dict() for d in scanner.last_decisions],
            "console_proxies": dict(scanner.last_console_proxy_decisions),
        }

    # lookups

    def _vm(self, request: web.Request) -> SystemVm:
        vm = self.sim.cloud.find_vm(request.match_info["vm"])
        if vm is None:
            raise web.HTTPNotFound(text=f"no live VM {request.match_info['vm']}")
        return vm

    def _zone(self, request: web.Request) -> Zone:
        zone = self.sim.cloud.find_zone(request.match_info["zone"])
        if zone is None:
            raise web.HTTPNotFound(text=f"no zone {request.match_info['zone']}")
        return zone

    # routes

    async def health(self, request: web.Request) -> web.Response:
        return _ok({"ok": True})

    async def get_state(self, request: web.Request) -> web.Response:
        return _ok(self.state())

    async def scan(self, request: web.Request) -> web.Response:
        decisions = await self.sim.scanner.scan_once()
        return _ok({"decisions": [d.as_dict() for d in decisions]})

    async def pause(self, request: web.Request) -> web.Response:
        self.sim.scanner.paused = True
        return _ok(self.scanner_state())

    async def resume(self, request: web.Request) -> web.Response:
        self.sim.scanner.paused = False
        return _ok(self.scanner_state())

    async def restart(self, request: web.Request) -> web.Response:
        body = await _body(request)
        names = body.get("names")
        try:
            servers = await self.sim.restart_management_servers(names, float(body.get("downtime", 0.0)))
        except LookupError as error:
            return _problem(404, str(error))
        return _ok(
            {
                "restarted": [
                    {"name": ms.name, "last_server_start": _date(ms.last_server_start)} for ms in servers
                ]
            }
        )

    async def agent(self, request: web.Request) -> web.Response:
        vm, body = self._vm(request), await _body(request)
        try:
            state = AgentState(body.get("state", ""))
        except ValueError:
            return _problem(400, "state must be one of Up, Connecting, Alert, Disconnected")
        try:
            self.sim.lifecycle.set_agent_state(vm, state, _flag(body, "sticky", False))
        except OperationFailed as error:
            return _problem(409, str(error))
        return _ok(self.vm_state(vm))

    async def guest(self, request: web.Request) -> web.Response:
        vm, body = self._vm(request), await _body(request)
        if "hung" in body:
            self.sim.lifecycle.hang_guest(vm, _flag(body, "hung", True))
        if "ssh" in body:
            vm.guest_ssh = _flag(body, "ssh", True)
        return _ok(self.vm_state(vm))

    async def fail(self, request: web.Request) -> web.Response:
        vm, body = self._vm(request), await _body(request)
        state = body.get("state", VmState.ERROR.value)
        if state not in (VmState.ERROR, VmState.UNKNOWN, VmState.STOPPED):
            return _problem(400, "state must be Error, Unknown or Stopped")
        state = VmState(state)
        self.sim.lifecycle.fail(vm, state)
        return _ok(self.vm_state(vm))

    async def reachability(self, request: web.Request) -> web.Response:
        vm, body = self._vm(request), await _body(request)
        target = body.get("target", "*")
        if not isinstance(target, str) or not target:
            return _problem(400, f"target must be an address or '*', not {target!r}")
        vm.reachability[target] = _flag(body, "reachable", True)
        return _ok(self.vm_state(vm))

    async def behaviour(self, request: web.Request) -> web.Response:
        zone, body = self._zone(request), await _body(request)
        behaviour = zone.behaviour
        unknown = set(body) - {
            "boot_fails",
            "agent_connects_as",
            "agent_connects",
            "command_load",
            "vm_capacity",
        }
        if unknown:
            return _problem(400, f"unknown behaviour fields: {sorted(unknown)}")
        if "agent_connects_as" in body:
            behaviour.agent_connects_as = connect_outcome(body["agent_connects_as"])
        if "boot_fails" in body:
            behaviour.boot_fails = _flag(body, "boot_fails", False)
        if "agent_connects" in body:
            behaviour.agent_connects = _flag(body, "agent_connects", True)
        if "command_load" in body:
            behaviour.command_load = _count(body, "command_load")
        if "vm_capacity" in body:
            behaviour.vm_capacity = _count(body, "vm_capacity")
        return _ok(self.zone_state(zone))

    async def image_store(self, request: web.Request) -> web.Response:
        ref = request.match_info["store"]
        cloud = self.sim.cloud
        store = cloud.image_stores.get(ref) or next(
            (s for s in cloud.image_stores.values() if s.name == ref), None
        )
        if store is None:
            return _problem(404, f"no image store {ref}")
        body = await _body(request)
        unknown = set(body) - {"total_gib", "used_gib", "readonly"}
        if unknown:
            return _problem(400, f"unknown image store fields: {sorted(unknown)}")
        set_store_usage(store, body.get("total_gib"), body.get("used_gib"))
        if "readonly" in body:
            store.readonly = _flag(body, "readonly", False)
        return _ok(self.store_state(store))

    def store_state(self, store: ImageStore) -> dict[str, Any]:
        cloud = self.sim.cloud
        zone = cloud.zones[store.zone_uuid]
        return {
            "id": store.uuid,
            "name": store.name,
            "zone": zone.name,
            "zone_id": store.zone_uuid,
            "readonly": store.readonly,
            "total_bytes": store.size_total,
            "used_bytes": store.size_used,
            "has_free_capacity": store in cloud.stores_with_free_capacity(zone),
            "files": {
                path: {"written": _date(f.written), "vm": f.source_vm_uuid, "contents": list(f.contents)}
                for path, f in sorted(store.files.items())
            },
        }

    async def upgrade(self, request: web.Request) -> web.Response:
        body = await _body(request)
        ready_in = body.get("ready_in")
        if ready_in is not None and not (
            isinstance(ready_in, list) and all(isinstance(z, str) for z in ready_in)
        ):
            return _problem(400, "ready_in must be a list of zone names or ids")
        try:
            template = await self.sim.upgrade(
                str(body.get("version", "")),
                new_template=_flag(body, "new_template", True),
                ready_in=ready_in,
                hypervisor=str(body.get("hypervisor", "KVM")),
                downtime=float(body.get("downtime", 0.0)),
            )
        except LookupError as error:
            return _problem(404, str(error))
        return _ok(
            {
                "cloudstack_version": self.sim.cloud.version,
                "template": None if template is None else self.template_state(template),
            }
        )

    async def template_ready(self, request: web.Request) -> web.Response:
        body = await _body(request)
        zones = body.get("zones")
        if not (isinstance(zones, list) and all(isinstance(z, str) for z in zones)):
            return _problem(400, "zones must be a list of zone names or ids")
        try:
            template = self.sim.set_template_ready(request.match_info["template"], zones)
        except LookupError as error:
            return _problem(404, str(error))
        return _ok(self.template_state(template))

    def template_state(self, template: Template) -> dict[str, Any]:
        cloud = self.sim.cloud
        return {
            "id": template.uuid,
            "name": template.name,
            "hypervisor": template.hypervisor,
            "ready_in": sorted(cloud.zones[z].name for z in template.ready_in_zones if z in cloud.zones),
        }

    async def list_faults(self, request: web.Request) -> web.Response:
        return _ok({"faults": [f.describe() for f in self.sim.faults.active()]})

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            fault = self.sim.faults.add(
                command=str(body.get("command", "*")),
                kind=str(body.get("kind", "")),
                count=body.get("count"),
                probability=float(body.get("probability", 1.0)),
                status=body.get("status"),
                delay=body.get("delay"),
                message=body.get("message"),
            )
        except ValueError as error:
            return _problem(400, str(error))
        return _ok(fault.describe(), status=201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.sim.faults.clear()
        return _ok({"faults": []})

    async def calls(self, request: web.Request) -> web.Response:
        return _ok({"calls": self.sim.calls.snapshot()})

    async def reset_calls(self, request: web.Request) -> web.Response:
        self.sim.calls.reset()
        return _ok({"calls": {}})


@web.middleware
async def _loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_sim") and request.remote not in _LOOPBACK:
        return _problem(403, "the admin path answers loopback callers only")
    if not request.path.startswith("/_sim"):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status >= 400 and error.text and not error.text.startswith("{"):
            return _problem(error.status, error.text)
        raise
    except (ValueError, TypeError) as error:
        # Bad input the handlers did not check one by one: a clear 400, never a crash.
        return _problem(400, f"bad request: {error}")


def add_admin_routes(app: web.Application, sim: Simulator, prefix: str) -> None:
    admin = AdminApi(sim)
    app.middlewares.append(_loopback_only)
    routes = [
        ("GET", "/health", admin.health),
        ("GET", "/state", admin.get_state),
        ("POST", "/scan", admin.scan),
        ("POST", "/scanner/pause", admin.pause),
        ("POST", "/scanner/resume", admin.resume),
        ("POST", "/management-server/restart", admin.restart),
        ("POST", "/vms/{vm}/agent", admin.agent),
        ("POST", "/vms/{vm}/fail", admin.fail),
        ("POST", "/vms/{vm}/guest", admin.guest),
        ("POST", "/vms/{vm}/reachability", admin.reachability),
        ("POST", "/zones/{zone}/behaviour", admin.behaviour),
        ("POST", "/image-stores/{store}", admin.image_store),
        ("POST", "/upgrade", admin.upgrade),
        ("POST", "/templates/{template}/ready", admin.template_ready),
        ("GET", "/faults", admin.list_faults),
        ("POST", "/faults", admin.add_fault),
        ("DELETE", "/faults", admin.clear_faults),
        ("GET", "/calls", admin.calls),
        ("DELETE", "/calls", admin.reset_calls),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, prefix + path, handler)
