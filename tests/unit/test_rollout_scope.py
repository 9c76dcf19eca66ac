"""Which zones a settings rollout covers, and which it leaves and why."""

from __future__ import annotations

from ssvm_operator.plan.rollout_scope import LeftReason, ZonePool, rollout_zones

STALE = {"zone-1": ["s-1-VM"], "zone-2": ["s-2-VM"], "zone-3": ["s-3-VM"]}


def test_zones_no_pool_can_roll_are_left_with_their_reason_and_the_rest_rolled_in_order() -> None:
    pools = [
        ZonePool("p2", "zone-2"),
        ZonePool("p3", "zone-3", paused=True),
    ]
    rolled, left = rollout_zones(STALE, pools, active_zone=None, settling=False)
    assert rolled == ["zone-2"]
    assert [(z.zone, z.reason, z.ssvms) for z in left] == [
        ("zone-1", LeftReason.NO_POOL, ("s-1-VM",)),
        ("zone-3", LeftReason.PAUSED, ("s-3-VM",)),
    ]


def test_every_kind_of_pool_that_cannot_roll_says_what_would_let_it() -> None:
    cases = {
        ZonePool("p", "zone-1", observe=True): (LeftReason.OBSERVE, "set mode Enforce"),
        ZonePool("p", "zone-1", max_unavailable=0): (LeftReason.NO_BUDGET, "raise it"),
        ZonePool("p", "zone-1", replicas=0): (LeftReason.NO_REPLICAS, "being removed"),
    }
    for pool, (reason, hint) in cases.items():
        [left] = rollout_zones({"zone-1": ["s-1-VM"]}, [pool], None, False)[1]
        assert left.reason is reason and hint in left.message


def test_one_pool_that_can_roll_a_zone_is_enough() -> None:
    pools = [ZonePool("old", "zone-1", paused=True), ZonePool("new", "zone-1")]
    assert rollout_zones({"zone-1": ["s-1-VM"]}, pools, None, False) == (["zone-1"], [])


def test_the_active_zone_stays_first_while_it_settles_unless_it_cannot_be_rolled_any_more() -> None:
    pools = [ZonePool(f"p{n}", f"zone-{n}") for n in (1, 2, 3)]
    assert rollout_zones({"zone-3": ["s-3-VM"]}, pools, "zone-2", settling=True)[0] == ["zone-2", "zone-3"]
    paused = [ZonePool("p2", "zone-2", paused=True), *pools[2:]]
    assert rollout_zones({"zone-3": ["s-3-VM"]}, paused, "zone-2", settling=True)[0] == ["zone-3"]


def test_without_knowing_the_pools_every_zone_is_rolled() -> None:
    assert rollout_zones(STALE, None, None, False) == (["zone-1", "zone-2", "zone-3"], [])
