"""Prometheus metrics of the operator, served on --metrics-port.

Names follow Prometheus conventions (snake_case, `_total` counters, base units) so `promtool check metrics`
accepts them. Objects are labelled with separate `namespace` and `name` labels, as kube-state-metrics does,
so joins and relabelling work; labels stay low-cardinality (command, zone, state, action, result).

A series lives as long as what it describes: the series of a deleted object, of a pool's former zone and of
a condition that no longer holds are removed, so an alert on them resolves instead of firing forever.
Counters and histograms carry no `_created` series.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version

import prometheus_client
from prometheus_client import Counter, Gauge, Histogram

from ssvm_operator.cloud.errors import CloudError

prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

OBJECT = ["namespace", "name"]

BUILD_INFO = Gauge("ssvm_operator_build_info", "Always 1; the operator's version as a label.", ["version"])
RECONCILES = Counter(
    "ssvm_operator_reconciles_total", "Reconciles by kind of object and result.", ["kind", "result"]
)
RECONCILE_SECONDS = Histogram(
    "ssvm_operator_reconcile_duration_seconds", "Time one reconcile took, by kind of object.", ["kind"]
)
CLOUDSTACK_CALLS = Counter(
    "ssvm_operator_cloudstack_api_calls_total",
    "CloudStack API requests by command and result code (0 = success).",
    ["command", "code"],
)
CLOUDSTACK_ERRORS = Counter(
    "ssvm_operator_cloudstack_api_errors_total",
    "Failed CloudStack API requests by command and CloudStack error code.",
    ["command", "code"],
)
CLOUDSTACK_DURATION = Histogram(
    "ssvm_operator_cloudstack_api_request_duration_seconds",
    "Time a CloudStack API request took, by command.",
    ["command"],
)
CONDITION = Gauge(
    "ssvm_operator_condition",
    "1 for each condition an object has now, by type, status and reason; absent when it does not hold.",
    ["kind", *OBJECT, "type", "status", "reason"],
)
SSVMS = Gauge("ssvm_operator_ssvms", "SSVMs seen per pool and zone by VM state.", [*OBJECT, "zone", "state"])
DESIRED = Gauge("ssvm_operator_pool_desired_replicas", "SSVMs a pool asks for.", [*OBJECT, "zone"])
READY = Gauge(
    "ssvm_operator_pool_ready_replicas", "SSVMs of a pool that are Running with agent Up.", [*OBJECT, "zone"]
)
OUTDATED = Gauge(
    "ssvm_operator_pool_outdated_ssvms",
    "SSVMs of a pool whose agent or template is older than the management servers' release.",
    [*OBJECT, "zone"],
)
# Named remediations_total for compatibility with existing dashboards; it counts every action.
ACTIONS_TOTAL = Counter(
    "ssvm_operator_remediations_total",
    "Actions taken on SSVMs and zones by pool, zone, action and outcome.",
    [*OBJECT, "zone", "action", "result"],
)
BREAKER_OPEN = Gauge(
    "ssvm_operator_circuit_breaker_open", "1 while a CloudStackEndpoint's circuit breaker is open.", OBJECT
)
LAST_CONTACT = Gauge(
    "ssvm_operator_last_successful_contact_timestamp_seconds",
    "Unix time of the last successful CloudStack inventory per CloudStackEndpoint.",
    OBJECT,
)
POLL_INTERVAL = Gauge(
    "ssvm_operator_endpoint_poll_interval_seconds",
    "How often a CloudStackEndpoint asks CloudStack for its inventory (spec.pollIntervalSeconds).",
    OBJECT,
)

# The label values each object exported last, so that what no longer holds can be removed.
_conditions: dict[tuple[str, str, str], set[tuple[str, str, str]]] = {}
_pool_series: dict[tuple[str, str], tuple[str, frozenset[str], frozenset[tuple[str, str]]]] = {}


def export_build_info() -> None:
    try:
        installed = version("ssvm-operator")
    except PackageNotFoundError:  # running from a source tree without installing
        installed = "unknown"
    BUILD_INFO.labels(version=installed).set(1)


def observe_call(command: str, seconds: float, error: CloudError | None) -> None:
    code = "0" if error is None else str(error.code or "network")
    CLOUDSTACK_CALLS.labels(command=command, code=code).inc()
    CLOUDSTACK_DURATION.labels(command=command).observe(seconds)
    if error is not None:
        CLOUDSTACK_ERRORS.labels(command=command, code=code).inc()


def export_conditions(
    kind: str, namespace: str, name: str, conditions: Iterable[Mapping[str, object]]
) -> None:
    key = (kind, namespace, name)
    now = {
        (str(c.get("type")), str(c.get("status")), str(c.get("reason") or ""))
        for c in conditions
        if c.get("type")
    }
    for type_, status, reason in _conditions.get(key, set()) - now:
        _remove_quietly(CONDITION, kind, namespace, name, type_, status, reason)
    for type_, status, reason in now:
        CONDITION.labels(kind, namespace, name, type_, status, reason).set(1)
    _conditions[key] = now


def export_pool(
    namespace: str,
    name: str,
    zone: str,
    ssvms_by_state: Mapping[str, int],
    desired: int,
    ready: int,
    outcomes: Iterable[tuple[str, str]] = (),
    outdated: int = 0,
) -> None:
    """A pool's gauges in its zone, and the actions just taken as (action, result); a pool that moved to
    another zone stops exporting the old one."""
    key = (namespace, name)
    before = _pool_series.get(key)
    if before is not None and before[0] != zone:
        _remove_pool(namespace, name, *before)
        before = None
    for state, count in ssvms_by_state.items():
        SSVMS.labels(namespace, name, zone, state).set(count)
    DESIRED.labels(namespace, name, zone).set(desired)
    READY.labels(namespace, name, zone).set(ready)
    OUTDATED.labels(namespace, name, zone).set(outdated)
    actions = set(before[2]) if before else set()
    for action, result in outcomes:
        ACTIONS_TOTAL.labels(namespace, name, zone, action, result).inc()
        actions.add((action, result))
    states = frozenset(ssvms_by_state) | (before[1] if before else frozenset())
    _pool_series[key] = (zone, states, frozenset(actions))


def export_endpoint(
    namespace: str, name: str, *, breaker_open: bool, poll_interval: float, contact: float | None = None
) -> None:
    BREAKER_OPEN.labels(namespace, name).set(1 if breaker_open else 0)
    POLL_INTERVAL.labels(namespace, name).set(poll_interval)
    if contact is not None:
        LAST_CONTACT.labels(namespace, name).set(contact)


def forget(kind: str, namespace: str, name: str) -> None:
    """Remove every series of a deleted object."""
    for type_, status, reason in _conditions.pop((kind, namespace, name), set()):
        _remove_quietly(CONDITION, kind, namespace, name, type_, status, reason)
    if kind == "SSVMPool" and (namespace, name) in _pool_series:
        _remove_pool(namespace, name, *_pool_series.pop((namespace, name)))
    if kind == "CloudStackEndpoint":
        for gauge in (BREAKER_OPEN, POLL_INTERVAL, LAST_CONTACT):
            _remove_quietly(gauge, namespace, name)


def _remove_pool(
    namespace: str, name: str, zone: str, states: frozenset[str], actions: frozenset[tuple[str, str]]
) -> None:
    for state in states:
        _remove_quietly(SSVMS, namespace, name, zone, state)
    _remove_quietly(DESIRED, namespace, name, zone)
    _remove_quietly(READY, namespace, name, zone)
    _remove_quietly(OUTDATED, namespace, name, zone)
    for action, result in actions:
        _remove_quietly(ACTIONS_TOTAL, namespace, name, zone, action, result)


def _remove_quietly(metric: Gauge | Counter, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never exported, e.g. an endpoint that was never reached
        metric.remove(*labels)
