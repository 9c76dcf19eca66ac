"""SSVMSettings decisions: CloudStack's own rules for sites, types, standby capacity and restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ssvm_operator.model.config import ConfigEntry
from ssvm_operator.model.settings import SettingsSpec, site_problem
from ssvm_operator.model.snapshot import SystemVm
from ssvm_operator.model.spec import SpecError
from ssvm_operator.model.standby import standby_for
from ssvm_operator.plan.settings import (
    DesiredSetting,
    changes,
    in_force_since,
    needs_rollout,
    standby_settings,
    validate,
    value_hash,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("site", ["10.1.0.0/16", "192.168.10.5", "2001:db8::1", "172.16.0.0/12"])
def test_cloudstack_accepts_addresses_and_clean_ipv4_cidrs(site: str) -> None:
    assert site_problem(site) is None


@pytest.mark.parametrize(
    ("site", "says"),
    [
        ("0.0.0.0/0", "CloudStack forbids 0.0.0.0"),
        ("0.0.0.0", "0.0.0.0 is not a valid site"),
        ("10.1.2.3/16", "host bits must be zero"),
        ("10.1.0.0/33", "not an IP address"),
        ("example.com", "not an IP address"),
    ],
)
def test_sites_cloudstack_refuses_are_refused_with_the_reason(site: str, says: str) -> None:
    problem = site_problem(site)
    assert problem is not None and says in problem


def test_a_bad_site_names_its_index_in_the_spec() -> None:
    with pytest.raises(SpecError) as raised:
        SettingsSpec.parse(
            {"endpointRef": {"name": "cloud"}, "allowedInternalSites": ["10.0.0.0/8", "0.0.0.0/0"]}
        )
    assert raised.value.field == "allowedInternalSites[1]"


def test_keys_owned_by_dedicated_fields_cannot_be_set_twice() -> None:
    with pytest.raises(SpecError) as raised:
        SettingsSpec.parse(
            {"endpointRef": {"name": "c"}, "settings": {"secstorage.allowed.internal.sites": "1.2.3.4"}}
        )
    assert "allowedInternalSites" in raised.value.message


CATALOGUE = {
    "secstorage.session.max": ConfigEntry("secstorage.session.max", "50", "Number"),
    "secstorage.capacity.standby": ConfigEntry("secstorage.capacity.standby", "10", "Number"),
    "secstorage.encrypt.copy": ConfigEntry("secstorage.encrypt.copy", "false", "Boolean"),
    "secstorage.vm.auto.scale.down": ConfigEntry("secstorage.vm.auto.scale.down", "false", "Boolean", True),
}


def test_unknown_keys_and_wrong_types_are_reported_with_their_field() -> None:
    problems = validate(
        [
            DesiredSetting("secstorage.no.such.key", "1", field="settings.secstorage.no.such.key"),
            DesiredSetting("secstorage.session.max", "many", field="settings.secstorage.session.max"),
            DesiredSetting("secstorage.encrypt.copy", "yes", field="settings.secstorage.encrypt.copy"),
        ],
        CATALOGUE,
    )
    assert [p.field for p in problems] == [
        "settings.secstorage.no.such.key",
        "settings.secstorage.session.max",
        "settings.secstorage.encrypt.copy",
    ]
    assert "does not exist" in problems[0].message
    assert "not a whole number" in problems[1].message
    assert "not true or false" in problems[2].message


def test_a_wrong_secret_value_is_never_quoted() -> None:
    [problem] = validate([DesiredSetting("secstorage.session.max", "hunter2", secret=True)], CATALOGUE)
    assert "hunter2" not in problem.message


def test_only_values_that_differ_are_changed_and_booleans_compare_as_cloudstack_stores_them() -> None:
    desired = [
        DesiredSetting("secstorage.session.max", "50"),
        DesiredSetting("secstorage.capacity.standby", "3"),
    ]
    assert [c.name for c in changes(desired, CATALOGUE)] == ["secstorage.capacity.standby"]


@pytest.mark.parametrize(("replicas", "session_max", "standby"), [(2, 50, 51), (3, 1, 3), (4, 10, 31)])
def test_standby_gives_exactly_the_requested_ssvms_per_zone(
    replicas: int, session_max: int, standby: int
) -> None:
    value = standby_for(replicas, session_max, current_standby=10)
    assert value == standby
    # CloudStack's steady state: the smallest R >= 1 with R * S >= B.
    assert next(r for r in range(1, 100) if r * session_max >= value) == replicas


def test_standby_is_left_alone_while_no_pool_asks_for_more_than_one() -> None:
    assert standby_settings([1, 1, 0], CATALOGUE) is None


def test_the_largest_pool_decides_the_global_standby() -> None:
    computed = standby_settings([1, 3, 2], CATALOGUE)
    assert computed is not None
    setting, replicas = computed
    assert replicas == 3 and setting.value == "101"


def test_a_change_is_in_force_only_after_every_management_server_started_after_it() -> None:
    changed = T0
    assert in_force_since(changed, [T0 + timedelta(minutes=5), T0 - timedelta(days=1)]) is None
    assert in_force_since(changed, [T0 + timedelta(minutes=5), T0 + timedelta(minutes=9)]) == T0 + timedelta(
        minutes=9
    )
    assert in_force_since(changed, []) is None


def test_an_ssvm_needs_a_reboot_until_its_agent_reconnected_after_the_change_took_effect() -> None:
    since = T0 + timedelta(hours=1)
    old = SystemVm("1", "s-1-VM", "z", "Running", "Up", created=T0, last_disconnected=T0)
    rebooted = SystemVm(
        "1", "s-1-VM", "z", "Running", "Up", created=T0, last_disconnected=since + timedelta(minutes=1)
    )
    recreated = SystemVm("2", "s-2-VM", "z", "Running", "Up", created=since + timedelta(minutes=2))
    assert needs_rollout(old, since)
    assert not needs_rollout(rebooted, since)
    assert not needs_rollout(recreated, since)


def test_secret_values_are_shown_only_as_a_hash() -> None:
    setting = DesiredSetting("secstorage.proxy", "http://user:pw@proxy:3128", secret=True)
    assert setting.shown == value_hash("http://user:pw@proxy:3128")
    assert "pw" not in (setting.shown or "")
