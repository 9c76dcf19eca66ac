"""kopf registration: which events reach which reconcile function, with our settings.

Every CloudStack-facing handler is a level-based reconcile: the same idempotent function for create,
update, resume and a periodic timer, because CloudStack's state changes without Kubernetes knowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import kopf
import structlog

from ssvm_operator import logs, metrics
from ssvm_operator.kube import kubeapi
from ssvm_operator.kube.context import OperatorContext
from ssvm_operator.kube.endpoints import reconcile_endpoint
from ssvm_operator.kube.names import ENDPOINTS, FINALIZER, GROUP, POOLS, SETTINGS, VERSION
from ssvm_operator.kube.pools import reconcile_pool
from ssvm_operator.kube.settings_restore import delete_settings
from ssvm_operator.kube.ssvm_settings import reconcile_settings
from ssvm_operator.model.spec import PAUSED_ANNOTATION

# How often each object is looked at. CloudStack itself is asked at most once per endpoint's
# pollIntervalSeconds: between polls a tick reuses the endpoint's cached inventory.
TICK_SECONDS = float(os.environ.get("SSVM_OPERATOR_TICK_SECONDS", "10"))
EVENT_SOURCE = "ssvm-operator"

_locks: dict[str, asyncio.Lock] = {}
log = structlog.get_logger("ssvm_operator.handlers")


def _lock(uid: str) -> asyncio.Lock:
    # Timers and change handlers run in separate tasks; one object is reconciled by one at a time.
    return _locks.setdefault(uid, asyncio.Lock())


@contextlib.asynccontextmanager
async def _reconciling(
    kind: str, plural: str, body: kopf.Body, patch: kopf.Patch, memo: Any
) -> AsyncIterator[None]:
    """One object at a time, measured; its status written here and remembered (OperatorContext.status_of).

    The status is written by the operator itself rather than left in kopf's patch: kopf applies a timer's
    patch after the tick, and an API error there (a 409, a 5xx) ends that object's timer for good. Written
    here, a failed write is logged and simply repeated on the next tick.
    """
    uid = str(body.metadata.uid)
    started = time.monotonic()
    result = "error"
    identity = {"kind": kind, "namespace": body.metadata.namespace, "name": body.metadata.name}
    try:
        with structlog.contextvars.bound_contextvars(**identity):
            async with _lock(uid):
                ctx = _context(memo)
                before = ctx.status_of(body)
                try:
                    yield
                except (kopf.TemporaryError, kopf.PermanentError):
                    raise
                except Exception as error:
                    # Whatever escapes is logged and stored by kopf: never with a secret value in it.
                    raise kopf.TemporaryError(
                        logs.redact(f"{type(error).__name__}: {error}"), delay=TICK_SECONDS
                    ) from None
                # An empty list is written as null, which the merge patch removes: `kubectl describe` shows no
                # empty "In Flight:" or "Planned Actions:" headers, and readers treat absent as empty.
                changes = {
                    key: None if value == [] else value
                    for key, value in (patch.pop("status", None) or {}).items()
                }
                if any(before.get(key) != value for key, value in changes.items()):
                    try:
                        await kubeapi.patch_status(
                            plural, str(body.metadata.namespace), str(body.metadata.name), changes
                        )
                    except Exception as error:  # the next tick writes it again
                        log.warning(
                            "status.write_failed",
                            kind=kind,
                            name=body.metadata.name,
                            error=logs.redact(str(error)),
                        )
                        return
                ctx.remember_status(uid, before, changes)
                conditions = ctx.status_of(body).get("conditions") or ()
                metrics.export_conditions(
                    kind, str(body.metadata.namespace), str(body.metadata.name), conditions
                )
        result = "success"
    finally:
        metrics.RECONCILES.labels(kind=kind, result=result).inc()
        metrics.RECONCILE_SECONDS.labels(kind=kind).observe(time.monotonic() - started)


def _jitter(**_: Any) -> float:
    return random.uniform(0, TICK_SECONDS)


def _context(memo: Any) -> OperatorContext:
    ctx = getattr(memo, "ctx", None)
    if ctx is None:
        ctx = OperatorContext.create()
        memo.ctx = ctx
    assert isinstance(ctx, OperatorContext)
    return ctx


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    # `kubectl describe` shows Events "From: ssvm-operator" (kopf's default is "kopf"), and each Event names
    # the pod that posted it (POD_ID, set by the chart from the pod's name).
    settings.posting.reporting_component = EVENT_SOURCE
    settings.posting.reporting_instance = os.environ.get("POD_ID") or socket.gethostname()
    settings.posting.event_name_prefix = f"{EVENT_SOURCE}-event-"
    # Belt and braces against silent watches behind load balancers: a watch the server or a proxy drops
    # without closing is restarted (kopf docs, "Configuration", watching.server_timeout/client_timeout).
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 310
    settings.watching.connect_timeout = 60
    kubeapi.load_config()


@kopf.on.cleanup()
async def close_connections(memo: Any, **_: Any) -> None:
    await _context(memo).registry.close_all()


@kopf.index(GROUP, VERSION, ENDPOINTS)
def endpoint_specs(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str | None, str], Any]:
    return {(namespace, name): dict(spec)}


@kopf.index(GROUP, VERSION, POOLS)
def zone_claims(
    namespace: str | None, name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any
) -> dict[tuple[str | None, str, str], tuple[str, str]]:
    endpoint = str((spec.get("endpointRef") or {}).get("name", ""))
    created = str(meta.get("creationTimestamp") or "")
    return {(namespace, endpoint, str(spec.get("zone", ""))): (created, name)}


@kopf.index(GROUP, VERSION, POOLS)
def pool_replicas(namespace: str | None, spec: kopf.Spec, **_: Any) -> dict[tuple[str | None, str], int]:
    endpoint = str((spec.get("endpointRef") or {}).get("name", ""))
    return {(namespace, endpoint): int(spec.get("replicas", 1))}


@kopf.index(GROUP, VERSION, POOLS)
def pool_scopes(
    namespace: str | None, name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any
) -> dict[tuple[str | None, str], tuple[str, str, bool, str, int, int]]:
    """What decides whether a pool can roll its zone for SSVMSettings (plan/rollout_scope.ZonePool)."""
    endpoint = str((spec.get("endpointRef") or {}).get("name", ""))
    annotations = meta.get("annotations") or {}
    paused = bool(spec.get("paused", False)) or str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true"
    health = spec.get("health") or {}
    return {
        (namespace, endpoint): (
            name,
            str(spec.get("zone", "")),
            paused,
            str(spec.get("mode", "Enforce")),
            _whole(health.get("maxUnavailable"), 1),
            _whole(spec.get("replicas"), 1),
        )
    }


def _whole(value: Any, default: int) -> int:
    """An index must not fail on a value the schema should have refused."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@kopf.index(GROUP, VERSION, POOLS)
def upgrade_turns(
    namespace: str | None, spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, **_: Any
) -> dict[tuple[str | None, str], tuple[str, bool]]:
    """The acting pools that roll upgrades, with whether each holds the endpoint's turn now
    (kube/upgrade_status.py): one zone at a time across every pool of a CloudStack."""
    annotations = meta.get("annotations") or {}
    paused = bool(spec.get("paused", False)) or str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true"
    strategy = str((spec.get("upgrade") or {}).get("strategy", "None"))
    if paused or str(spec.get("mode", "Enforce")) != "Enforce" or strategy == "None":
        return {}
    endpoint = str((spec.get("endpointRef") or {}).get("name", ""))
    rolling = bool((status.get("upgrade") or {}).get("rolling"))
    return {(namespace, endpoint): (str(spec.get("zone", "")), rolling)}


@kopf.index(GROUP, VERSION, SETTINGS)
def settings_claims(
    namespace: str | None, name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any
) -> dict[tuple[str | None, str], tuple[str, str]]:
    endpoint = str((spec.get("endpointRef") or {}).get("name", ""))
    return {(namespace, endpoint): (str(meta.get("creationTimestamp") or ""), name)}


@kopf.index(GROUP, VERSION, SETTINGS)
def settings_rollouts(
    namespace: str | None, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[tuple[str | None, str], dict[str, Any]]:
    endpoint = str((spec.get("endpointRef") or {}).get("name", ""))
    return {(namespace, endpoint): dict(status.get("rollout") or {})}


class _IndexView(Mapping[Any, Any]):
    """A kopf index read one key at a time, when the handler asks for it.

    Copying a whole index into a dict on every tick of every pool cost O(pools) per tick, O(pools²) per
    tick interval: at 500 pools that was a large share of the operator's idle CPU.
    """

    def __init__(self, index: kopf.Index[Any, Any], pick: Callable[[kopf.Store[Any]], Any]) -> None:
        self._index = index
        self._pick = pick

    def __getitem__(self, key: Any) -> Any:
        store = self._index[key]
        if not store:
            raise KeyError(key)
        return self._pick(store)

    def __iter__(self) -> Iterator[Any]:
        return (key for key in self._index if self._index[key])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _all(index: kopf.Index[Any, Any]) -> Mapping[Any, list[Any]]:
    """Every value under a key, sorted."""
    return _IndexView(index, sorted)


def _first(index: kopf.Index[Any, Any]) -> Mapping[Any, Any]:
    """One value under a key (indexes whose keys are unique)."""
    return _IndexView(index, lambda store: next(iter(store)))


@kopf.on.resume(GROUP, VERSION, ENDPOINTS)
@kopf.on.create(GROUP, VERSION, ENDPOINTS)
@kopf.on.update(GROUP, VERSION, ENDPOINTS)
@kopf.timer(GROUP, VERSION, ENDPOINTS, interval=TICK_SECONDS, initial_delay=_jitter, id="poll")
async def endpoint_handler(body: kopf.Body, patch: kopf.Patch, memo: Any, **kwargs: Any) -> None:
    async with _reconciling("CloudStackEndpoint", ENDPOINTS, body, patch, memo):
        await reconcile_endpoint(_context(memo), body, patch, _first(kwargs["endpoint_specs"]))


@kopf.on.delete(GROUP, VERSION, ENDPOINTS, optional=True)
async def endpoint_deleted(body: kopf.Body, memo: Any, **_: Any) -> None:
    metrics.forget("CloudStackEndpoint", str(body.metadata.namespace), str(body.metadata.name))
    await _context(memo).registry.disconnect(f"{body.metadata.namespace}/{body.metadata.name}")


@kopf.on.resume(GROUP, VERSION, POOLS)
@kopf.on.create(GROUP, VERSION, POOLS)
@kopf.on.update(GROUP, VERSION, POOLS)
@kopf.timer(GROUP, VERSION, POOLS, interval=TICK_SECONDS, initial_delay=_jitter, id="poll")
async def pool_handler(body: kopf.Body, patch: kopf.Patch, memo: Any, **kwargs: Any) -> None:
    # kopf passes each index by its function's name.
    endpoints, claims, rollouts = kwargs["endpoint_specs"], kwargs["zone_claims"], kwargs["settings_rollouts"]
    async with _reconciling("SSVMPool", POOLS, body, patch, memo):
        await reconcile_pool(
            _context(memo),
            body,
            patch,
            _first(endpoints),
            _all(claims),
            _first(rollouts),
            _all(kwargs["upgrade_turns"]),
        )


@kopf.on.delete(GROUP, VERSION, POOLS, optional=True)
async def pool_deleted(body: kopf.Body, memo: Any, **_: Any) -> None:
    # Deleting a pool stops management; it never destroys SSVMs or changes the zone.
    _locks.pop(str(body.metadata.uid), None)
    _context(memo).forget(str(body.metadata.uid))
    metrics.forget("SSVMPool", str(body.metadata.namespace), str(body.metadata.name))


@kopf.on.resume(GROUP, VERSION, SETTINGS)
@kopf.on.create(GROUP, VERSION, SETTINGS)
@kopf.on.update(GROUP, VERSION, SETTINGS)
@kopf.timer(GROUP, VERSION, SETTINGS, interval=TICK_SECONDS, initial_delay=_jitter, id="poll")
async def settings_handler(body: kopf.Body, patch: kopf.Patch, memo: Any, **kwargs: Any) -> None:
    async with _reconciling("SSVMSettings", SETTINGS, body, patch, memo):
        await reconcile_settings(
            _context(memo),
            body,
            patch,
            _first(kwargs["endpoint_specs"]),
            _all(kwargs["settings_claims"]),
            _all(kwargs["pool_replicas"]),
            _all(kwargs["pool_scopes"]),
        )


@kopf.on.delete(GROUP, VERSION, SETTINGS, retries=None, backoff=TICK_SECONDS)
async def settings_deleted(body: kopf.Body, memo: Any, **kwargs: Any) -> None:
    # deletionPolicy Restore holds the finalizer until the restore succeeds or the user gives it up
    # (kube/settings_restore.py): no retry limit, so an outage or a missing endpoint loses nothing.
    uid = str(body.metadata.uid)
    async with _lock(uid):
        await delete_settings(_context(memo), body, _first(kwargs["endpoint_specs"]), TICK_SECONDS)
    _locks.pop(uid, None)
    metrics.forget("SSVMSettings", str(body.metadata.namespace), str(body.metadata.name))
