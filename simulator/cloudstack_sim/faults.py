"""Faults injected per command, and call counts per command.

A fault matches a command by its API name (or `*` for every command), fires with its probability, and
is used up after `count` firings (`None`: never used up). The first matching fault that fires wins.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    ERROR = "error"
    """CloudStack answers with an error document and HTTP `status` (default 530)."""
    GATEWAY = "gateway"
    """Something in front of CloudStack answers with a non-JSON page and HTTP `status` (default 502)."""
    TIMEOUT = "timeout"
    """No answer for `delay` seconds (default 300), longer than any client timeout; then the normal answer."""
    SLOW = "slow"
    """The normal answer, `delay` seconds late (default 1 s)."""
    JOB_FAILURE = "job_failure"
    """Async commands only: the job is accepted, does nothing, and fails with `status` (default 530)."""
    JOB_STUCK = "job_stuck"
    """Async commands only: the job is accepted and never finishes (until a management-server restart)."""

    @property
    def for_jobs(self) -> bool:
        return self in (FaultKind.JOB_FAILURE, FaultKind.JOB_STUCK)


_DEFAULT_STATUS = {FaultKind.ERROR: 530, FaultKind.GATEWAY: 502, FaultKind.JOB_FAILURE: 530}
_DEFAULT_DELAY = {FaultKind.TIMEOUT: 300.0, FaultKind.SLOW: 1.0, FaultKind.JOB_FAILURE: 0.0}


@dataclass
class Fault:
    id: int
    command: str
    kind: FaultKind
    count: int | None = None
    """Firings left; None for unlimited."""
    probability: float = 1.0
    status: int | None = None
    delay: float | None = None
    message: str | None = None
    fired: int = 0

    @property
    def http_status(self) -> int:
        return self.status if self.status is not None else _DEFAULT_STATUS.get(self.kind, 530)

    @property
    def seconds(self) -> float:
        return self.delay if self.delay is not None else _DEFAULT_DELAY.get(self.kind, 0.0)

    def matches(self, command: str, is_async: bool) -> bool:
        if self.kind.for_jobs and not is_async:
            return False
        return self.command == "*" or self.command.lower() == command.lower()

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


class FaultBook:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._faults: list[Fault] = []
        self._next_id = 0

    def add(
        self,
        command: str,
        kind: FaultKind | str,
        count: int | None = None,
        probability: float = 1.0,
        status: int | None = None,
        delay: float | None = None,
        message: str | None = None,
    ) -> Fault:
        kind = FaultKind(kind)
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or null for unlimited)")
        if not 0.0 < probability <= 1.0:
            raise ValueError("probability must be in (0, 1]")
        self._next_id += 1
        fault = Fault(self._next_id, command or "*", kind, count, probability, status, delay, message)
        self._faults.append(fault)
        return fault

    def draw(self, command: str, is_async: bool) -> Fault | None:
        """The fault this call suffers, if any; uses one firing of it."""
        for fault in list(self._faults):
            if not fault.matches(command, is_async):
                continue
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            fault.fired += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
            return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def active(self) -> list[Fault]:
        return list(self._faults)


class CallCounter:
    """Requests received per command name, for benchmarks (rejected ones included)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def record(self, command: str) -> None:
        self._counts[command] += 1

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        self._counts.clear()
