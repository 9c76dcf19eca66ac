"""The SSVMSettings rollout status is one type: the settings write it, the pools read it back."""

from __future__ import annotations

from datetime import UTC, datetime

from ssvm_operator.kube.settings_status import render_rollout, rollout_from_status
from ssvm_operator.model.settings import RolloutStrategy
from ssvm_operator.plan.rollout_status import RolloutPhase, RolloutStatus
from ssvm_operator.plan.types import RolloutRequest

SINCE = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
ROLLING = RolloutStatus(
    phase=RolloutPhase.ROLLING,
    left=({"zone": "z2", "reason": "Paused", "message": "paused", "ssvms": ["s-9-VM"]},),
    strategy=RolloutStrategy.RECREATE,
    max_unavailable=2,
    started_at=SINCE,
    total=3,
    done=1,
    pending=("s-1-VM", "s-2-VM"),
    active_zone="z1",
    settings=("secstorage.encrypt.copy",),
)


def test_a_rolling_status_reads_back_as_written() -> None:
    rendered = render_rollout(ROLLING)
    assert rendered["phase"] == "Rolling" and rendered["startedAt"] == "2026-12-05T10:00:00Z"
    assert rollout_from_status(rendered) == ROLLING


def test_the_pools_read_a_rolling_status_as_their_rollout_request() -> None:
    assert rollout_from_status(render_rollout(ROLLING)).request() == RolloutRequest(
        since=SINCE, recreate=True, max_unavailable=2, active_zone="z1", settings=("secstorage.encrypt.copy",)
    )


def test_idle_and_waiting_are_the_phase_alone_and_ask_the_pools_for_nothing() -> None:
    for phase in (RolloutPhase.IDLE, RolloutPhase.WAITING_FOR_RESTART):
        assert render_rollout(RolloutStatus(phase)) == {"phase": str(phase)}
        assert rollout_from_status({"phase": str(phase)}).request() is None


def test_a_missing_or_unreadable_rollout_asks_for_nothing() -> None:
    assert rollout_from_status(None).request() is None
    assert rollout_from_status({"phase": "Rolling"}).request() is None, "no startedAt"
    assert rollout_from_status({"phase": "Sideways"}).phase is RolloutPhase.IDLE
