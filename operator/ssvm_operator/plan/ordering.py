"""Deterministic order of SSVMs, so that plans (and the status they fill) are stable across polls."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ssvm_operator.model.snapshot import SystemVm

_DIGITS = re.compile(r"(\d+)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def natural_key(name: str) -> tuple[str | int, ...]:
    """s-3-VM sorts before s-12-VM: CloudStack names SSVMs s-<internal id>-<instance.name>."""
    parts = _DIGITS.split(name)
    # re.split with one capturing group alternates text and digits, so equal positions hold equal types.
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts))


def by_name(vm: SystemVm) -> tuple[tuple[str | int, ...], str]:
    return natural_key(vm.name), vm.id


def by_age(vm: SystemVm) -> tuple[bool, datetime, tuple[str | int, ...], str]:
    """Oldest first. An SSVM without a creation time sorts as the oldest, so it is the last one given up."""
    created = vm.created
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created is not None, created or _EPOCH, natural_key(vm.name), vm.id
