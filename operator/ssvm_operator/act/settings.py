"""Carries out an SSVMSettings plan: updateConfiguration for each setting to apply, and on deletion with
deletionPolicy Restore, the values the operator replaced put back. The decisions are made in
plan/settings_plan.py; kube/ssvm_settings.py reports what this returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from ssvm_operator.cloud import config
from ssvm_operator.cloud.client import CloudApi
from ssvm_operator.cloud.errors import CloudError
from ssvm_operator.model.config import ConfigEntry
from ssvm_operator.plan.settings import DesiredSetting
from ssvm_operator.plan.settings_plan import (
    AppliedRecord,
    Refusal,
    SettingsProblem,
    applied_by,
    permanent_refusal,
)

log = structlog.get_logger("ssvm_operator.settings")


@dataclass(frozen=True)
class Applied:
    """One setting CloudStack accepted."""

    setting: DesiredSetting
    record: AppliedRecord
    drifted: bool
    """It had been changed outside Git and is put back."""


@dataclass(frozen=True)
class ApplyOutcome:
    done: list[Applied]
    """What CloudStack accepted."""
    refused: list[Refusal]
    """What it refused for good (plan/settings_plan.permanent_refusal): not sent again at this generation."""


class SettingsRefused(SettingsProblem):
    """CloudStack failed a setting with an error that may pass; `done` and `refused` are what happened to
    those before it."""

    def __init__(self, message: str, done: Sequence[Applied], refused: Sequence[Refusal] = ()) -> None:
        super().__init__("SettingRejected", message)
        self.done = tuple(done)
        self.refused = tuple(refused)


async def apply_settings(
    client: CloudApi,
    todo: Sequence[DesiredSetting],
    catalogue: Mapping[str, ConfigEntry],
    applied: Mapping[str, AppliedRecord],
    drifted: Sequence[str],
    now: datetime,
    generation: int | None = None,
) -> ApplyOutcome:
    """updateConfiguration for each setting in `todo`, in order. A value CloudStack refuses for good is
    recorded and the others are still applied; any other error stops here (SettingsRefused, with what
    happened before it), to be tried again at the next poll."""
    records = applied_by(todo, catalogue, applied, now)
    done: list[Applied] = []
    refused: list[Refusal] = []
    for setting in todo:
        try:
            await config.update_setting(client, setting.name, setting.value)
        except CloudError as error:
            if permanent_refusal(error.code, error.detail, setting.value):
                shown = "a secret value" if setting.secret else _shown(setting.value)
                message = f"spec.{setting.field}: CloudStack refuses {shown}: {error}"
                refused.append(Refusal.of(setting, message, generation))
                log.warning("setting.refused", setting=setting.name, code=error.code)
                continue
            raise SettingsRefused(
                f"spec.{setting.field}: CloudStack failed to apply it: {error}", done, refused
            ) from None
        done.append(Applied(setting, records[setting.name], setting.name in drifted))
        log.info("setting.applied", setting=setting.name, secret=setting.secret)
    return ApplyOutcome(done, refused)


def _shown(value: str | None) -> str:
    return "an empty value" if value in (None, "") else repr(value)


async def restore_settings(
    client: CloudApi, applied: Mapping[str, AppliedRecord], can_reset: bool
) -> list[str]:
    """deletionPolicy Restore: put back the values the operator replaced. Secret settings, whose previous
    values were never kept, go back to CloudStack's default (`can_reset`: resetConfiguration, 4.16.1+;
    otherwise the default listConfigurations reports, 4.18+). Returns the settings it could not put back:
    secret settings on a release with neither."""
    catalogue = await config.read_settings(client, applied)
    left: list[str] = []
    for record in applied.values():
        if record.applied_at is None or record.name not in catalogue:
            continue  # the operator never changed it
        if record.secret:
            # The previous secret value was never kept: back to CloudStack's default where it can say it.
            if can_reset:
                await config.reset_setting(client, record.name)
            elif catalogue[record.name].default is not None:
                await config.update_setting(client, record.name, catalogue[record.name].default)
            else:
                log.warning(
                    "setting.not_restored", setting=record.name, why="no resetConfiguration before 4.16.1"
                )
                left.append(record.name)
                continue
        else:
            await config.update_setting(client, record.name, record.previous_value)
        log.info("setting.restored", setting=record.name)
    return left
