"""The safety contract as properties: whatever CloudStack shows, whatever is in flight or remembered, and
whatever the pool declares, the plan never breaks these rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, example, given
from hypothesis import strategies as st

from ssvm_operator.model.snapshot import Health, Inventory, SystemVm
from ssvm_operator.model.spec import HealthPolicy, Mode, PoolSpec, Remediation
from ssvm_operator.plan import plan_pool
from ssvm_operator.plan.types import ActionKind, InFlight, Plan, PoolContext, VmMemory
from tests.unit.plan_builders import (
    LARGE,
    NOW,
    OFFERINGS,
    ROUTER,
    STANDARD,
    ZONE_ID,
    ZONE_NAME,
    ago,
    context,
    inventory,
    ssvm,
    zone,
)

Draw = Callable[[st.SearchStrategy[Any]], Any]
ZONE_ACTIONS = {ActionKind.ENABLE_ZONE, ActionKind.DISABLE_ZONE}
VOLUNTARY = {ActionKind.CHANGE_OFFERING, ActionKind.DESTROY_SURPLUS}
VM_STATES = ["Running"] * 6 + [
    "Starting",
    "Stopping",
    "Stopped",
    "Migrating",
    "Expunging",
    "Error",
    "Unknown",
    "Shutdown",
    "Destroyed",
]
AGENT_STATES = ["Up"] * 4 + [
    None,
    "Connecting",
    "Disconnected",
    "Alert",
    "Down",
    "Error",
    "Removed",
    "Creating",
]
SECONDS = st.sampled_from([0, 1, 29, 30, 31, 59, 61, 299, 300, 301, 599, 600, 601, 5000])
MOMENTS = st.none() | SECONDS.map(ago)
REMEDIATIONS = st.none() | st.sampled_from([ActionKind.START, ActionKind.REBOOT, ActionKind.RECREATE])
VM_ACTION_KINDS = st.sampled_from(sorted(set(ActionKind) - ZONE_ACTIONS))
ZONE_ACTION_KINDS = st.sampled_from(sorted(ZONE_ACTIONS))
# Strategies are built once: building them per draw costs more than planning does.
VM_FIELDS = st.tuples(
    st.sampled_from(VM_STATES),
    st.sampled_from(AGENT_STATES),
    st.sampled_from([STANDARD.id, STANDARD.id, LARGE.id, None]),
    MOMENTS,
    st.sampled_from([None] * 5 + ["job-1"]),
)
NUMBERS = st.lists(st.integers(1, 40), max_size=5, unique=True)
MEMORY = st.builds(
    VmMemory, unhealthy_since=MOMENTS, last_remediation=REMEDIATIONS, last_remediation_at=MOMENTS
)
ZONE_SHAPE = st.tuples(
    st.sampled_from(["Enabled", "Enabled", "Disabled"]),
    st.sampled_from(["Core", "Core", "Core", "Edge"]),
    st.booleans(),
)
POLICY = st.builds(
    HealthPolicy,
    unhealthy_after_seconds=st.sampled_from([0.0, 60.0, 300.0]),
    remediation=st.sampled_from(list(Remediation)),
    max_unavailable=st.integers(0, 3),
    reboot_timeout_seconds=st.sampled_from([1.0, 600.0]),
)
POOL = st.builds(
    PoolSpec,
    endpoint=st.just("cloud"),
    zone=st.just(ZONE_NAME),
    replicas=st.integers(0, 4),
    service_offering=st.sampled_from([None, LARGE.name, STANDARD.id, ROUTER.name, "Huge"]),
    health=POLICY,
    paused=st.booleans(),
    mode=st.sampled_from([Mode.ENFORCE, Mode.ENFORCE, Mode.OBSERVE]),
)
RUNTIME = st.tuples(
    st.sampled_from([30.0, 60.0]),
    st.sampled_from([None, None, None, ago(10), NOW + timedelta(seconds=60)]),
    st.sampled_from([False, False, False, True]),
    st.sampled_from([None] * 9 + ["SSVMPool ops/other already manages zone1"]),
)
GONE = ["vm-gone-1", "vm-gone-2"]
# The order in which surplus SSVMs are given up, by what CloudStack shows (not the grace period).
SURPLUS_RANK = {Health.UNHEALTHY: 0, Health.HEALTHY: 1, Health.CONVERGING: 2}


def ssvms(
    draw: Draw,
    zone_id: str,
    prefix: str,
    numbers: st.SearchStrategy[list[int]] = NUMBERS,
    fields: st.SearchStrategy[tuple[Any, ...]] = VM_FIELDS,
) -> tuple[SystemVm, ...]:
    vms = []
    for n in draw(numbers):
        state, agent, offering, created, job = draw(fields)
        vms.append(
            SystemVm(
                id=f"{prefix}-{n}",
                name=f"s-{n}-VM",
                zone_id=zone_id,
                state=state,
                agent_state=agent,
                offering_id=offering,
                created=created,
                pending_job_id=job,
            )
        )
    return tuple(vms)


def memories(draw: Draw, vm_ids: list[str]) -> dict[str, VmMemory]:
    remembered = draw(st.lists(st.booleans(), min_size=len(vm_ids), max_size=len(vm_ids)))
    return {vm_id: draw(MEMORY) for vm_id, keep in zip(vm_ids, remembered, strict=True) if keep}


def in_flights(draw: Draw, vm_ids: list[str], most: int = 3) -> tuple[InFlight, ...]:
    targets = [*vm_ids, *GONE]
    flights = []
    for _ in range(draw(st.integers(0, most))):
        if draw(st.integers(0, 4)) == 0:
            flights.append(InFlight(draw(ZONE_ACTION_KINDS), None, None, "job", draw(SECONDS.map(ago))))
        else:
            vm_id = targets[draw(st.integers(0, len(targets) - 1))]
            kind = draw(VM_ACTION_KINDS)
            flights.append(InFlight(kind, vm_id, vm_id.replace("vm-", "s-"), "job", draw(SECONDS.map(ago))))
    return tuple(flights)


@st.composite
def contexts(draw: Draw) -> PoolContext:
    allocation, zone_type, ssvm_enabled = draw(ZONE_SHAPE)
    the_zone = zone(allocation_state=allocation, zone_type=zone_type, ssvm_enabled=ssvm_enabled)
    vms = ssvms(draw, ZONE_ID, "vm")
    others = ssvms(draw, "zone-2-id", "other")
    inventory = Inventory(
        observed_at=NOW,
        zones=(the_zone, zone(id="zone-2-id", name="zone2")),
        ssvms=vms + others,
        offerings=OFFERINGS,
        standby_replicas=draw(st.integers(1, 4)),
    )
    scan_interval, backoff_until, tripped, conflict = draw(RUNTIME)
    ids = [vm.id for vm in vms]
    return PoolContext(
        spec=draw(POOL),
        inventory=inventory,
        now=NOW,
        in_flight=in_flights(draw, ids),
        memory=memories(draw, ids),
        scan_interval_seconds=scan_interval,
        backoff_until=backoff_until,
        endpoint_tripped=tripped,
        pool_conflict=conflict,
    )


# A zone where the budget decides: two to four settled SSVMs, some serving and some not (failed, or within
# their grace), an offering change or a surplus to act on, at most one action in flight, and a pool that is
# allowed to act. The broad strategy above rarely reaches the budget's assertions (about 1 example in 20
# plans a runnable SSVM action there, and almost none a voluntary one).
CONTENDED_NUMBERS = st.lists(st.integers(1, 40), min_size=2, max_size=4, unique=True)
CONTENDED_VM_FIELDS = st.tuples(
    st.sampled_from(["Running"] * 8 + ["Stopped", "Error", "Shutdown"]),
    st.sampled_from(["Up"] * 5 + ["Down", "Disconnected", "Alert"]),
    st.sampled_from([STANDARD.id, LARGE.id]),
    SECONDS.map(ago),
    st.just(None),
)
CONTENDED_POOL = st.builds(
    PoolSpec,
    endpoint=st.just("cloud"),
    zone=st.just(ZONE_NAME),
    replicas=st.integers(1, 3),
    service_offering=st.sampled_from([LARGE.name, LARGE.name, None]),
    health=st.builds(
        HealthPolicy,
        unhealthy_after_seconds=st.sampled_from([0.0, 60.0, 300.0]),
        remediation=st.sampled_from([Remediation.RECREATE, Remediation.RECREATE, Remediation.REBOOT]),
        max_unavailable=st.integers(1, 3),
        reboot_timeout_seconds=st.sampled_from([1.0, 600.0]),
    ),
)


@st.composite
def contended_contexts(draw: Draw) -> PoolContext:
    vms = ssvms(draw, ZONE_ID, "vm", CONTENDED_NUMBERS, CONTENDED_VM_FIELDS)
    ids = [vm.id for vm in vms]
    return PoolContext(
        spec=draw(CONTENDED_POOL),
        inventory=Inventory(
            observed_at=NOW,
            zones=(zone(),),
            ssvms=vms,
            offerings=OFFERINGS,
            standby_replicas=draw(st.integers(1, 2)),
        ),
        now=NOW,
        in_flight=in_flights(draw, ids, most=1),
        memory={vm_id: VmMemory(unhealthy_since=draw(MOMENTS)) for vm_id in ids},
        scan_interval_seconds=30.0,
    )


def enforcing(ctx: PoolContext) -> PoolContext:
    """The same context with the pool allowed to act, so the other rules are exercised often."""
    return replace(
        ctx,
        spec=replace(ctx.spec, paused=False, mode=Mode.ENFORCE),
        endpoint_tripped=False,
        backoff_until=None,
        pool_conflict=None,
    )


def zone_vms(ctx: PoolContext) -> list[SystemVm]:
    return [vm for vm in ctx.inventory.ssvms if vm.zone_id == ZONE_ID]


def in_flight_disruptions(ctx: PoolContext) -> set[str]:
    return {f.vm_id or f"#{i}" for i, f in enumerate(ctx.in_flight) if f.action not in ZONE_ACTIONS}


def runnable_vm_actions(plan: Plan) -> list[str]:
    return [a.vm_id for a in plan.runnable if a.vm_id is not None]


contexts_any = contexts()
contexts_acting = contexts().map(enforcing)
contexts_contended = contended_contexts()
contexts_deciding = contexts_acting | contexts_contended
contexts_varied = contexts_any | contexts_contended


@given(contexts_deciding)
def test_never_more_ssvms_disrupted_than_max_unavailable(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    started = runnable_vm_actions(plan)
    event(f"an SSVM action runs: {bool(started)}")  # pytest --hypothesis-show-statistics shows how often
    if started:
        assert len(in_flight_disruptions(ctx) | set(started)) <= ctx.spec.health.max_unavailable


@given(contexts_contended)
def test_a_serving_ssvm_is_taken_down_only_within_budget_counting_unavailable_ones(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    voluntary = [
        a for a in plan.runnable if a.kind in VOLUNTARY and _vm(ctx, a.vm_id).health is Health.HEALTHY
    ]
    event(f"a serving SSVM is taken down: {bool(voluntary)}")
    if voluntary:
        unavailable = {vm.id for vm in zone_vms(ctx) if vm.health is not Health.HEALTHY or vm.pending_job_id}
        down = in_flight_disruptions(ctx) | set(runnable_vm_actions(plan)) | unavailable
        assert len(down) <= ctx.spec.health.max_unavailable


@given(contexts_any)
def test_nothing_runs_when_paused_or_observing(ctx: PoolContext) -> None:
    plan = plan_pool(replace(ctx, spec=replace(ctx.spec, paused=True)))
    assert plan.runnable == ()
    plan = plan_pool(replace(ctx, spec=replace(ctx.spec, paused=False, mode=Mode.OBSERVE)))
    assert plan.runnable == ()
    assert all(a.blocked and a.blocked.startswith("Observe mode: not executed") for a in plan.actions)


@given(contexts_any)
def test_nothing_runs_while_the_endpoint_fails_or_the_pool_backs_off(ctx: PoolContext) -> None:
    assert plan_pool(replace(ctx, endpoint_tripped=True)).runnable == ()
    assert plan_pool(replace(ctx, backoff_until=NOW + timedelta(seconds=1))).runnable == ()


@given(contexts_acting)
def test_no_ssvm_action_runs_while_an_ssvm_of_the_zone_converges(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    if any(vm.health is Health.CONVERGING or vm.pending_job_id for vm in zone_vms(ctx)):
        assert runnable_vm_actions(plan) == []
        assert all(a.kind in ZONE_ACTIONS for a in plan.runnable)


@given(contexts_varied)
def test_at_most_one_action_per_ssvm_and_none_on_an_ssvm_in_flight(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    targets = [a.vm_id for a in plan.actions if a.vm_id is not None]
    assert len(targets) == len(set(targets))
    assert not set(targets) & {f.vm_id for f in ctx.in_flight}


@given(contexts_any)
def test_actions_target_this_zone_and_blocked_ones_say_why(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    ids = {vm.id for vm in zone_vms(ctx)}
    for action in plan.actions:
        assert action.zone_id == ZONE_ID
        assert (action.vm_id is None) == (action.kind in ZONE_ACTIONS)
        assert action.vm_id is None or action.vm_id in ids
        assert action.reason
        assert action.blocked is None or action.blocked.strip()
        assert (action.offering_id is not None) == (action.kind is ActionKind.CHANGE_OFFERING)


@given(contexts_any)
def test_running_again_with_the_started_actions_in_flight_starts_nothing_new(ctx: PoolContext) -> None:
    for each in (ctx, enforcing(ctx)):
        first = plan_pool(each)
        started = tuple(
            InFlight(a.kind, a.vm_id, a.vm_name, f"job-{i}", NOW) for i, a in enumerate(first.runnable)
        )
        again = plan_pool(replace(each, in_flight=each.in_flight + started, memory=first.memory))
        assert again.runnable == ()
        assert not {a.vm_id for a in again.actions} & {a.vm_id for a in first.runnable if a.vm_id}


@given(contexts_any)
def test_no_recreate_where_cloudstack_would_not_create_the_replacement(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    the_zone = ctx.inventory.zones[0]
    if not the_zone.scanned_by_cloudstack or ctx.spec.replicas < 1:
        assert ActionKind.RECREATE not in {a.kind for a in plan.actions}


@given(contexts_varied)
def test_surplus_destruction_never_goes_below_what_is_declared_or_kept(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    destroyed = [a for a in plan.actions if a.kind is ActionKind.DESTROY_SURPLUS]
    if not destroyed:
        return
    if ctx.spec.replicas == 0:
        assert not ctx.inventory.zones[0].ssvm_enabled
        return
    leaving = {
        f.vm_id for f in ctx.in_flight if f.action in (ActionKind.RECREATE, ActionKind.DESTROY_SURPLUS)
    }
    staying = [
        vm for vm in zone_vms(ctx) if vm.state not in ("Expunging", "Destroyed") and vm.id not in leaving
    ]
    floor = max(ctx.spec.replicas, ctx.inventory.standby_replicas)
    assert len(staying) - len(destroyed) >= floor


# An older failed SSVM and the newer one CloudStack's scanner started in its place: the failed one goes,
# even while the replacement's agent has not connected.
@example(context(inventory(ssvm(1, "Error", None), ssvm(2))))
@example(context(inventory(ssvm(1, "Error", None), ssvm(2, "Running", None, created_ago=900))))
@given(contexts_varied)
def test_surplus_is_given_up_failed_first_then_newest_first(ctx: PoolContext) -> None:
    """Failed SSVMs are given up before serving ones, serving ones before those still booting; among the
    failed, those CloudStack no longer runs before Running ones (likely their replacement, its agent late);
    within each of these the newest first (CloudStack's template-processing SSVM is usually the oldest)."""
    plan = plan_pool(ctx)
    destroyed = {a.vm_id for a in plan.actions if a.kind is ActionKind.DESTROY_SURPLUS}
    in_flight = {f.vm_id for f in ctx.in_flight}
    eligible = [
        vm for vm in zone_vms(ctx) if vm.id not in in_flight and vm.state not in ("Expunging", "Destroyed")
    ]
    kept = [vm for vm in eligible if vm.id not in destroyed]
    for gone in (vm for vm in eligible if vm.id in destroyed):
        for other in kept:
            gone_rank = (SURPLUS_RANK[gone.health], gone.state == "Running")
            other_rank = (SURPLUS_RANK[other.health], other.state == "Running")
            assert gone_rank <= other_rank, (gone, other)
            if gone_rank == other_rank:
                assert _created(gone) >= _created(other), (gone, other)


@given(contexts_any, st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_listing_order(ctx: PoolContext, rng: Any) -> None:
    ssvms = list(ctx.inventory.ssvms)
    flights = list(ctx.in_flight)
    rng.shuffle(ssvms)
    rng.shuffle(flights)
    shuffled = replace(ctx, inventory=replace(ctx.inventory, ssvms=tuple(ssvms)), in_flight=tuple(flights))
    assert plan_pool(shuffled) == plan_pool(ctx)


@given(contexts_any)
def test_a_conflicting_or_missing_zone_plans_no_action(ctx: PoolContext) -> None:
    conflict = plan_pool(replace(ctx, pool_conflict="SSVMPool a/b already manages zone1"))
    assert conflict.actions == ()
    missing = plan_pool(replace(ctx, spec=replace(ctx.spec, zone="nowhere")))
    assert missing.actions == () and missing.zone is None


@given(contexts_any)
def test_ready_replicas_count_the_healthy_ssvms_shown(ctx: PoolContext) -> None:
    plan = plan_pool(ctx)
    assert plan.ready_replicas == sum(1 for v in plan.vms if v.health is Health.HEALTHY)
    assert plan.ready_replicas <= sum(1 for vm in zone_vms(ctx) if vm.health is Health.HEALTHY)
    assert plan.desired_replicas == ctx.spec.replicas


def _created(vm: SystemVm) -> datetime:
    """An SSVM without a creation time counts as the oldest."""
    return vm.created or datetime.min.replace(tzinfo=UTC)


def _vm(ctx: PoolContext, vm_id: str | None) -> SystemVm:
    return next(vm for vm in ctx.inventory.ssvms if vm.id == vm_id)
