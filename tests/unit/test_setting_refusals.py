"""Which updateConfiguration errors refuse the value for good, and how a refused value is held until the
spec changes while the other settings are still applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ssvm_operator.kube.settings_status import refused_from_status, render_refused
from ssvm_operator.model.config import ConfigEntry
from ssvm_operator.model.settings import SettingsSpec
from ssvm_operator.model.snapshot import Inventory
from ssvm_operator.plan.rollout_status import RolloutPhase, RolloutStatus
from ssvm_operator.plan.settings import DesiredSetting
from ssvm_operator.plan.settings_plan import (
    Refusal,
    SettingsContext,
    permanent_refusal,
    plan_settings,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NPE = 'Cannot invoke "String.toLowerCase()" because "value" is null'


@pytest.mark.parametrize(
    ("code", "text", "value"),
    [
        # validateConfigurationValue: InvalidParameterValueException, 431
        (
            431,
            "Value [31415926535897932384] is not a valid [class java.lang.Integer].",
            "31415926535897932384",
        ),
        (
            431,
            "Invalid CIDR 10.0.0.1/8 value specified for the config secstorage.allowed.internal.sites.",
            "x",
        ),
        # NetUtils.getCleanIp4Cidr throwing inside validateValueRange (4.19.2.0, 4.20.0.0): 530
        (530, "Invalid CIDR: example.com", "example.com"),
        # Clearing a Boolean: the NullPointerException of updateConfiguration's value.toLowerCase()
        (530, NPE, None),
        (530, NPE, ""),
    ],
)
def test_cloudstacks_validation_refusals_are_permanent(code: int, text: str, value: str | None) -> None:
    assert permanent_refusal(code, text, value)


@pytest.mark.parametrize(
    ("code", "text", "value"),
    [
        # _configDao.update failed: a database problem, which may pass
        (530, "Failed to update configuration value. Please contact Cloud Support.", "5"),
        (530, "Unable to update configuration parameter secstorage.session.max", "5"),
        (530, "job cancelled because of management server restart or shutdown", "5"),
        (530, "Internal error executing command, please contact your system administrator", "5"),
        # The same NullPointerException text while a value was sent is not about clearing it.
        (530, NPE, "true"),
        (503, "Management server is in maintenance", "5"),
        (None, "timed out waiting for CloudStack", "5"),
        (401, "unable to verify user credentials and/or request signature", "5"),
    ],
)
def test_internal_errors_and_outages_stay_retryable(code: int | None, text: str, value: str | None) -> None:
    assert not permanent_refusal(code, text, value)


LIMIT = "secstorage.cmd.execution.time.max"
SESSIONS = "secstorage.max.migrate.sessions"
CATALOGUE = {
    LIMIT: ConfigEntry(LIMIT, "3600", "Number", True),
    SESSIONS: ConfigEntry(SESSIONS, "2", "Number", True),
}


def context(limit: str, generation: int, refused: dict[str, Refusal]) -> SettingsContext:
    spec = SettingsSpec.parse({"endpointRef": {"name": "c"}, "settings": {LIMIT: limit, SESSIONS: "3"}})
    return SettingsContext(
        spec=spec,
        catalogue=CATALOGUE,
        inventory=Inventory(observed_at=T0),
        servers=(),
        applied={},
        previous_rollout=RolloutStatus(RolloutPhase.IDLE),
        secrets={},
        pool_replicas=(),
        pools=None,
        now=T0,
        refused=refused,
        generation=generation,
    )


BIG = "31415926535897932384"
REFUSED = Refusal.of(
    DesiredSetting(LIMIT, BIG, field=f"settings.{LIMIT}"), f"spec.settings.{LIMIT}: CloudStack refuses", 4
)


def test_a_refused_value_is_held_while_the_other_settings_are_applied() -> None:
    plan = plan_settings(context(BIG, 4, {LIMIT: REFUSED}))
    assert [s.name for s in plan.todo] == [SESSIONS]
    assert plan.refused == (REFUSED,)
    assert LIMIT not in plan.applied, "nothing recorded as applied for a refused value"


def test_any_spec_change_tries_the_value_once_more() -> None:
    plan = plan_settings(context(BIG, 5, {LIMIT: REFUSED}))
    assert {s.name for s in plan.todo} == {LIMIT, SESSIONS}
    assert plan.refused == ()


def test_a_new_value_is_sent_and_the_refusal_forgotten() -> None:
    plan = plan_settings(context("7200", 4, {LIMIT: REFUSED}))
    assert {s.name: s.value for s in plan.todo}[LIMIT] == "7200"
    assert plan.refused == ()


def test_refusals_read_back_from_status_as_written() -> None:
    assert refused_from_status({"refused": render_refused([REFUSED])}) == {LIMIT: REFUSED}
    assert refused_from_status({"refused": [{"value": "no name"}, "junk"]}) == {}
