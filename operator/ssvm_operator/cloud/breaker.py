"""A circuit breaker per endpoint: when CloudStack keeps failing, nothing on it is remediated.

A flapping API is when agents look Disconnected and jobs fail for reasons that have nothing to do with the
SSVMs; acting then would recreate healthy VMs. The breaker opens after `threshold` consecutive failures
and closes at the next success (the next inventory refresh is the probe).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "Closed"
    OPEN = "Open"


@dataclass
class CircuitBreaker:
    threshold: int = 5
    failures: int = 0
    opened_at: datetime | None = None

    @property
    def state(self) -> BreakerState:
        return BreakerState.OPEN if self.opened_at is not None else BreakerState.CLOSED

    @property
    def tripped(self) -> bool:
        return self.opened_at is not None

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def record_failure(self, now: datetime) -> bool:
        """Count a failure; True when this one opened the breaker."""
        self.failures += 1
        if self.opened_at is None and self.failures >= self.threshold:
            self.opened_at = now
            return True
        return False
