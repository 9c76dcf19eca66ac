"""Prometheus metrics of the operator, served on --metrics-port.

Names follow Prometheus conventions (snake_case, `_total` counters, base units) so `promtool check metrics`
accepts them; labels stay low-cardinality (command, zone, pool, action, result).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from ssvm_operator.cloud.errors import CloudError

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
CLOUDSTACK_LATENCY = Histogram(
    "ssvm_operator_cloudstack_api_latency_seconds", "CloudStack API request latency by command.", ["command"]
)
SSVMS = Gauge("ssvm_operator_ssvms", "SSVMs seen per pool and zone by VM state.", ["pool", "zone", "state"])
DESIRED = Gauge("ssvm_operator_pool_desired_replicas", "SSVMs a pool asks for.", ["pool", "zone"])
READY = Gauge(
    "ssvm_operator_pool_ready_replicas", "SSVMs of a pool that are Running with agent Up.", ["pool", "zone"]
)
REMEDIATIONS = Counter(
    "ssvm_operator_remediations_total",
    "Actions taken on SSVMs and zones by action and outcome.",
    ["action", "result"],
)
BREAKER_OPEN = Gauge(
    "ssvm_operator_circuit_breaker_open", "1 while an endpoint's circuit breaker is open.", ["endpoint"]
)
LAST_CONTACT = Gauge(
    "ssvm_operator_last_successful_contact_timestamp_seconds",
    "Unix time of the last successful CloudStack inventory per endpoint.",
    ["endpoint"],
)


def observe_call(command: str, seconds: float, error: CloudError | None) -> None:
    code = "0" if error is None else str(error.code or "network")
    CLOUDSTACK_CALLS.labels(command=command, code=code).inc()
    CLOUDSTACK_LATENCY.labels(command=command).observe(seconds)
    if error is not None:
        CLOUDSTACK_ERRORS.labels(command=command, code=code).inc()
