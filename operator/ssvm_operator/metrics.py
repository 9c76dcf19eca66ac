"""Prometheus metrics of the operator, served on --metrics-port."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from ssvm_operator.cloud.errors import CloudError

CLOUDSTACK_CALLS = Counter(
    "ssvm_operator_cloudstack_api_calls_total",
    "CloudStack API requests by command and result code (0 = success).",
    ["command", "code"],
)
CLOUDSTACK_LATENCY = Histogram(
    "ssvm_operator_cloudstack_api_latency_seconds",
    "CloudStack API request latency by command.",
    ["command"],
)


def observe_call(command: str, seconds: float, error: CloudError | None) -> None:
    code = "0" if error is None else str(error.code or "network")
    CLOUDSTACK_CALLS.labels(command=command, code=code).inc()
    CLOUDSTACK_LATENCY.labels(command=command).observe(seconds)
