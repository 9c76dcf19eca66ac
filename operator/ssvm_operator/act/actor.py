"""Executes planned actions: re-read the target, submit one CloudStack job, record it, follow it.

The job id is written to status.inFlight (through `record`) before the job is ever polled, so an operator
restarted at any point polls the recorded job instead of submitting a second one. CloudStack also marks a
VM with a pending job (`jobid` in listSystemVms), which the planner treats as converging: a second line of
defence if a status write was lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from ssvm_operator.act import evidence
from ssvm_operator.act.destroy_note import with_destroy_note
from ssvm_operator.act.outcome import Outcome, Result
from ssvm_operator.act.upgrade import upgraded_already
from ssvm_operator.cloud import systemvm
from ssvm_operator.cloud.client import CloudApi, JobState
from ssvm_operator.cloud.errors import CloudError
from ssvm_operator.model.snapshot import Health
from ssvm_operator.model.spec import EvidencePolicy
from ssvm_operator.plan.types import TRAITS, ActionKind, InFlight, PlannedAction

RecordInFlight = Callable[[tuple[InFlight, ...]], Awaitable[None]]
Submit = Callable[[CloudApi, PlannedAction], Awaitable[str]]
"""Submits the job of one SSVM action; returns its job id."""

STEP_STOP = "stop"
STEP_START = "start"
STOP_THEN_START = frozenset({ActionKind.CHANGE_OFFERING, ActionKind.ROLLOUT_RESTART})
"""Actions whose stop job is followed by a start (the new offering, or boot arguments, apply at a start)."""
_AFTER_STOP = {
    ActionKind.CHANGE_OFFERING: "on the new offering",
    ActionKind.ROLLOUT_RESTART: "so it boots with the new boot arguments",
}


class Actor:
    def __init__(
        self,
        client: CloudApi,
        in_flight: tuple[InFlight, ...],
        record: RecordInFlight,
        now: Callable[[], datetime],
        job_timeout_seconds: float,
        evidence_policy: EvidencePolicy | None = None,
    ) -> None:
        self._client = client
        self._evidence = evidence_policy or EvidencePolicy(collect=False)
        self._record = record
        self._now = now
        self._job_timeout = timedelta(seconds=job_timeout_seconds)
        self.in_flight: list[InFlight] = list(in_flight)

    async def follow_jobs(self) -> list[Outcome]:
        """Poll every recorded job once; finish, advance or give up on each."""
        outcomes: list[Outcome] = []
        for entry in list(self.in_flight):
            if entry.job_id is None:
                self.in_flight.remove(entry)
                continue
            if evidence.collecting(entry):
                # Requested before a restart: follow that job for what is left of its time, then destroy.
                found = await evidence.outcome(self._client, entry, self._evidence, self._now())
                outcomes.append(await self._destroy_after_evidence(entry, found))
                continue
            try:
                job = await self._client.job(entry.job_id)
            except CloudError as error:
                if self._now() - entry.started_at > self._job_timeout:
                    outcomes.append(await self._drop(entry, Result.FAILED, f"job unreadable: {error}"))
                continue  # the job is still ours; ask again next poll
            if job.state is JobState.PENDING:
                if self._now() - entry.started_at > self._job_timeout:
                    message = (
                        f"job {entry.job_id} still running after {int(self._job_timeout.total_seconds())}s "
                        "(jobTimeoutSeconds); CloudStack may still finish it"
                    )
                    outcomes.append(await self._drop(entry, Result.FAILED, message))
                continue
            if job.state is JobState.FAILED:
                message = (
                    f"{_verb(entry)} failed in CloudStack job {job.id}: {job.error_text} ({job.error_code})"
                )
                outcomes.append(await self._drop(entry, Result.FAILED, message))
                continue
            if entry.action in STOP_THEN_START and entry.step == STEP_STOP:
                outcomes.append(await self._start_after_stop(entry))
                continue
            outcomes.append(
                await self._drop(entry, Result.SUCCEEDED, f"{_verb(entry)} finished (job {job.id})")
            )
        return outcomes

    async def execute(self, action: PlannedAction) -> Outcome:
        try:
            return await self._execute(action)
        except CloudError as error:
            return self._outcome(action, Result.FAILED, str(error), retryable=error.retryable)

    async def _execute(self, action: PlannedAction) -> Outcome:
        kind = action.kind
        if TRAITS[kind].zone_level:
            enabled = kind is ActionKind.ENABLE_ZONE
            await systemvm.set_zone_ssvms_enabled(self._client, action.zone_id, enabled)
            state = "true" if enabled else "false"
            return self._outcome(action, Result.SUCCEEDED, f"set zone detail enable.secstorage.vm={state}")
        assert action.vm_id is not None, f"{kind} needs an SSVM"
        current = await systemvm.find_ssvm(self._client, action.vm_id)
        if current is None:
            # "Not found" on destroy is success: CloudStack (or someone) already removed it.
            result = Result.SUCCEEDED if TRAITS[kind].removes_vm else Result.SKIPPED
            return self._outcome(action, result, "the SSVM no longer exists in CloudStack")
        if current.pending_job_id:
            return self._outcome(
                action, Result.SKIPPED, f"CloudStack is running job {current.pending_job_id} on it"
            )
        stale = _no_longer_needed(
            kind, current.state, current.health, current.offering_id, action.offering_id
        ) or upgraded_already(action, current)
        if stale and not (action.diagnosed and current.state == "Running"):
            return self._outcome(action, Result.SKIPPED, stale)
        if evidence.wanted(action, self._evidence):
            return await self._collect_then_destroy(action)
        job_id = await SUBMIT[kind](self._client, action)
        step = STEP_STOP if kind in STOP_THEN_START else None
        await self._add(InFlight(kind, action.vm_id, action.vm_name, job_id, self._now(), step))
        message = with_destroy_note(kind, f"{action.reason}; CloudStack job {job_id}")
        return self._outcome(action, Result.STARTED, message, job_id=job_id, agent_state=current.agent_state)

    async def _collect_then_destroy(self, action: PlannedAction) -> Outcome:
        try:
            entry = await evidence.request(self._client, action, self._now())
        except CloudError as error:
            placeholder = InFlight(
                action.kind, action.vm_id, action.vm_name, None, self._now(), evidence.STEP
            )
            self.in_flight.append(placeholder)
            found = evidence.not_requested(error)
            return await self._destroy_after_evidence(placeholder, found, action.reason)
        await self._add(entry)
        found = await evidence.outcome(self._client, entry, self._evidence, self._now())
        return await self._destroy_after_evidence(entry, found, action.reason)

    async def _destroy_after_evidence(
        self, entry: InFlight, found: evidence.Evidence, reason: str | None = None
    ) -> Outcome:
        """The destroy the collection held back: once, whatever the collection gave."""
        assert entry.vm_id is not None
        evidence.log_result(entry, found)
        note = found.describe()
        try:
            current = await systemvm.find_ssvm(self._client, entry.vm_id)
            if current is None:
                return await self._drop(entry, Result.SUCCEEDED, f"the SSVM no longer exists; {note}")
            if current.pending_job_id and current.pending_job_id != entry.job_id:
                message = f"CloudStack is running job {current.pending_job_id} on it; {note}"
                return await self._drop(entry, Result.SKIPPED, message)
            if entry.step != evidence.STEP_DIAGNOSED:
                stale = _no_longer_needed(entry.action, current.state, current.health, None, None)
                if stale:
                    return await self._drop(entry, Result.SKIPPED, f"{stale}; {note}")
            job_id = await systemvm.destroy(self._client, entry.vm_id)
        except CloudError as error:
            return await self._drop(entry, Result.FAILED, f"destroy failed: {error}; {note}", error.retryable)
        self.in_flight.remove(entry)
        await self._add(InFlight(entry.action, entry.vm_id, entry.vm_name, job_id, self._now()))
        message = f"{reason + '; ' if reason else ''}{note}; destroying it, CloudStack job {job_id}"
        message = with_destroy_note(entry.action, message)
        return Outcome(entry.action, Result.STARTED, message, self._now(), entry.vm_id, entry.vm_name, job_id)

    async def _start_after_stop(self, entry: InFlight) -> Outcome:
        assert entry.vm_id is not None
        try:
            current = await systemvm.find_ssvm(self._client, entry.vm_id)
            if current is None or current.state in ("Starting", "Running"):
                # CloudStack's scanner restarts a stopped SSVM by itself; it applied the new offering too.
                how = "gone" if current is None else f"{current.state}: CloudStack started it"
                return await self._drop(entry, Result.SUCCEEDED, f"stopped for the new offering; now {how}")
            job_id = await systemvm.start(self._client, entry.vm_id)
        except CloudError as error:
            return await self._drop(entry, Result.FAILED, f"start after the offering change failed: {error}")
        self.in_flight.remove(entry)
        await self._add(InFlight(entry.action, entry.vm_id, entry.vm_name, job_id, self._now(), STEP_START))
        return Outcome(
            entry.action,
            Result.STARTED,
            f"stopped; starting {_AFTER_STOP[entry.action]}, CloudStack job {job_id}",
            self._now(),
            entry.vm_id,
            entry.vm_name,
            job_id,
        )

    async def _add(self, entry: InFlight) -> None:
        self.in_flight.append(entry)
        await self._record(tuple(self.in_flight))

    async def _drop(self, entry: InFlight, result: Result, message: str, retryable: bool = True) -> Outcome:
        self.in_flight.remove(entry)
        await self._record(tuple(self.in_flight))
        return Outcome(
            entry.action, result, message, self._now(), entry.vm_id, entry.vm_name, entry.job_id, retryable
        )

    def _outcome(
        self,
        action: PlannedAction,
        result: Result,
        message: str,
        *,
        job_id: str | None = None,
        retryable: bool = True,
        agent_state: str | None = None,
    ) -> Outcome:
        return Outcome(
            action.kind,
            result,
            message,
            self._now(),
            action.vm_id,
            action.vm_name,
            job_id,
            retryable,
            agent_state,
        )


def _on_the_vm(call: Callable[[CloudApi, str], Awaitable[str]]) -> Submit:
    """The job of an action that is one CloudStack call on the SSVM's id."""

    async def submit(client: CloudApi, action: PlannedAction) -> str:
        assert action.vm_id is not None
        return await call(client, action.vm_id)

    return submit


_start = _on_the_vm(systemvm.start)
_reboot = _on_the_vm(systemvm.reboot)
_destroy = _on_the_vm(systemvm.destroy)
_patch = _on_the_vm(systemvm.patch)
_stop = _on_the_vm(systemvm.stop)


async def _change_offering(client: CloudApi, action: PlannedAction) -> str:
    """changeServiceForSystemVm needs the VM stopped: change, then stop; follow_jobs starts it again."""
    assert action.vm_id is not None and action.offering_id is not None
    await systemvm.change_offering(client, action.vm_id, action.offering_id)
    return await systemvm.stop(client, action.vm_id)


SUBMIT: Mapping[ActionKind, Submit] = {
    ActionKind.START: _start,
    ActionKind.REBOOT: _reboot,
    ActionKind.RECREATE: _destroy,
    ActionKind.CHANGE_OFFERING: _change_offering,
    ActionKind.DESTROY_SURPLUS: _destroy,
    ActionKind.ROLLOUT_REBOOT: _reboot,
    ActionKind.ROLLOUT_RECREATE: _destroy,
    ActionKind.ROLLOUT_RESTART: _stop,
    ActionKind.UPGRADE_PATCH: _patch,
    ActionKind.UPGRADE_RECREATE: _destroy,
}
"""The CloudStack job of each SSVM action (zone-level actions are no job: updateZone answers at once)."""


def _no_longer_needed(
    kind: ActionKind, state: str, health: Health, offering_id: str | None, target_offering: str | None
) -> str | None:
    """Why the re-read SSVM no longer needs the action, or None if it still does."""
    if kind is ActionKind.START and state != "Stopped":
        return f"it is {state} now"
    if kind in (ActionKind.REBOOT, ActionKind.RECREATE) and health is Health.HEALTHY:
        return "it is healthy again"
    if kind is ActionKind.CHANGE_OFFERING and offering_id == target_offering:
        return "it already runs on the declared offering"
    return None


def _verb(entry: InFlight) -> str:
    return f"{entry.action} of {entry.vm_name or entry.vm_id}"
