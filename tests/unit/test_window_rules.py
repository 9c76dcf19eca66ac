"""Maintenance windows: parsing with the field to fix, when a window is open, and which work waits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ssvm_operator.model.maintenance import Windows
from ssvm_operator.model.settings import SettingsSpec
from ssvm_operator.model.spec import PoolSpec, SpecError
from ssvm_operator.plan import plan_pool
from ssvm_operator.plan.types import ActionKind, RolloutRequest
from tests.unit.plan_builders import (
    NOW,
    ZONE_NAME,
    context,
    inventory,
    spec,
    ssvm,
    unhealthy_for,
)

BASE = {"endpointRef": {"name": "cloud"}, "zone": "zone1"}


def windows(*items: dict[str, object]) -> Windows:
    return PoolSpec.parse({**BASE, "maintenanceWindows": list(items)}).maintenance_windows


NIGHTLY_BERLIN = {"schedule": "0 2 * * *", "timeZone": "Europe/Berlin", "duration": "2h"}


def test_a_window_is_open_from_its_start_for_its_duration_in_its_time_zone() -> None:
    nightly = windows(NIGHTLY_BERLIN)
    # 02:00 in Berlin on 30 Oct 2025 (after the switch to winter time) is 01:00 UTC.
    assert not nightly.is_open(datetime(2025, 10, 30, 0, 59, tzinfo=UTC))
    assert nightly.is_open(datetime(2025, 10, 30, 1, 0, tzinfo=UTC))
    assert nightly.is_open(datetime(2025, 10, 30, 2, 59, tzinfo=UTC))
    assert not nightly.is_open(datetime(2025, 10, 30, 3, 0, tzinfo=UTC))


def test_a_closed_window_names_the_next_opening_in_its_time_zone() -> None:
    sentence = windows(NIGHTLY_BERLIN).blocked(datetime(2025, 10, 30, 12, 0, tzinfo=UTC))
    assert sentence == "outside the maintenance window; next window opens at 2025-10-31T02:00+01:00"


def test_any_of_several_windows_opens_the_door() -> None:
    both = windows(
        {"schedule": "0 22 * * 1-5", "duration": "1h"},
        {"schedule": "0 10 * * 6,0", "timeZone": "UTC", "duration": "4h"},
    )
    saturday_noon = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
    friday_noon = datetime(2025, 10, 31, 12, 0, tzinfo=UTC)
    assert both.is_open(saturday_noon)
    assert not both.is_open(friday_noon)
    assert both.next_opening(friday_noon) == datetime(2025, 10, 31, 22, 0, tzinfo=UTC)


def test_no_windows_means_always_open() -> None:
    assert Windows().blocked(NOW) is None


@pytest.mark.parametrize(
    ("window", "field", "words"),
    [
        ({"schedule": "0 25 * * *", "duration": "1h"}, "maintenanceWindows[0].schedule", "Bad hour"),
        ({"schedule": "0 2 * *", "duration": "1h"}, "maintenanceWindows[0].schedule", "five-field"),
        (
            {"schedule": "0 2 * * *", "timeZone": "Mars/Olympus", "duration": "1h"},
            "maintenanceWindows[0].timeZone",
            "IANA",
        ),
        ({"schedule": "0 2 * * *", "duration": "2 hours"}, "maintenanceWindows[0].duration", "2h, 90m"),
        ({"schedule": "0 2 * * *", "duration": "0m"}, "maintenanceWindows[0].duration", "longer than 0"),
        ({"schedule": "0 2 * * *", "duration": "200h"}, "maintenanceWindows[0].duration", "168h"),
    ],
)
def test_an_unusable_window_names_the_field(window: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(SpecError) as refused:
        PoolSpec.parse({**BASE, "maintenanceWindows": [window]})
    assert refused.value.field == field
    assert words in refused.value.message


CLOSED = windows({"schedule": "0 2 * * *", "duration": "1h"})  # NOW is 12:00 UTC


def test_voluntary_work_waits_for_the_window_and_says_when_it_opens() -> None:
    pool = replace(spec(offering="SSVM Large"), maintenance_windows=CLOSED)
    plan = plan_pool(context(inventory(ssvm(1)), pool))
    [change] = plan.actions
    assert change.kind is ActionKind.CHANGE_OFFERING
    assert change.blocked == "outside the maintenance window; next window opens at 2025-10-31T02:00+00:00"


def test_the_same_work_runs_inside_the_window() -> None:
    pool = replace(
        spec(offering="SSVM Large"), maintenance_windows=windows({"schedule": "0 11 * * *", "duration": "2h"})
    )
    [change] = plan_pool(context(inventory(ssvm(1)), pool)).actions
    assert change.blocked is None


def test_a_broken_ssvm_is_repaired_outside_the_window() -> None:
    pool = replace(spec(), maintenance_windows=CLOSED)
    plan = plan_pool(
        context(inventory(ssvm(1, "Stopped", "Disconnected")), pool, memory={1: unhealthy_for(900)})
    )
    [start] = plan.actions
    assert start.kind is ActionKind.START
    assert start.blocked is None


def test_removing_a_healthy_surplus_ssvm_waits_for_the_window() -> None:
    pool = replace(spec(replicas=1), maintenance_windows=CLOSED)
    healthy = plan_pool(context(inventory(ssvm(1), ssvm(2)), pool))
    surplus = [a for a in healthy.actions if a.kind is ActionKind.DESTROY_SURPLUS]
    assert surplus and all("outside the maintenance window" in (a.blocked or "") for a in surplus)


def test_a_settings_rollout_also_waits_for_the_settings_windows() -> None:
    rollout = RolloutRequest(
        since=NOW - timedelta(minutes=5),
        recreate=False,
        max_unavailable=1,
        active_zone=ZONE_NAME,
        windows=CLOSED,
    )
    [reboot] = plan_pool(context(inventory(ssvm(1)), spec(), rollout=rollout)).actions
    assert reboot.kind is ActionKind.ROLLOUT_REBOOT
    assert reboot.blocked is not None and reboot.blocked.startswith("outside the maintenance window")


def test_an_ssvmsettings_rollout_window_that_cannot_be_used_names_its_field() -> None:
    with pytest.raises(SpecError) as refused:
        SettingsSpec.parse(
            {
                "endpointRef": {"name": "cloud"},
                "rollout": {
                    "maintenanceWindows": [
                        {"schedule": "0 2 * * *", "timeZone": "Nowhere/Land", "duration": "1h"}
                    ]
                },
            }
        )
    assert refused.value.field == "rollout.maintenanceWindows[0].timeZone"
