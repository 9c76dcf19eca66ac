"""The endpoint's circuit breaker: opens after repeated failures, closes at the next success."""

from __future__ import annotations

from datetime import UTC, datetime

from ssvm_operator.cloud.breaker import BreakerState, CircuitBreaker

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_breaker_opens_on_the_fifth_failure_in_a_row_and_closes_on_a_success() -> None:
    breaker = CircuitBreaker(threshold=5)
    opened = [breaker.record_failure(NOW) for _ in range(5)]
    assert opened == [False, False, False, False, True]
    assert breaker.state is BreakerState.OPEN and breaker.opened_at == NOW
    assert breaker.record_failure(NOW) is False, "opening is reported once"
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0


def test_a_success_between_failures_starts_the_count_again() -> None:
    breaker = CircuitBreaker(threshold=3)
    breaker.record_failure(NOW)
    breaker.record_failure(NOW)
    breaker.record_success()
    breaker.record_failure(NOW)
    assert not breaker.tripped
