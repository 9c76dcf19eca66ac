"""Starts kopf with our handlers and the options of `ssvm-operator run`."""

from __future__ import annotations

from dataclasses import dataclass

import kopf

from ssvm_operator import metrics
from ssvm_operator.kube import handlers  # noqa: F401  (registers the handlers with kopf)
from ssvm_operator.kube.context import OperatorContext


@dataclass(frozen=True)
class RunOptions:
    namespaces: tuple[str, ...] = ()
    """Watch only these namespaces (globs allowed); empty means every namespace."""
    standalone: bool = True
    """Run without kopf peering: the chart's default of one replica with strategy Recreate."""
    peering_name: str | None = None
    priority: int = 0
    liveness_endpoint: str | None = None


def run(options: RunOptions) -> None:
    ctx = OperatorContext.create(observer=metrics.observe_call)
    kopf.run(
        standalone=options.standalone,
        peering_name=options.peering_name,
        priority=options.priority,
        clusterwide=not options.namespaces,
        namespaces=options.namespaces,
        liveness_endpoint=options.liveness_endpoint,
        memo=kopf.Memo(ctx=ctx),
    )
