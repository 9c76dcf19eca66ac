"""Pure planning: (spec, snapshot, now, in-flight, memory) -> actions with reasons. Nothing here does I/O."""

from ssvm_operator.plan.pool import plan_pool

__all__ = ["plan_pool"]
