"""Maintenance windows: when voluntary disruption of serving SSVMs is allowed.

A window is a cron schedule (when it opens), an IANA time zone the schedule is read in, and a duration. The
schedule is parsed and walked by `cronsim`, a maintained cron library (five fields, `L`, `#`, ranges and
steps as in Vixie cron); time zones come from the standard `zoneinfo` with `tzdata` as the fallback database.
Daylight-saving transitions follow cronsim: a start that does not exist on a spring-forward day runs at the
first minute after the gap; a start that repeats on a fall-back day runs once.

No windows means voluntary work may run at any time. Repairs of SSVMs that are already broken never wait.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError


class WindowError(ValueError):
    """A window the operator cannot use; `field` is the path to fix (model/spec.py makes it a SpecError)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")
MAX_DURATION = timedelta(days=7)
"""A window longer than a week is always open: say so by declaring none."""
MAX_WINDOWS = 16


@dataclass(frozen=True)
class MaintenanceWindow:
    schedule: str
    """Five-field cron expression: when the window opens."""
    time_zone: str
    duration: timedelta

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def opened_before(self, now: datetime) -> datetime | None:
        """The start of the window open at `now` (the latest, if several overlap), or None when closed."""
        local = now.astimezone(self.zone)
        start = next(CronSim(self.schedule, local - self.duration), None)
        if start is None or start > local:
            return None
        return start

    def next_opening(self, now: datetime) -> datetime | None:
        return next(CronSim(self.schedule, now.astimezone(self.zone)), None)

    def describe(self) -> str:
        return f"{self.schedule!r} in {self.time_zone} for {render_duration(self.duration)}"


@dataclass(frozen=True)
class Windows:
    """The windows that gate one kind of voluntary work; empty means always allowed."""

    windows: tuple[MaintenanceWindow, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.windows)

    def is_open(self, now: datetime) -> bool:
        return not self.windows or any(w.opened_before(now) is not None for w in self.windows)

    def next_opening(self, now: datetime) -> datetime | None:
        found = [t for w in self.windows if (t := w.next_opening(now)) is not None]
        return min(found, key=lambda t: t.timestamp()) if found else None

    def closes_at(self, now: datetime) -> datetime | None:
        """When the window open now closes (the latest end among the open ones)."""
        ends = [start + w.duration for w in self.windows if (start := w.opened_before(now)) is not None]
        return max(ends, key=lambda t: t.timestamp()) if ends else None

    def blocked(self, now: datetime) -> str | None:
        """The sentence a held action carries, or None while voluntary work may run."""
        if self.is_open(now):
            return None
        opening = self.next_opening(now)
        when = opening.isoformat(timespec="minutes") if opening is not None else "never"
        return f"outside the maintenance window; next window opens at {when}"


def parse_windows(raw: Any, path: str) -> Windows:
    """`raw` is the list under `path` (e.g. maintenanceWindows); every error names the field to fix."""
    if raw is None:
        return Windows()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise WindowError(path, "must be a list of {schedule, timeZone, duration}")
    if len(raw) > MAX_WINDOWS:
        raise WindowError(path, f"at most {MAX_WINDOWS} windows")
    return Windows(tuple(_window(item, f"{path}[{index}]") for index, item in enumerate(raw)))


def _window(item: Any, path: str) -> MaintenanceWindow:
    if not isinstance(item, Mapping):
        raise WindowError(path, "must be an object with schedule, timeZone and duration")
    schedule = item.get("schedule")
    if not isinstance(schedule, str) or not schedule.strip():
        raise WindowError(f"{path}.schedule", "is required: a cron expression such as '0 2 * * 6'")
    schedule = " ".join(schedule.split())
    if len(schedule.split(" ")) != 5:
        raise WindowError(f"{path}.schedule", f"{schedule!r} is not a five-field cron expression")
    time_zone = item.get("timeZone", "UTC")
    if not isinstance(time_zone, str) or not time_zone:
        raise WindowError(f"{path}.timeZone", f"{time_zone!r} is not an IANA time zone name")
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(
            f"{path}.timeZone", f"{time_zone!r} is not an IANA time zone, e.g. Europe/Berlin"
        ) from None
    try:
        CronSim(schedule, datetime.now(zone))
    except CronSimError as error:
        raise WindowError(
            f"{path}.schedule", f"{schedule!r} is not a valid cron expression: {error}"
        ) from None
    duration = parse_duration(item.get("duration"), f"{path}.duration")
    return MaintenanceWindow(schedule, time_zone, duration)


def parse_duration(raw: Any, path: str) -> timedelta:
    match = _DURATION.match(str(raw)) if isinstance(raw, str) and raw else None
    if match is None or not (match["h"] or match["m"]):
        raise WindowError(path, f"{raw!r} is not a duration such as 2h, 90m or 1h30m")
    duration = timedelta(hours=int(match["h"] or 0), minutes=int(match["m"] or 0))
    if duration <= timedelta(0):
        raise WindowError(path, "must be longer than 0")
    if duration > MAX_DURATION:
        raise WindowError(path, "must be at most 168h (a week)")
    return duration


def render_duration(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")
