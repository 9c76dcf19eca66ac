"""Pure planning: (spec, snapshot, now, in-flight, memory) -> actions with reasons. Nothing here does I/O.

The entry points: plan_pool for an SSVMPool, plan_settings for an SSVMSettings.
"""

from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.settings_plan import plan_settings

__all__ = ["plan_pool", "plan_settings"]
