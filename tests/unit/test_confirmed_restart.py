"""The admin's confirmation of a management-server restart stands in only for start times CloudStack does
not report, and an unusable one is refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ssvm_operator.kube.names import RESTART_CONFIRMED_ANNOTATION
from ssvm_operator.kube.ssvm_settings import confirmed_starts
from ssvm_operator.model.config import ManagementServer

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REPORTED = NOW - timedelta(hours=3)


def server(name: str, last_start: datetime | None) -> ManagementServer:
    return ManagementServer(id=name, name=name, state="Up", last_start=last_start)


def test_the_confirmed_time_fills_only_the_start_times_cloudstack_does_not_report() -> None:
    servers = [server("ms-1", None), server("ms-2", REPORTED)]
    confirmed, problem = confirmed_starts(
        servers, {RESTART_CONFIRMED_ANNOTATION: "2026-11-27T11:30:00Z"}, NOW
    )
    assert problem is None
    assert [s.last_start for s in confirmed] == [NOW - timedelta(minutes=30), REPORTED]


def test_without_the_annotation_nothing_changes() -> None:
    servers = [server("ms-1", None)]
    assert confirmed_starts(servers, {}, NOW) == (servers, None)


def test_an_unusable_confirmation_is_refused_with_the_reason() -> None:
    servers = [server("ms-1", None)]
    for value, why in [
        ("after lunch", "is not a time with its zone"),
        ("2026-11-27T11:30:00", "is not a time with its zone"),  # which clock? refused rather than guessed
        ("2026-11-28T11:30:00Z", "is in the future"),
    ]:
        confirmed, problem = confirmed_starts(servers, {RESTART_CONFIRMED_ANNOTATION: value}, NOW)
        assert confirmed == servers, value
        assert problem is not None and why in problem and RESTART_CONFIRMED_ANNOTATION in problem, value
