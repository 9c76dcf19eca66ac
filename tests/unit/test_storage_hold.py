"""Image-store capacity: no destroy, recreate or stop/start where no store is under the threshold."""

from __future__ import annotations

from dataclasses import replace

from ssvm_operator.model.image_store import ImageStore
from ssvm_operator.model.snapshot import Inventory
from ssvm_operator.plan.types import TRAITS, ActionKind
from tests.unit.plan_builders import (
    ZONE_ID,
    inventory,
    kinds,
    plan,
    reasons,
    runnable,
    ssvm,
    unhealthy_for,
)

RECREATE = ActionKind.RECREATE


def with_stores(inv: Inventory, *used: int, threshold: str | None = None) -> Inventory:
    stores = tuple(ImageStore(f"st-{i}", f"nfs-{i}", ZONE_ID, 1000, u) for i, u in enumerate(used))
    settings = (
        {**inv.settings, "secondary.storage.capacity.threshold": threshold} if threshold else inv.settings
    )
    return replace(inv, image_stores=stores, settings=settings)


def broken() -> Inventory:
    return inventory(ssvm(1, state="Error", agent=None))


def test_a_full_zone_holds_the_recreation_and_says_why() -> None:
    result = plan(with_stores(broken(), 950, 990), memory={1: unhealthy_for(900)})
    assert kinds(result) == [(RECREATE, "s-1-VM")] and runnable(result) == []
    assert "secondary.storage.capacity.threshold" in (result.actions[0].blocked or "")
    message = reasons(result)["ImageStoreFull"]
    assert "nfs-0 95% used, nfs-1 99% used" in message


def test_one_store_with_room_is_enough() -> None:
    result = plan(with_stores(broken(), 950, 500), memory={1: unhealthy_for(900)})
    assert runnable(result) == [(RECREATE, "s-1-VM")]


def test_the_threshold_is_the_one_cloudstack_holds() -> None:
    result = plan(with_stores(broken(), 950, threshold="0.96"), memory={1: unhealthy_for(900)})
    assert runnable(result) == [(RECREATE, "s-1-VM")]


def test_a_reboot_needs_no_store_and_is_not_held() -> None:
    inv = with_stores(inventory(ssvm(1, agent="Disconnected")), 990)
    assert runnable(plan(inv, memory={1: unhealthy_for(900)})) == [(ActionKind.REBOOT, "s-1-VM")]


def test_every_destroy_and_stop_start_needs_store_capacity() -> None:
    needing = {kind for kind, t in TRAITS.items() if t.needs_store_capacity}
    assert {kind for kind, t in TRAITS.items() if t.removes_vm} <= needing
    assert ActionKind.CHANGE_OFFERING in needing


def test_sizes_not_reported_hold_nothing() -> None:
    inv = replace(broken(), image_stores=(ImageStore("st", "nfs", ZONE_ID, None, None),))
    assert runnable(plan(inv, memory={1: unhealthy_for(900)})) == [(RECREATE, "s-1-VM")]
