"""BASELINE, not the operator: a naive per-pool poller, the design `make bench` compares ours against.

Each pool looks after itself: every poll it resolves its zone, lists that zone's SSVMs and their agents
(host rows) and the SSVM offerings. Four requests per pool per poll, so CloudStack's load grows with the
number of SSVMPool objects. The operator instead shares one inventory per endpoint (cloud/inventory.py).
"""

from __future__ import annotations

from typing import Any

from ssvm_operator.cloud.client import CloudClient
from ssvm_operator.model.snapshot import SSVM_VM_TYPE as SSVM_TYPE


async def naive_poll(client: CloudClient, zone_name: str) -> dict[str, Any]:
    """One pool's view of its zone, fetched for that pool alone."""
    zones = await client.list("listZones", name=zone_name)
    zone_id = str(zones[0]["id"]) if zones else ""
    vms = await client.list("listSystemVms", systemvmtype=SSVM_TYPE, zoneid=zone_id)
    hosts = await client.list("listHosts", type="SecondaryStorageVM", zoneid=zone_id)
    offerings = await client.list("listServiceOfferings", issystem=True, systemvmtype=SSVM_TYPE)
    return {"zone": zones[:1], "ssvms": vms, "agents": hosts, "offerings": offerings}
