"""What a destroySystemVm does beyond the SSVM: said in the Event of every destroy the operator starts."""

from __future__ import annotations

from ssvm_operator.plan.types import ActionKind, traits

DOWNLOAD_URLS_EXPIRE = (
    "users' download links of this zone stop working: destroySystemVm expires every template and volume "
    "download URL of the zone (users must extract again)"
)
"""ManagementServerImpl.destroySecondaryStorageVm calls cleanupDownloadUrlsInZone before the destroy."""


def with_destroy_note(kind: ActionKind, message: str) -> str:
    return f"{message}; {DOWNLOAD_URLS_EXPIRE}" if traits(kind).removes_vm else message
