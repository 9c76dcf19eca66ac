"""queryAsyncJobResult and listAsyncJobs (api/src/main/java/org/apache/cloudstack/api/command/user/job/)."""

from __future__ import annotations

from typing import Any

from cloudstack_sim import views
from cloudstack_sim.clock import parse_expires
from cloudstack_sim.commands import Command, Services
from cloudstack_sim.commands.systemvms import max_page_size
from cloudstack_sim.errors import param_error
from cloudstack_sim.jobs import Job
from cloudstack_sim.params import LIST_PARAMS, Kind, Param, keyword_matches, page_of


async def query_async_job_result(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    """The AsyncJobResponse itself, without an object wrapper (ApiResponseSerializer L144-146)."""
    job = args["jobid"]
    assert isinstance(job, Job)
    return services.jobs.view(job)


async def list_async_jobs(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    page = page_of(args, max_page_size(services))
    since = None
    if "startdate" in args:
        since = parse_expires(args["startdate"])
        if since is None:
            raise param_error(
                f"Unable to parse date {args['startdate']} for command listasyncjobs, please pass "
                "dates in the format mentioned in the api documentation"
            )
    jobs = [
        job
        for job in services.jobs.ordered()
        if (since is None or job.created >= since) and keyword_matches(args.get("keyword"), job.cmd_class)
    ]
    items = [services.jobs.view(job) for job in page.apply(jobs)]
    return views.list_body("asyncjobs", items, len(jobs))


COMMANDS = (
    Command(
        "queryAsyncJobResult",
        (Param("jobid", Kind.UUID, required=True, entity="job"),),
        query_async_job_result,
    ),
    Command(
        "listAsyncJobs",
        (
            Param("startdate"),
            Param("managementserverid", Kind.UUID, entity="ms"),
            Param("account"),
            Param("domainid", Kind.UUID, entity="domain"),
            Param("isrecursive", Kind.BOOLEAN),
            Param("listall", Kind.BOOLEAN),
            *LIST_PARAMS,
        ),
        list_async_jobs,
    ),
)
