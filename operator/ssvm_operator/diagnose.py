"""`ssvm-operator diagnose`: a pool's latest connectivity checks, or a round run now without Kubernetes.

From the cluster it prints what the operator last found (status.diagnostics and the Connectivity
condition). With an endpoint and a zone it pings, from inside every Running SSVM of the zone, the zone's
image store hosts, its internal DNS, the management servers and any extra targets, and classifies the
result as the operator does. It changes nothing in CloudStack; it only runs diagnostics in the SSVMs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.diagnostics import run_round, zone_targets
from ssvm_operator.cloud.inventory import fetch_inventory
from ssvm_operator.model.diagnostics import Check, Connectivity
from ssvm_operator.plan.connectivity import diagnose
from ssvm_operator.plan.diagnostics_schedule import diagnosable


@dataclass(frozen=True)
class Report:
    """What a diagnose run prints."""

    title: str
    checks: tuple[Check, ...] | tuple[Mapping[str, Any], ...]
    status: str
    """True, False or Unknown, as the Connectivity condition."""
    reason: str
    message: str
    note: str | None = None

    @property
    def faulty(self) -> bool:
        return self.status != "True"


class DiagnoseError(Exception):
    """Diagnostics cannot be shown or run; the message says what to fix."""


def from_cluster(name: str, namespace: str, context: str | None = None) -> Report:
    """The latest results the operator wrote to the SSVMPool's status (`context`: a kubeconfig context)."""
    from ssvm_operator.kube.kubeapi import PoolUnreadable, read_pool

    try:
        found = read_pool(namespace, name, context)
    except PoolUnreadable as error:
        raise DiagnoseError(str(error)) from None
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    status: dict[str, Any] = body.get("status") or {}
    condition: dict[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Connectivity"), {}
    )
    run = status.get("diagnosticsRun") or {}
    note = None
    if run.get("lastRunTime"):
        note = f"last round {run['lastRunTime']}, next after {run.get('nextRunAfter', '?')}"
    zone = (body.get("spec") or {}).get("zone", "?")
    return Report(
        title=f"SSVMPool {namespace}/{name} (zone {zone})",
        checks=tuple(status.get("diagnostics") or ()),
        status=str(condition.get("status", "Unknown")),
        reason=str(condition.get("reason", "NotChecked")),
        message=str(condition.get("message", "the operator has not run diagnostics for this pool yet")),
        note=note,
    )


async def run_now(
    settings: ConnectionSettings, credentials: Credentials, zone_name: str, extra: Sequence[str] = ()
) -> Report:
    """One round against CloudStack, without Kubernetes."""
    async with CloudClient(settings, credentials) as client:
        inventory = await fetch_inventory(client)
        zone = inventory.zone_named(zone_name)
        if zone is None:
            known = ", ".join(sorted(z.name for z in inventory.zones)) or "none"
            raise DiagnoseError(f"zone {zone_name!r} does not exist on this endpoint; zones: {known}")
        vms = inventory.ssvms_in(zone.id)
        eligible, skipped = diagnosable(vms, ())
        checks: list[Check] = []
        if eligible:
            targets = await zone_targets(client, zone, extra)
            checks = await run_round(client, eligible, targets)
    diagnosis = diagnose(Connectivity(tuple(checks)), vms)
    healthy, reason, message = diagnosis.summary(zone.name)
    status = "Unknown" if healthy is None else str(healthy)
    return Report(f"zone {zone.name}", tuple(checks), status, reason, message, note=skipped)


def run_now_sync(
    settings: ConnectionSettings, credentials: Credentials, zone_name: str, extra: Sequence[str] = ()
) -> Report:
    return asyncio.run(run_now(settings, credentials, zone_name, extra))


def print_report(report: Report, out: TextIO) -> None:
    out.write(f"{report.title}: Connectivity={report.status} ({report.reason})\n")
    out.write(f"  {report.message}\n")
    if report.note:
        out.write(f"  note: {report.note}\n")
    rows = [_row(c) for c in report.checks]
    if not rows:
        return
    header = ("SSVM", "ROLE", "TARGET", "REACHABLE", "LATENCY", "CHECKED", "ERROR")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  " + "  ".join([*cells, str(row[-1])]).rstrip() + "\n")


def _row(check: Check | Mapping[str, Any]) -> tuple[str, ...]:
    if isinstance(check, Check):
        name = check.target.name
        target = check.target.address + (f" ({name})" if name and name != check.target.address else "")
        return (
            check.ssvm_name,
            check.target.role.value,
            target,
            _yes_no(check.reachable),
            f"{check.latency_ms} ms" if check.latency_ms is not None else "-",
            check.checked_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            check.error or "",
        )
    name = check.get("targetName")
    target = str(check.get("target", "?")) + (f" ({name})" if name and name != check.get("target") else "")
    latency = check.get("latencyMs")
    return (
        str(check.get("ssvm", "?")),
        str(check.get("role", "?")),
        target,
        _yes_no(check.get("reachable")),
        f"{latency} ms" if latency is not None else "-",
        str(check.get("checkedAt", "")),
        str(check.get("error") or ""),
    )


def _yes_no(reachable: object) -> str:
    if reachable is None:
        return "not run"
    return "yes" if reachable else "no"
