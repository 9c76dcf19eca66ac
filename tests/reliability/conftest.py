"""Reliability tests: the real operator process against the simulator and the emulated cluster, under faults.

The fixtures are those of tests/e2e (one simulator, one emulated cluster, one operator per test); the
helpers there are reused rather than copied.
"""

from __future__ import annotations

from tests.e2e.fixtures import cloudstack, cluster, endpoint, operator

__all__ = ["cloudstack", "cluster", "endpoint", "operator"]

SCAN_SECONDS = 0.5
FAST_HEALTH = {"unhealthyAfterSeconds": 1, "rebootTimeoutSeconds": 3}
