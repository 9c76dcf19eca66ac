"""Async jobs: what an async command returns at once (`jobid`) and what queryAsyncJobResult shows later.

Sources: server/src/main/java/com/cloud/api/ApiAsyncJobDispatcher.java L108-137 (how a job ends),
api/src/main/java/org/apache/cloudstack/jobs/JobInfo.java L25-26 (status ordinals) and
server/src/main/java/com/cloud/api/query/dao/AsyncJobJoinDaoImpl.java L59-104 (the response fields).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from cloudstack_sim.clock import cs_date
from cloudstack_sim.cloud import Cloud
from cloudstack_sim.errors import INTERNAL_ERROR, ApiError

log = logging.getLogger("cloudstack_sim.jobs")

JobWork = Callable[[], Awaitable[dict[str, Any]]]
"""The body of an async command: returns the job result object, raises ApiError to fail the job."""

RESTART_FAILURE = "job cancelled because of management server restart or shutdown"


class JobStatus(IntEnum):
    IN_PROGRESS = 0
    SUCCEEDED = 1
    FAILED = 2
    CANCELLED = 3


@dataclass
class Job:
    uuid: str
    internal_id: int
    command: str
    cmd_class: str
    instance_type: str | None
    instance_uuid: str | None
    created: datetime
    management_server_uuid: str
    management_server_name: str
    status: JobStatus = JobStatus.IN_PROGRESS
    result_code: int = 0
    result: dict[str, Any] | None = None
    completed: datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class JobTable:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.jobs: dict[str, Job] = {}

    def submit(
        self,
        command: str,
        cmd_class: str,
        instance_uuid: str | None,
        work: JobWork,
        instance_type: str | None = "SystemVm",
    ) -> Job:
        ms = self.cloud.primary_ms
        job = Job(
            uuid=self.cloud.new_uuid(),
            internal_id=self.cloud.next_id("async_job"),
            command=command,
            cmd_class=cmd_class,
            instance_type=instance_type if instance_uuid else None,
            instance_uuid=instance_uuid,
            created=self.cloud.now(),
            management_server_uuid=ms.uuid,
            management_server_name=ms.name,
        )
        self.jobs[job.uuid] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job, work))
        return job

    async def _run(self, job: Job, work: JobWork) -> None:
        try:
            result = await work()
        except ApiError as error:
            self._finish(job, JobStatus.FAILED, error.code, error.job_result())
        except asyncio.CancelledError:
            raise
        except Exception as error:  # an unhandled throwable ends the job with 530
            log.exception("job.crashed job=%s command=%s", job.uuid, job.command)
            self._finish(
                job, JobStatus.FAILED, INTERNAL_ERROR, {"errorcode": INTERNAL_ERROR, "errortext": str(error)}
            )
        else:
            self._finish(job, JobStatus.SUCCEEDED, 0, result)

    def _finish(self, job: Job, status: JobStatus, code: int, result: dict[str, Any]) -> None:
        if job.status is not JobStatus.IN_PROGRESS:
            return  # already failed by a management-server restart; the late outcome is lost
        job.status = status
        job.result_code = code
        job.result = result
        job.completed = self.cloud.now()
        log.info("job.finished job=%s command=%s status=%s", job.uuid, job.command, status.name)

    def get(self, uuid: str) -> Job | None:
        return self.jobs.get(uuid)

    def pending_for(self, instance_uuid: str) -> Job | None:
        pending = [
            j
            for j in self.jobs.values()
            if j.instance_uuid == instance_uuid and j.status is JobStatus.IN_PROGRESS
        ]
        return max(pending, key=lambda j: j.internal_id) if pending else None

    def fail_pending(self, management_server_uuids: set[str]) -> list[Job]:
        """A restarting management server fails the jobs it owned (AsyncJobManagerImpl cleanup at start).

        The work itself keeps running, as the hypervisor would keep booting a VM it was asked to boot.
        """
        failed = []
        for job in self.jobs.values():
            if job.status is JobStatus.IN_PROGRESS and job.management_server_uuid in management_server_uuids:
                self._finish(
                    job,
                    JobStatus.FAILED,
                    INTERNAL_ERROR,
                    {"errorcode": INTERNAL_ERROR, "errortext": RESTART_FAILURE},
                )
                failed.append(job)
        return failed

    def ordered(self) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.internal_id)

    def view(self, job: Job) -> dict[str, Any]:
        account = self.cloud.account
        fields: dict[str, Any] = {
            "accountid": account.uuid,
            "account": account.name,
            "domainid": account.domain_uuid,
            "domainpath": account.domain_path,
            "userid": account.user_uuid,
            "cmd": job.cmd_class,
            "jobstatus": job.status.value,
            "jobprocstatus": 0,
            "jobresultcode": job.result_code,
        }
        if job.result is not None:
            fields["jobresulttype"] = "object"
            fields["jobresult"] = job.result
        if job.instance_uuid is not None:
            fields["jobinstancetype"] = job.instance_type
            fields["jobinstanceid"] = job.instance_uuid
        fields["managementserverid"] = job.management_server_uuid
        fields["managementservername"] = job.management_server_name
        fields["created"] = cs_date(job.created)
        if job.completed is not None:
            fields["completed"] = cs_date(job.completed)
        fields["jobid"] = job.uuid
        return fields

    async def close(self) -> None:
        tasks = [j.task for j in self.jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
