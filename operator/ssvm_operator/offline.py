"""`ssvm-operator plan`: what Enforce would do for some SSVMPool files, without Kubernetes.

Meant as a GitOps pull-request check: it reads the pools from YAML, observes CloudStack once, and prints
the plan. Nothing in CloudStack is changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import yaml

from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.inventory import fetch_inventory
from ssvm_operator.model.spec import Mode, PoolSpec, SpecError
from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.types import Plan, PoolContext, Severity


def load_pools(paths: Iterable[Path]) -> list[tuple[str, PoolSpec]]:
    """Every SSVMPool document in the files, as (name, spec); a bad spec raises SpecError naming the file."""
    pools = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "SSVMPool":
                continue
            name = str((doc.get("metadata") or {}).get("name", "?"))
            try:
                spec = PoolSpec.parse(doc.get("spec") or {}, (doc.get("metadata") or {}).get("annotations"))
            except SpecError as error:
                raise SpecError(f"{path}: SSVMPool {name}: spec.{error.field}", error.message) from None
            pools.append((name, spec))
    return pools


async def plan_files(
    paths: Iterable[Path], settings: ConnectionSettings, credentials: Credentials
) -> list[tuple[str, Plan]]:
    pools = load_pools(paths)
    async with CloudClient(settings, credentials) as client:
        inventory = await fetch_inventory(client)
    now = datetime.now(UTC)
    plans = []
    for name, spec in pools:
        # Show what Enforce would do, even for pools declared in Observe mode.
        enforced = replace(spec, mode=Mode.ENFORCE)
        ctx = PoolContext(enforced, inventory, now, scan_interval_seconds=inventory.scan_interval_seconds)
        plans.append((name, plan_pool(ctx)))
    return plans


def print_plans(plans: list[tuple[str, Plan]], out: TextIO) -> bool:
    """Print the plans; True when any pool is stalled (the check should fail)."""
    stalled = False
    for name, plan in plans:
        zone = plan.zone.name if plan.zone else "?"
        out.write(f"SSVMPool {name} (zone {zone}): {plan.ready_replicas}/{plan.desired_replicas} ready\n")
        for finding in plan.findings:
            stalled |= finding.severity is Severity.STALLED
            out.write(f"  {finding.severity}: {finding.reason}: {finding.message}\n")
        if not plan.actions:
            out.write("  no action\n")
        for action in plan.actions:
            target = action.vm_name or action.vm_id or "zone"
            line = f"  {action.kind} {target}: {action.reason}"
            if action.blocked:
                line += f" [not now: {action.blocked}]"
            out.write(line + "\n")
    return stalled
