"""What a CloudStack user does over and over: find a zone, list its SSVMs, wait for a job or a state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from cs import CloudStack

from cloudstack_sim.testing import SimulatorHandle
from tests.support import waiting

T = TypeVar("T")

CS_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
"""yyyy-MM-dd'T'HH:mm:ssZ as CloudStack's Gson writes every date."""

SCAN_INTERVAL = 0.2
"""Seconds between simulated scans in these tests; every lifecycle delay is a fraction of it."""
SCAN_INTERVAL_MS = 200

DEADLINE = 10.0
"""Seconds any simulated convergence may take at the tests' scan interval before a test fails."""


def eventually(probe: Callable[[], T], timeout: float = DEADLINE, what: str = "condition") -> T:
    """tests.support.waiting.eventually at the simulator tests' deadline, polling at their faster pace."""
    return waiting.eventually(probe, timeout, what, interval=0.02)


def zone(api: CloudStack, name: str) -> dict[str, Any]:
    zones: list[dict[str, Any]] = [z for z in api.listZones(fetch_list=True) if z["name"] == name]
    assert len(zones) == 1, f"zone {name} not listed exactly once"
    return zones[0]


def ssvms(api: CloudStack, zone_id: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.listSystemVms(
        systemvmtype="secondarystoragevm", zoneid=zone_id, fetch_list=True
    )
    return found


def only_ssvm(api: CloudStack, zone_id: str) -> dict[str, Any]:
    found = ssvms(api, zone_id)
    assert len(found) == 1, f"expected one SSVM in zone {zone_id}, got {[vm['name'] for vm in found]}"
    return found[0]


def healthy(vm: dict[str, Any]) -> bool:
    return vm.get("state") == "Running" and vm.get("agentstate") == "Up"


def wait_job(api: CloudStack, job_id: str, timeout: float = DEADLINE) -> dict[str, Any]:
    """The finished job as queryAsyncJobResult shows it (jobstatus 1 or 2)."""

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = api.queryAsyncJobResult(jobid=job_id)
        return job if job["jobstatus"] != 0 else None

    return eventually(finished, timeout, f"job {job_id}")


def healthy_ssvm(api: CloudStack, zone_id: str, timeout: float = DEADLINE) -> dict[str, Any]:
    """The zone's single SSVM once it is Running with its agent Up."""

    def probe() -> dict[str, Any] | None:
        found = ssvms(api, zone_id)
        return found[0] if len(found) == 1 and healthy(found[0]) else None

    return eventually(probe, timeout, f"one healthy SSVM in zone {zone_id}")


def signed(params: dict[str, str], secret: str) -> dict[str, str]:
    """Sign like a Java client would: URLEncoder encodes `~` as %7E, which Python's quote does not."""
    text = "&".join(
        f"{name}={quote(value, safe='*').replace('~', '%7E')}" for name, value in sorted(params.items())
    ).lower()
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
    return {**params, "signature": base64.b64encode(digest).decode()}


def base_params(sim: SimulatorHandle, command: str, **extra: str) -> dict[str, str]:
    """Everything cs would send for `command`, unsigned."""
    expires = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S%z")
    return {
        "command": command,
        "apiKey": sim.api_key,
        "response": "json",
        "signatureVersion": "3",
        "expires": expires,
        **extra,
    }


def boot_record(sim: SimulatorHandle, vm_id: str) -> dict[str, Any]:
    """What the VM got at its last start (offering, boot arguments, settings programmed on connect)."""
    vm = sim.admin.vm(vm_id)
    assert vm is not None and vm["boot"] is not None, f"{vm_id} is gone or never booted"
    record: dict[str, Any] = vm["boot"]
    return record


def raw_call(sim: SimulatorHandle, command: str, **params: str) -> requests.Response:
    """A correctly signed POST that cs would not send as is (e.g. `page` without `pagesize`)."""
    return requests.post(
        sim.api_url, data=signed(base_params(sim, command, **params), sim.secret_key), timeout=5
    )
