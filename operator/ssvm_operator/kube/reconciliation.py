"""One reconcile of one object: the status it starts from, and how it reports back.

Shared by the three kinds so their conditions and Events behave alike: conditions in the kstatus style with
observedGeneration, and a Warning Event when an object becomes stalled for a reason, not once per poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import kopf

from ssvm_operator.kube import conditions
from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import OperatorContext
from ssvm_operator.kube.events import announce, said_before
from ssvm_operator.kube.reasons import ConditionType, Reason


@dataclass
class Reconciliation:
    body: kopf.Body
    patch: kopf.Patch
    status: dict[str, Any]
    """As this process last wrote it, else as the body shows it (OperatorContext.status_of)."""
    now: datetime
    generation: Any
    """Captured once at the start: kopf's body is a live view, and a spec change that lands while this
    reconcile runs must not be recorded as observed by a reconcile that planned on the older spec."""

    @classmethod
    def begin(cls, ctx: OperatorContext, body: kopf.Body, patch: kopf.Patch) -> Reconciliation:
        return cls(body, patch, ctx.status_of(body), ctx.clock(), body.metadata.get("generation"))

    @property
    def namespace(self) -> str:
        return str(self.body.metadata.namespace)

    @property
    def name(self) -> str:
        return str(self.body.metadata.name)

    def report(self, *conds: Condition) -> None:
        self.patch.status["observedGeneration"] = self.generation
        self.patch.status["conditions"] = conditions.render(
            conds, self.status.get("conditions"), self.generation, self.now
        )

    def warn_once(self, condition_type: str, reason: str, message: str, status: str = "True") -> None:
        """A Warning Event, unless the condition already stands at this status and reason (said before)."""
        if not said_before(self.status, condition_type, status_text=status, reason=reason):
            announce(self.body, reason, message, warning=True)

    def unreachable(self, error: Exception) -> None:
        """CloudStack did not answer: not stalled, retried every poll."""
        self.report(
            Condition(
                ConditionType.STALLED,
                False,
                Reason.RETRYING,
                "CloudStack is unreachable; retrying every poll",
            ),
            Condition(ConditionType.RECONCILING, True, Reason.CLOUDSTACK_UNREACHABLE, str(error)),
            Condition(ConditionType.READY, False, Reason.CLOUDSTACK_UNREACHABLE, str(error)),
        )

    def stalled(
        self, reason: str, message: str, waiting: str = "waiting for the problem to be fixed"
    ) -> None:
        self.warn_once(ConditionType.STALLED, reason, message)
        self.report(
            Condition(ConditionType.STALLED, True, reason, message),
            Condition(ConditionType.RECONCILING, False, reason, waiting),
            Condition(ConditionType.READY, False, reason, message),
        )
