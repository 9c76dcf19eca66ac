"""SSVMPool, CloudStackEndpoint and SSVMSettings objects carrying the statuses the operator writes, for the
health checks GitOps tools run (Argo CD's Lua, Flux's kstatus).

Pool statuses are rendered by the operator's own status code from real plans, so a renamed condition or
reason breaks the health tests rather than a user's dashboard. Endpoint and settings conditions follow the
shapes their reconcilers write (kube/endpoints.py, kube/ssvm_settings.py) and go through the same `render`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ssvm_operator.act.cycle import Backoff
from ssvm_operator.kube.conditions import Condition, render
from ssvm_operator.kube.pool_status import pool_conditions
from ssvm_operator.model.snapshot import Inventory, SystemVm, Zone
from ssvm_operator.model.spec import PoolSpec
from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.types import InFlight, PoolContext, VmMemory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ZONE = Zone("z1", "zone-1")
API_VERSION = "ssvm.cloudstack.io/v1alpha1"


def pool(
    *vms: SystemVm,
    generation: int = 1,
    observed: int | None = None,
    in_flight: tuple[InFlight, ...] = (),
    memory: dict[str, VmMemory] | None = None,
    zone: str = "zone-1",
    **spec: Any,
) -> dict[str, Any]:
    """An SSVMPool as the operator leaves it after one reconcile of the given CloudStack state."""
    parsed = PoolSpec.parse({"endpointRef": {"name": "region-1"}, "zone": zone, **spec})
    context = PoolContext(
        parsed, Inventory(observed_at=NOW, zones=(ZONE,), ssvms=vms), NOW, in_flight, memory or {}
    )
    plan = plan_pool(context)
    conditions = pool_conditions(parsed, plan, in_flight, (), Backoff())
    seen = generation if observed is None else observed
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMPool",
        "metadata": {"name": "zone-1", "namespace": "ssvm-operator", "generation": generation},
        "spec": {"zone": zone, **spec},
        "status": {
            "observedGeneration": seen,
            "conditions": render(conditions, None, seen, NOW),
            "desiredReplicas": plan.desired_replicas,
            "readyReplicas": plan.ready_replicas,
        },
    }


def other(kind: str, *conditions: Condition, generation: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": "region-1", "namespace": "ssvm-operator", "generation": generation},
        "status": {"observedGeneration": generation, "conditions": render(conditions, None, generation, NOW)},
    }


def up(number: int = 1) -> SystemVm:
    return SystemVm(f"vm-{number}", f"s-{number}-VM", "z1", "Running", "Up")


ENDPOINT_STATES: dict[str, tuple[Condition, ...]] = {
    "connected": (
        Condition("Ready", True, "Connected", "CloudStack 4.20.1.0 at https://cloud/client/api"),
        Condition("Stalled", False, "Connected", "nothing blocks the connection"),
        Condition("Reconciling", False, "Connected", "connected"),
    ),
    "unreachable": (
        Condition("Ready", False, "Unreachable", "connection refused; retrying every 30s"),
        Condition("Stalled", False, "Retrying", "the failure may be temporary"),
        Condition("Reconciling", True, "Unreachable", "connection refused; retrying every 30s"),
    ),
    "unauthorized": (
        Condition("Ready", False, "Unauthorized", "CloudStack refused the API keys (401)"),
        Condition("Stalled", True, "Unauthorized", "CloudStack refused the API keys (401)"),
        Condition("Reconciling", False, "Unauthorized", "waiting for valid API keys"),
    ),
}

ROLLING = "1 of 2 SSVMs run with the new settings; rolling zone zone-2"
WAITING = "1 of 2 SSVMs run with the new settings, sent to each agent when it reconnected after the restart"
OBSERVING = "CloudStack differs from the declaration; Observe mode, not applied: secstorage.vm.mtu.size"
RESTART = "restart every management server so that secstorage.allowed.internal.sites take effect"
SETTINGS_STATES: dict[str, tuple[Condition, ...]] = {
    "in-sync": (
        Condition("Stalled", False, "Applied", "every declared setting is valid"),
        Condition("Reconciling", False, "InSync", "CloudStack holds every declared setting"),
        Condition("Ready", True, "InSync", "CloudStack holds every declared setting"),
    ),
    "restart-required": (
        Condition("Stalled", True, "ManagementServerRestartRequired", RESTART),
        Condition("Ready", False, "ManagementServerRestartRequired", RESTART),
    ),
    "rolling": (
        Condition("Stalled", False, "Applied", "every declared setting is valid"),
        Condition("Reconciling", True, "RollingSSVMs", ROLLING),
        Condition("Ready", False, "RollingSSVMs", ROLLING),
    ),
    "waiting-for-agents": (
        Condition("Stalled", False, "Applied", "every declared setting is valid"),
        Condition("Reconciling", True, "WaitingForAgents", WAITING),
        Condition("Ready", False, "WaitingForAgents", WAITING),
    ),
    "observe-drift": (
        Condition("Stalled", False, "Applied", "every declared setting is valid"),
        Condition("Ready", False, "Drifted", OBSERVING),
    ),
    "secret-missing": (
        Condition("Stalled", True, "SecretMissing", "secretSettings[0]: Secret ssvm-proxy not found"),
        Condition("Reconciling", False, "SecretMissing", "nothing is applied until this is fixed"),
        Condition("Ready", False, "SecretMissing", "secretSettings[0]: Secret ssvm-proxy not found"),
    ),
}


def endpoint(state: str) -> dict[str, Any]:
    return other("CloudStackEndpoint", *ENDPOINT_STATES[state])


def settings(state: str) -> dict[str, Any]:
    return other("SSVMSettings", *SETTINGS_STATES[state])


def just_applied(kind: str, status: dict[str, Any] | None) -> dict[str, Any]:
    """An object as the API server returns it before the operator's first write."""
    obj: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": "zone-1", "namespace": "ssvm-operator", "generation": 1},
    }
    if status is not None:
        obj["status"] = status
    return obj
