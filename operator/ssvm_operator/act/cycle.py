"""One pool cycle without Kubernetes: follow the recorded jobs, remember what they did, observe, plan, act,
and back off after failures.

kube/pools.reconcile_pool runs it with status read from and written to the cluster, and the state-machine
test (tests/reliability/test_stateful_planner.py) runs the same function against a model of CloudStack, so
the test exercises the operator's own sequence, not a copy of it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ssvm_operator.act.actor import Actor
from ssvm_operator.act.outcome import Outcome, Result
from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.types import TRAITS, Plan, PoolContext, VmMemory

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Backoff:
    """Persisted remediation backoff (status.remediation), reset when the spec changes."""

    failures: int = 0
    last_failure: datetime | None = None
    next_attempt_after: datetime | None = None


Observe = Callable[[Sequence[Outcome], dict[str, VmMemory]], Awaitable[PoolContext | None]]
"""Reads the zone after the jobs were followed (the outcomes say whether a job ended) and builds the
planner's input with the memory given; None when the pool cannot be planned this cycle."""


@dataclass(frozen=True)
class CycleResult:
    outcomes: list[Outcome]
    """The jobs that ended, then the actions executed."""
    plan: Plan | None = None
    """None when `observe` gave no context: nothing was planned or executed."""
    memory: dict[str, VmMemory] | None = None
    """What to persist per SSVM: the plan's memory, with the rungs it took."""
    backoff: Backoff | None = None


async def run_pool_cycle(
    actor: Actor,
    memory: dict[str, VmMemory],
    backoff: Backoff,
    observe: Observe,
    now: datetime,
    base_seconds: float,
    acted: Callable[[Outcome], None] = lambda outcome: None,
    planned: Callable[[Plan], None] = lambda plan: None,
    rng: random.Random | None = None,
) -> CycleResult:
    """`planned` hears of the plan before it is carried out; `acted` of every executed action that did
    something (not Skipped): the zone changed."""
    outcomes = await actor.follow_jobs()
    remembered = remember_outcomes(memory, outcomes)
    ctx = await observe(outcomes, remembered)
    if ctx is None:
        return CycleResult(outcomes)
    plan = plan_pool(ctx)
    planned(plan)
    for action in plan.runnable:
        outcome = await actor.execute(action)
        outcomes.append(outcome)
        # The rung taken is already in plan.memory: the planner records every remediation it runs.
        if outcome.result is not Result.SKIPPED:
            acted(outcome)
    return CycleResult(outcomes, plan, plan.memory, next_backoff(backoff, outcomes, now, base_seconds, rng))


def remember_outcomes(memory: Mapping[str, VmMemory], outcomes: Sequence[Outcome]) -> dict[str, VmMemory]:
    """A finished start or reboot is the point from which the ladder waits before the next rung."""
    remembered = dict(memory)
    for outcome in outcomes:
        if (
            outcome.vm_id
            and TRAITS[outcome.action].revives
            and outcome.result in (Result.SUCCEEDED, Result.FAILED)
        ):
            remembered[outcome.vm_id] = replace(
                remembered.get(outcome.vm_id, VmMemory()),
                last_remediation=outcome.action,
                last_remediation_at=outcome.at,
            )
    return remembered


def next_backoff(
    backoff: Backoff,
    outcomes: Sequence[Outcome],
    now: datetime,
    base_seconds: float,
    rng: random.Random | None = None,
) -> Backoff:
    """After a failure the next attempt waits twice as long as the last, up to an hour, with ±10% jitter so
    many pools do not retry in step; a success resets it."""
    failures = [o for o in outcomes if o.result is Result.FAILED]
    successes = [o for o in outcomes if o.result is Result.SUCCEEDED]
    if failures:
        count = backoff.failures + 1
        delay = min(timedelta(seconds=base_seconds * 2 ** (count - 1)), MAX_BACKOFF)
        delay *= (rng or random).uniform(0.9, 1.1)
        return Backoff(count, now, now + delay)
    if successes:
        return Backoff()
    return backoff
