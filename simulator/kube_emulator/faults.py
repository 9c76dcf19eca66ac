"""Fault injection: make the next N requests matching (verb, resource) fail with 409 or 5xx (or any code).

Used by reliability tests to check that the operator retries conflicts and server errors. A fault is
answered before the request touches storage, so the object is unchanged, as after a real failure.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from kube_emulator import errors
from kube_emulator.requestlog import ApiCall

_ids = itertools.count(1)


@dataclass
class Fault:
    """Fail `count` requests matching every given criterion (None matches anything)."""

    verb: str | None = None  # get, list, watch, create, update, patch, delete, deletecollection
    resource: str | None = None  # "widgets", "widgets/status", "example.com/widgets"
    status: int = 500
    count: int = 1
    namespace: str | None = None
    name: str | None = None
    message: str = ""
    retry_after: int | None = None  # seconds, sent as Retry-After (e.g. with 429/503)
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def matches(self, call: ApiCall) -> bool:
        if call.resource is None:
            return False
        if self.verb is not None and self.verb != call.verb:
            return False
        if self.namespace is not None and self.namespace != call.namespace:
            return False
        if self.name is not None and self.name != call.name:
            return False
        return self.resource is None or self._matches_resource(call)

    def _matches_resource(self, call: ApiCall) -> bool:
        assert self.resource is not None
        parts = self.resource.split("/")
        group = parts[0] if "." in parts[0] else None  # "example.com/widgets" names the group too
        wanted = "/".join(parts[1:] if group is not None else parts)
        if group is not None and group != (call.group or ""):
            return False
        return wanted == call.rbac_resource if "/" in wanted else wanted == call.resource

    def error(self, call: ApiCall) -> errors.ApiError:
        reason = errors.REASONS_BY_CODE.get(self.status, "InternalError")
        what = call.rbac_resource if call.resource else call.path
        message = self.message or f"injected fault: {self.status} for {call.verb} {what}"
        if self.status == 409 and call.name and not self.message:
            message = (
                f"Operation cannot be fulfilled on {errors.qualified(call.resource or '', call.group or '')} "
                f'"{call.name}": {errors.STALE_OBJECT}'
            )
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return errors.ApiError(self.status, reason, message, headers=headers)


class FaultInjector:
    """The armed faults; the first matching one with remaining count answers the request."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        verb: str | None = None,
        resource: str | None = None,
        *,
        status: int = 500,
        count: int = 1,
        namespace: str | None = None,
        name: str | None = None,
        message: str = "",
        retry_after: int | None = None,
    ) -> Fault:
        fault = Fault(verb, resource, status, count, namespace, name, message, retry_after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, call: ApiCall) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.matches(call):
                    fault.count -= 1
                    fault.hits += 1
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [fault for fault in self._faults if fault.count > 0]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
