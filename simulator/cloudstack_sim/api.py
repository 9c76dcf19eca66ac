"""`/client/api`: request in, CloudStack answer out.

Order of checks as in ApiServlet/ApiServer: credentials and signature (401, also for an unknown
command), then parameters (431 before any job is queued), then the command; async commands answer
`{"jobid": ...}` at once. Injected faults apply after authentication, as if CloudStack (or something in
front of it) misbehaved for an authenticated caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from cloudstack_sim.commands import AsyncWork, Command, Services, registry
from cloudstack_sim.errors import (
    BAD_REQUEST,
    CS_CLOUD_RUNTIME,
    CS_SERVER_API,
    ERROR_RESPONSE_KEY,
    INTERNAL_ERROR,
    UNSUPPORTED_ACTION,
    ApiError,
    unauthorized,
)
from cloudstack_sim.faults import CallCounter, Fault, FaultBook, FaultKind
from cloudstack_sim.jobs import JobWork
from cloudstack_sim.params import Resolver, parse
from cloudstack_sim.signing import Credentials, rejection

log = logging.getLogger("cloudstack_sim.api")

API_PATH = "/client/api"
_RESPONSE_SUFFIX = "response"


def json_response(body: dict[str, Any], status: int = 200, description: str | None = None) -> web.Response:
    # json.content.type defaults to application/json; charset=UTF-8 (ApiServer L275-278); errors also
    # carry X-Description (ApiServlet L430-434).
    headers = {"X-Description": description} if description else None
    return web.Response(
        text=json.dumps(body, separators=(",", ":")),
        status=status,
        content_type="application/json",
        charset="UTF-8",
        headers=headers,
    )


def error_response(response_key: str, error: ApiError) -> web.Response:
    return json_response({response_key: error.body()}, error.code, error.text)


def resolver(services: Services) -> Resolver:
    """UUID lookups as ParamProcessWorker does them: removed rows included."""
    cloud, jobs = services.cloud, services.jobs

    def resolve(kind: str, text: str) -> object | None:
        if kind == "vm":
            return cloud.vms.get(text)
        if kind == "zone":
            return cloud.zones.get(text)
        if kind == "pod":
            return next((z for z in cloud.zones.values() if z.pod_uuid == text), None)
        if kind == "host":
            return cloud.hosts.get(text) or next(
                (vm for vm in cloud.vms.values() if vm.agent is not None and vm.agent.uuid == text), None
            )
        if kind == "offering":
            return cloud.offerings.get(text)
        if kind == "imagestore":
            return cloud.image_stores.get(text)
        if kind == "template":
            return cloud.templates.get(text)
        if kind == "job":
            return jobs.get(text)
        if kind == "ms":
            return next((ms for ms in cloud.management_servers if ms.uuid == text), None)
        if kind == "account":
            return cloud.account if text == cloud.account.uuid else None
        if kind == "domain":
            return text if text == cloud.account.domain_uuid else None
        return None  # clusters and storage pools are not simulated

    return resolve


class ApiEndpoint:
    def __init__(
        self,
        services: Services,
        credentials: Credentials | None,
        faults: FaultBook,
        calls: CallCounter,
        closing: asyncio.Event,
        available: Callable[[], bool],
    ) -> None:
        """`credentials=None` serves the unauthenticated integration port (integration.api.port)."""
        self.services = services
        self.credentials = credentials
        self.faults = faults
        self.calls = calls
        self.closing = closing
        self.available = available
        self._release = services.cloud.release
        self.commands = registry(self._release)
        self._newer_commands = set(registry()) - set(self.commands)
        self._resolve = resolver(services)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await _request_params(request)
        name = raw.get("command")
        self.calls.record(name or "(none)")
        if not self.available():
            # The management server is restarting: the load balancer in front has nobody to ask.
            return web.Response(
                status=503,
                text="<html><body><h1>503 Service Unavailable</h1></body></html>",
                content_type="text/html",
            )
        if not name:
            return error_response(ERROR_RESPONSE_KEY, ApiError(BAD_REQUEST, "no command specified"))
        if self.services.cloud.release != self._release:
            # An upgrade (admin path) moved the release: the servers now answer with the new command set.
            self._release = self.services.cloud.release
            self.commands = registry(self._release)
            self._newer_commands = set(registry()) - set(self.commands)
        command = self.commands.get(name)
        refused = self._refusal(raw, name, command)
        if refused is not None:
            return refused
        assert command is not None
        fault = self.faults.draw(command.name, command.is_async)
        if fault is not None:
            early = await self._apply_fault(fault, command)
            if early is not None:
                return early
        try:
            return json_response({command.response_key: await self._execute(command, raw, fault)})
        except ApiError as error:
            return error_response(command.response_key, error)
        except Exception:  # an unexpected crash is a 530, as CloudStack reports unhandled exceptions
            log.exception("command.crashed command=%s", name)
            return error_response(
                command.response_key, ApiError(INTERNAL_ERROR, "Internal error executing command")
            )

    def _refusal(self, raw: dict[str, str], name: str, command: Command | None) -> web.Response | None:
        if self.credentials is None:
            if command is None:
                error = ApiError(UNSUPPORTED_ACTION, f"Unknown API command: {name}", CS_SERVER_API)
                return error_response(ERROR_RESPONSE_KEY, error)
            return None
        reason = rejection(raw, self.credentials, self.services.cloud.now())
        if command is None and (name in self._newer_commands or not self._known_key(raw)):
            # verifyRequest answers false for a command the release does not have: the same 401
            # (ApiServer.verifyRequest, "The given command ... either does not exist").
            log.info("request.refused command=%s reason=%s", name, reason or "unknown command")
            return error_response(ERROR_RESPONSE_KEY, unauthorized())
        if command is None:
            # A CloudStack command outside the simulated slice: answered as CloudStack answers a command the
            # caller's role does not allow (RoleBasedAPIAccessChecker.checkAccess throws
            # UnavailableCommandException; ApiServer.commandAvailable turns it into 432), checked before the
            # signature. A 401 here would read as bad credentials to every client.
            log.info("request.refused command=%s reason=not simulated", name)
            error = ApiError(
                UNSUPPORTED_ACTION, f"The API {name} does not exist or is not available for this account."
            )
            return error_response(f"{name.lower()}{_RESPONSE_SUFFIX}", error)
        if reason is not None:
            log.info("request.refused command=%s reason=%s", name, reason)
            return error_response(command.response_key, unauthorized())
        return None

    def _known_key(self, raw: dict[str, str]) -> bool:
        assert self.credentials is not None
        key = next((value for name, value in raw.items() if name.lower() == "apikey"), None)
        return key == self.credentials.api_key

    async def _execute(self, command: Command, raw: dict[str, str], fault: Fault | None) -> dict[str, Any]:
        # Parameter errors name the command as getCommandName() minus "response" (so scaleSystemVm's
        # errors say "changeserviceforsystemvm").
        label = command.response_key.removesuffix(_RESPONSE_SUFFIX)
        args = parse(label, command.params, raw, self._resolve)
        result = await command.handler(self.services, args)
        if not command.is_async:
            assert isinstance(result, dict)
            return result
        assert isinstance(result, AsyncWork)
        body = _job_body(command, result, fault)
        job = self.services.jobs.submit(command.name, command.cmd_class, result.instance_uuid, body)
        return {"jobid": job.uuid}

    async def _apply_fault(self, fault: Fault, command: Command) -> web.StreamResponse | None:
        log.info("fault.fired command=%s kind=%s", command.name, fault.kind.value)
        if fault.kind is FaultKind.ERROR:
            status = fault.http_status
            text = fault.message or f"Simulated failure of {command.name}"
            error = ApiError(status, text, CS_CLOUD_RUNTIME if status == INTERNAL_ERROR else None)
            return error_response(command.response_key, error)
        if fault.kind is FaultKind.GATEWAY:
            status = fault.http_status
            page = fault.message or f"<html><body><h1>{status} Bad Gateway</h1></body></html>"
            return web.Response(status=status, text=page, content_type="text/html")
        if fault.kind in (FaultKind.TIMEOUT, FaultKind.SLOW):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), fault.seconds)
        return None


def _job_body(command: Command, work: AsyncWork, fault: Fault | None) -> JobWork:
    if fault is None or not fault.kind.for_jobs:
        return work.run
    if fault.kind is FaultKind.JOB_FAILURE:
        status, text, delay = fault.http_status, fault.message or command.failure_text, fault.seconds

        async def fail() -> dict[str, Any]:
            await asyncio.sleep(delay)
            raise ApiError(status, text)

        return fail

    async def never() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return never


async def _request_params(request: web.Request) -> dict[str, str]:
    """Query string and form body together, as the servlet's parameter map merges them; first value wins."""
    merged: dict[str, str] = {}
    for key, value in request.query.items():
        merged.setdefault(key, value)
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        for key, field in form.items():
            if isinstance(field, str):
                merged.setdefault(key, field)
    return merged
