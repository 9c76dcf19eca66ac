"""The API commands the simulator answers, one module per CloudStack domain.

Each command declares its parameters (checked before the handler runs, as ParamProcessWorker does),
whether it is async, and its response name: the API name lower-cased plus `response`
(api/src/main/java/org/apache/cloudstack/api/BaseCmd.java L289-298) unless the command overrides it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from cloudstack_sim.cloud import Cloud
from cloudstack_sim.jobs import JobTable, JobWork
from cloudstack_sim.lifecycle import Lifecycle
from cloudstack_sim.params import Param
from cloudstack_sim.releases import LATEST, Release


@dataclass
class Services:
    """What command handlers may use."""

    cloud: Cloud
    lifecycle: Lifecycle
    jobs: JobTable


@dataclass(frozen=True)
class AsyncWork:
    """What an async command's handler returns after its synchronous checks: the job to queue."""

    instance_uuid: str | None
    run: JobWork


SyncHandler = Callable[[Services, dict[str, Any]], Awaitable[dict[str, Any]]]
AsyncHandler = Callable[[Services, dict[str, Any]], Awaitable[AsyncWork]]


@dataclass(frozen=True)
class Command:
    name: str
    params: tuple[Param, ...]
    handler: SyncHandler | AsyncHandler
    is_async: bool = False
    cmd_class: str = ""
    """The Java class a job records in its `cmd` field."""
    failure_text: str = "Failed to execute the command"
    """What a failed job of this command says (also used by injected job failures)."""
    response_name: str | None = None
    since: str | None = None
    """The @APICommand `since` where the annotation has one (what listApis shows)."""

    @property
    def response_key(self) -> str:
        return self.response_name or f"{self.name.lower()}response"


def registry(release: Release | None = None) -> dict[str, Command]:
    """Every command the release serves, by its exact API name (CloudStack looks names up case-sensitively),
    each with the parameters that release declares: the others are ignored, as CloudStack ignores unknown
    parameters (releases.py)."""
    from cloudstack_sim.commands import (
        apis,
        configuration,
        diagnostics,
        diagnostics_data,
        infrastructure,
        jobs,
        systemvms,
        zones,
    )

    release = release or Release(LATEST)
    commands: dict[str, Command] = {}
    for module in (
        systemvms,
        zones,
        configuration,
        infrastructure,
        jobs,
        diagnostics,
        diagnostics_data,
        apis,
    ):
        for command in module.COMMANDS:
            if not release.has_command(command.name):
                continue
            params = tuple(p for p in command.params if release.has_parameter(command.name, p.name))
            commands[command.name] = replace(command, params=params)
    return commands
