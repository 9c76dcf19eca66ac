"""Kubernetes-side faults in front of the real API server: a thin HTTP proxy that forwards every request
(watches streamed as they come) and answers the ones a test picked with an error, or late.

    with fault_proxy(plane.admin) as proxied:
        proxied.inject_fault("patch", "ssvmpools/status", status=409, count=1)
        OperatorProcess(proxied.env(), ...)  # the operator talks to the proxy

A fault matches a verb (get, list, watch, create, update, patch, delete, deletecollection) and a resource
(plural, or plural/subresource), as the emulator's do; `count` answers are spoiled, then the fault is spent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.support.real_cluster import RealCluster

# Headers of one hop, not passed on; Content-Encoding is, as the body is forwarded undecoded.
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection"}
SESSION = web.AppKey("session", aiohttp.ClientSession)


@dataclass
class Fault:
    verb: str | None
    resource: str | None
    status: int = 500
    count: int = 1
    delay: float = 0.0
    answered: int = 0

    def matches(self, verb: str, resource: str) -> bool:
        return self.answered < self.count and self.verb in (None, verb) and self.resource in (None, resource)


def verb_and_resource(method: str, path: str, query: dict[str, str]) -> tuple[str, str]:
    """The RBAC verb and resource of a request to a path like /apis/g/v/namespaces/ns/plural/name/status."""
    parts = [part for part in path.split("/") if part]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
        rest = rest[2:]  # namespaced: drop namespaces/<ns>, unless the namespace itself is asked for
    plural, name, sub = [*rest, "", "", ""][:3]
    resource = f"{plural}/{sub}" if sub else plural
    if method == "GET":
        verb = "get" if name else ("watch" if query.get("watch") in ("true", "1") else "list")
    else:
        verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
        verb = verbs.get(method) or ("delete" if name else "deletecollection")
    return verb, resource


class Faults:
    """The faults still to answer, shared by the test thread and the proxy's event loop."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def pending(self) -> list[Fault]:
        with self._lock:
            return [fault for fault in self._faults if fault.answered < fault.count]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, verb: str, resource: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(verb, resource):
                    fault.answered += 1
                    return fault
        return None


@dataclass
class FaultyCluster(RealCluster):
    """A RealCluster reached through the proxy, which can be told to fail requests."""

    faults: Faults = field(default_factory=Faults)

    def inject_fault(
        self,
        verb: str | None = None,
        resource: str | None = None,
        *,
        status: int = 500,
        count: int = 1,
        delay: float = 0.0,
    ) -> Fault:
        """`count` requests matching `verb` and `resource` answered `status` (0: forwarded, `delay` late)."""
        return self.faults.add(Fault(verb, resource, status, count, delay))


def _status_body(fault: Fault, verb: str, resource: str) -> bytes:
    reason = {409: "Conflict", 429: "TooManyRequests", 503: "ServiceUnavailable"}.get(
        fault.status, "InternalError"
    )
    message = f"injected fault: {verb} {resource}"
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason}
    return json.dumps({**status, "code": fault.status}).encode()


def _handler(upstream: RealCluster, faults: Faults) -> web.Application:
    context = ssl.create_default_context(cafile=str(upstream.ca_path))

    async def forward(request: web.Request) -> web.StreamResponse:
        try:
            return await relay(request)
        except ConnectionResetError:  # the client left (a watch closed, the operator killed): nothing to tell
            return web.Response(status=499)

    async def relay(request: web.Request) -> web.StreamResponse:
        verb, resource = verb_and_resource(request.method, request.path, dict(request.query))
        fault = faults.take(verb, resource)
        if fault is not None:
            await asyncio.sleep(fault.delay)
            if fault.status:
                body = _status_body(fault, verb, resource)
                return web.Response(status=fault.status, body=body, content_type="application/json")
        session: aiohttp.ClientSession = request.app[SESSION]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        # kubectl sends no bearer token over plain HTTP: the proxy authenticates as its user.
        headers.setdefault("Authorization", f"Bearer {upstream.token}")
        async with session.request(
            request.method,
            upstream.url + request.path_qs,
            headers=headers,
            data=await request.read() or None,  # b"" would gain a Content-Type the server refuses on a GET
            ssl=context,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        ) as answer:
            response = web.StreamResponse(status=answer.status)
            for key, value in answer.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def open_session(app: web.Application) -> None:
        app[SESSION] = aiohttp.ClientSession()

    async def close_session(app: web.Application) -> None:
        await app[SESSION].close()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)
    return app


@contextlib.contextmanager
def fault_proxy(upstream: RealCluster, kubeconfig_path: Path) -> Iterator[FaultyCluster]:
    """Serve the proxy on a free loopback port from a thread; a client of it, as `upstream`'s user."""
    faults = Faults()
    ready: concurrent.futures.Future[int] = concurrent.futures.Future()
    stop = threading.Event()

    async def main() -> None:
        runner = web.AppRunner(_handler(upstream, faults))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        ready.set_result(runner.addresses[0][1])
        while not stop.is_set():
            await asyncio.sleep(0.1)  # the stop flag is set from the test's thread
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="fault-proxy", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{ready.result(timeout=10)}"
    client = RealCluster.for_token(url, upstream.ca_path, upstream.token, kubeconfig_path, upstream.user)
    try:
        yield FaultyCluster(**vars(client), faults=faults)
    finally:
        stop.set()
        thread.join(timeout=10)
