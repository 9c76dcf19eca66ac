"""`listApis`: what the API discovery plugin answers, for clients that learn the API from the server.

CloudMonkey's `sync` and other generic clients call it first (plugins/api/discovery/.../
ApiDiscoveryServiceImpl.java, listApis, and its ApiDiscoveryResponse / ApiParameterResponse). The
simulator lists exactly the commands it serves for the answering release, with the parameters that
release declares, so a client never offers a command the simulator would refuse.
"""

from __future__ import annotations

from typing import Any

from cloudstack_sim.commands import Command, Services, registry
from cloudstack_sim.errors import internal_error
from cloudstack_sim.params import Param


def _param(param: Param) -> dict[str, Any]:
    # ApiParameterResponse: type is the CommandType name lower-cased, length the @Parameter length (255).
    return {
        "name": param.name,
        "description": "",
        "type": param.kind.value,
        "length": param.max_length,
        "required": param.required,
    }


def _api(command: Command) -> dict[str, Any]:
    api: dict[str, Any] = {
        "name": command.name,
        "description": "",
        "isasync": command.is_async,
        "related": "",
        "params": [_param(p) for p in command.params],
        "response": [],
    }
    if command.since:
        api["since"] = command.since
    return api


async def list_apis(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    commands = registry(services.cloud.release)
    name = args.get("name")
    if name is not None:
        if name not in commands:
            # ApiDiscoveryServiceImpl.listApis returns null for an unknown name; ListApisCmd.execute turns
            # that into a ServerApiException(INTERNAL_ERROR).
            raise internal_error(
                "Api Discovery plugin was unable to find an api by that name or process any apis"
            )
        selected = [commands[name]]
    else:
        selected = sorted(commands.values(), key=lambda c: c.name)
    return {"count": len(selected), "api": [_api(c) for c in selected]}


COMMANDS = (Command("listApis", (Param("name"),), list_apis, since="4.1.0"),)
