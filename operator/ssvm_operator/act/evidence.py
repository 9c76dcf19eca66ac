"""Keep the evidence: an SSVM's diagnostics data, collected before the operator destroys it.

getDiagnosticsData (async, admin, since 4.14: GetDiagnosticsDataCmd, DiagnosticsServiceImpl) zips files from
inside a system VM (`diagnostics.data.systemvm.defaults` unless `files` is given: iptables, ip addresses and
routes, agent.properties, /var/log/cloud.log, ...), copies the zip to an image store of the zone as
diagnostics_data/diagnostics_files_<time>.tar and answers {"diagnostics": {"url": ...}}: a link under
/userdata/ on an SSVM of the zone. CloudStack deletes the file after `diagnostics.data.max.file.age` (a day
by default); the link lasts only as long as the SSVM serving it. docs/troubleshooting.md shows how to read it.

Collecting is best effort and bounded: the repair waits at most `spec.health.evidence.timeoutSeconds` and goes
on whatever the answer. The collection job is recorded in status.inFlight (step `evidence`) before it is ever
polled, so a restarted operator follows the same job and does the destroy once, never a second collection.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from ssvm_operator.cloud.client import CloudApi, Job, JobState
from ssvm_operator.cloud.errors import AuthError, CloudError, JobTimeout
from ssvm_operator.model.spec import EvidencePolicy, PoolSpec
from ssvm_operator.plan.types import TRAITS, InFlight, PlannedAction

log = structlog.get_logger("ssvm_operator.evidence")

COMMAND = "getDiagnosticsData"
STEP = "evidence"
"""InFlight.step while the collection runs and the destroy waits for it."""
STEP_DIAGNOSED = "evidence-diagnosed"
"""The same, for a recreate the connectivity diagnostics asked for (CloudStack shows that SSVM healthy)."""
UNKNOWN_COMMAND_CODES = frozenset({401, 432})
"""What CloudStack answers for a command it does not have or the API key's role may not call: 401 under
API-key authentication (ApiServer.verifyRequest), 432 on the integration port."""


@dataclass(frozen=True)
class Evidence:
    """What became of one collection: the download URL, or why there is none."""

    url: str | None = None
    missing: str | None = None

    def describe(self) -> str:
        if self.url:
            return f"evidence: {self.url}"
        return f"no evidence: {self.missing}"


def wanted(action: PlannedAction, policy: EvidencePolicy) -> bool:
    return policy.collect and TRAITS[action.kind].removes_vm and action.vm_id is not None


def collecting(entry: InFlight) -> bool:
    return entry.step in (STEP, STEP_DIAGNOSED)


def plan_note(action: PlannedAction, policy: EvidencePolicy) -> str | None:
    """How plannedActions (and so Observe mode) shows a collection that would come first."""
    if not wanted(action, policy):
        return None
    return f"{COMMAND} first, waiting at most {int(policy.timeout_seconds)}s"


def annotate(
    rows: list[dict[str, Any]], actions: Sequence[PlannedAction], spec: PoolSpec
) -> list[dict[str, Any]]:
    """status.plannedActions rows, each destroy with the collection that would precede it."""
    for row, action in zip(rows, actions, strict=True):
        note = plan_note(action, spec.health.evidence)
        if note:
            row["evidence"] = note
    return rows


async def request(client: CloudApi, action: PlannedAction, now: datetime) -> InFlight:
    """Submit the collection; the entry to record before anything polls it."""
    assert action.vm_id is not None
    job_id = await client.submit(COMMAND, targetid=action.vm_id)
    step = STEP_DIAGNOSED if action.diagnosed else STEP
    return InFlight(action.kind, action.vm_id, action.vm_name, job_id, now, step)


def not_requested(error: CloudError) -> Evidence:
    """Why no collection was started: the command is not offered, or CloudStack refused it now."""
    if isinstance(error, AuthError) or error.code in UNKNOWN_COMMAND_CODES:
        return Evidence(
            missing=f"CloudStack does not offer {COMMAND} to this API key (it answered {error.code}: "
            "a release before 4.14, or a role without the command); collection skipped"
        )
    return Evidence(missing=f"{COMMAND} was refused: {error.detail}")


async def outcome(client: CloudApi, entry: InFlight, policy: EvidencePolicy, now: datetime) -> Evidence:
    """Wait for the recorded collection, at most until its deadline (counted from when it was requested, so
    a restarted operator does not wait twice), and say what it gave."""
    assert entry.job_id is not None
    remaining = policy.timeout_seconds - (now - entry.started_at).total_seconds()
    try:
        job = await client.wait(entry.job_id, deadline=time.monotonic() + max(0.0, remaining))
    except JobTimeout:
        return Evidence(
            missing=f"{COMMAND} job {entry.job_id} still running after {int(policy.timeout_seconds)}s "
            "(spec.health.evidence.timeoutSeconds); not waited for"
        )
    except CloudError as error:
        return Evidence(missing=f"{COMMAND} job {entry.job_id} could not be read: {error}")
    return read(job)


def log_result(entry: InFlight, found: Evidence) -> None:
    log.info(
        "ssvm.evidence",
        action=str(entry.action),
        vm=entry.vm_name or entry.vm_id,
        job=entry.job_id,
        url=found.url,
        missing=found.missing,
    )


def read(job: Job) -> Evidence:
    if job.state is JobState.SUCCEEDED:
        url = _url(job.result)
        if url:
            return Evidence(url=url)
        return Evidence(missing=f"{COMMAND} job {job.id} answered no URL")
    return Evidence(missing=f"{COMMAND} job {job.id} failed: {job.error_text} ({job.error_code})")


def _url(result: Mapping[str, Any]) -> str | None:
    diagnostics = result.get("diagnostics")
    if isinstance(diagnostics, Mapping) and diagnostics.get("url"):
        return str(diagnostics["url"])
    return None
