"""The request log: every API call as (method, path, verb, group, resource, subresource, namespace, status).

It answers "which Kubernetes API calls did the operator make?", e.g. to check that the Helm chart's RBAC
grants exactly what the operator uses (`RequestLog.permissions()` gives RBAC-style triples).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ApiCall:
    """One request; `status` is filled in when the answer is known (at the start of a watch stream)."""

    method: str
    path: str
    verb: str
    group: str | None = None  # None for non-resource URLs (discovery, /version, /openapi)
    version: str | None = None
    resource: str | None = None
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None
    status: int | None = None
    user_agent: str = ""
    injected: bool = False  # answered by fault injection

    @property
    def is_resource_request(self) -> bool:
        return self.resource is not None

    @property
    def rbac_resource(self) -> str:
        """`widgets` or `widgets/status`, as RBAC rules name them."""
        assert self.resource is not None
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, order=True)
class Permission:
    """An RBAC triple: apiGroup ("" for core), resource (maybe "plural/subresource"), verb."""

    api_group: str
    resource: str
    verb: str


@dataclass
class RequestLog:
    """Thread-safe: the emulator appends from its loop thread while a test reads from its own."""

    calls: list[ApiCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    sink: Any | None = None  # an open text file: one JSON line per finished call (the CLI's --request-log)

    def record(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)

    def finished(self, call: ApiCall) -> None:
        if self.sink is not None:
            self.sink.write(json.dumps(call.as_dict()) + "\n")
            self.sink.flush()

    def snapshot(self) -> list[ApiCall]:
        with self._lock:
            return list(self.calls)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def __iter__(self) -> Iterator[ApiCall]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self.calls)

    def resource_calls(self, user_agent_prefix: str | None = None) -> list[ApiCall]:
        return [
            call
            for call in self.snapshot()
            if call.is_resource_request
            and (user_agent_prefix is None or call.user_agent.startswith(user_agent_prefix))
        ]

    def permissions(self, user_agent_prefix: str | None = None) -> set[Permission]:
        """The RBAC permissions the logged resource requests needed (optionally for one client)."""
        return permissions_of(self.resource_calls(user_agent_prefix))


def permissions_of(calls: Iterable[ApiCall]) -> set[Permission]:
    return {
        Permission(call.group or "", call.rbac_resource, call.verb)
        for call in calls
        if call.is_resource_request and call.group is not None
    }
