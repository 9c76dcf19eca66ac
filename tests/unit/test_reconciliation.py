"""A reconcile reports as observed the generation it planned on, even when the spec changes meanwhile.

kopf hands a timer the live body: a spec change that lands while a tick runs shows in it at once. Were the
tick to record that newer generation as observed, the change handler would find it "already observed" and
skip what a spec change starts afresh (the backoff reset).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import kopf

from ssvm_operator.kube.conditions import Condition
from ssvm_operator.kube.context import OperatorContext
from ssvm_operator.kube.reconciliation import Reconciliation

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_spec_change_during_the_reconcile_is_left_for_the_next_one() -> None:
    raw: dict[str, Any] = {"metadata": {"name": "zone-1", "namespace": "ns", "uid": "u", "generation": 2}}
    body = kopf.Body(raw)
    patch = kopf.Patch()
    run = Reconciliation.begin(replace(OperatorContext.create(), clock=lambda: NOW), body, patch)

    raw["metadata"]["generation"] = 3  # the spec changed while this reconcile was planning on generation 2
    run.report(Condition("Ready", True, "Converged", "as declared"))

    assert patch.status["observedGeneration"] == 2
    assert [c["observedGeneration"] for c in patch.status["conditions"]] == [2]
