"""Values as CloudStack stores them: Booleans lower-cased, `enable.secstorage.vm` read like parseBoolean."""

from __future__ import annotations

import pytest

from ssvm_operator.model.config import ConfigEntry
from ssvm_operator.model.snapshot import Zone, ssvm_required
from ssvm_operator.plan.settings import DesiredSetting, changes
from ssvm_operator.plan.stored_values import as_stored

CATALOGUE = {
    "secstorage.encrypt.copy": ConfigEntry("secstorage.encrypt.copy", "true", "Boolean"),
    "secstorage.proxy": ConfigEntry("secstorage.proxy", "http://Proxy:3128", "String"),
}


def test_a_declared_boolean_in_any_case_matches_what_cloudstack_stored() -> None:
    wanted = [as_stored(DesiredSetting("secstorage.encrypt.copy", "True"), CATALOGUE)]
    assert wanted[0].value == "true" and changes(wanted, CATALOGUE) == []


def test_other_types_keep_their_case() -> None:
    setting = DesiredSetting("secstorage.proxy", "http://proxy:3128")
    assert as_stored(setting, CATALOGUE) == setting


@pytest.mark.parametrize(
    ("detail", "enabled"),
    [
        (None, True),
        ("true", True),
        ("TRUE", True),
        ("false", False),
        ("no", False),
        ("0", False),
        ("", False),
    ],
)
def test_enable_secstorage_vm_is_read_like_boolean_parse_boolean(detail: str | None, enabled: bool) -> None:
    assert ssvm_required(detail) is bool(enabled)
    details = {} if detail is None else {"enable.secstorage.vm": detail}
    assert Zone.from_api({"id": "z", "name": "z", "resourcedetails": details}).ssvm_enabled is bool(enabled)
