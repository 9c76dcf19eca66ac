"""Values as CloudStack stores them, so that what the operator applied is what it reads back.

`ConfigurationManagerImpl.updateConfiguration` lower-cases the value of a Boolean setting before storing it
(`value = value.toLowerCase()`), while the API answer echoes the value asked for. A declared "True" would
otherwise never match `listConfigurations` ("true"): re-applied on every poll, with a restart clock that
never settles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ssvm_operator.model.config import ConfigEntry
from ssvm_operator.plan.settings import DesiredSetting


def as_stored(setting: DesiredSetting, catalogue: Mapping[str, ConfigEntry]) -> DesiredSetting:
    entry = catalogue.get(setting.name)
    if entry is None or setting.value is None or (entry.type or "").lower() != "boolean":
        return setting
    return replace(setting, value=setting.value.lower())
