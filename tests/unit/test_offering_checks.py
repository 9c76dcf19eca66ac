"""Offering changes CloudStack would refuse (storage scope, storage tags) are refused before any stop."""

from __future__ import annotations

from dataclasses import replace

from ssvm_operator.model.snapshot import Inventory, Offering
from ssvm_operator.plan.types import ActionKind
from tests.unit.plan_builders import OFFERINGS, STANDARD, inventory, kinds, plan, reasons, spec, ssvm

LOCAL_TWIN = Offering(
    "off-local",
    "System Offering For Secondary Storage VM - Local Storage",
    True,
    "secondarystoragevm",
    storage_type="local",
)
TAGGED = Offering("off-tagged", "SSVM on fast", True, "secondarystoragevm", storage_tags=("fast",))


def with_offerings(*extra: Offering, current: Offering = STANDARD) -> Inventory:
    offerings = {o.id: o for o in (*OFFERINGS, *extra, current)}
    return replace(inventory(ssvm(1, offering=current.id)), offerings=tuple(offerings.values()))


def test_the_local_storage_twin_is_refused_with_cloudstacks_reason() -> None:
    result = plan(with_offerings(LOCAL_TWIN), spec(offering=LOCAL_TWIN.name))
    assert not any(kind is ActionKind.CHANGE_OFFERING for kind, _ in kinds(result))
    message = reasons(result)["OfferingRefused"]
    assert (
        "target offering use local storage but the storage pool where the volume is allocated is a shared"
        in message
    )


def test_an_offering_without_the_current_storage_tags_is_refused() -> None:
    result = plan(with_offerings(STANDARD, current=TAGGED), spec(offering=STANDARD.name))
    assert "missing: fast" in reasons(result)["OfferingRefused"]


def test_a_compatible_offering_is_changed() -> None:
    result = plan(with_offerings(TAGGED), spec(offering=TAGGED.name))
    assert kinds(result) == [(ActionKind.CHANGE_OFFERING, "s-1-VM")]
