"""Which settings reach an SSVM only when it starts or its agent connects is one CloudStack fact with two
users: the operator rolls SSVMs for some of them (plan/settings.BOOT_TIME_KEYS), the simulator records all of
them in each VM's boot record (cloudstack_sim/catalogue.py). Neither imports the other, so the simulator stays
an independent double; both are checked against the table of docs/cloudstack-contract.md §4.1."""

from __future__ import annotations

import re

from cloudstack_sim.catalogue import SETTINGS
from ssvm_operator.plan.settings import BOOT_TIME_KEYS
from tests.support.paths import REPOSITORY


def contract() -> dict[str, str]:
    """Key -> rollout ("Reboot", "Recreate", or "None") from the contract's table."""
    text = (REPOSITORY / "docs" / "cloudstack-contract.md").read_text()
    table = text.split("<!-- boot-time-settings -->", 1)[1].split("<!-- /boot-time-settings -->", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        key = re.fullmatch(r"`([\w.]+)`", cells[0])
        if key:
            rows[key.group(1)] = cells[2]
    return rows


def test_the_contract_lists_keys() -> None:
    assert len(contract()) >= 5


def test_the_operator_rolls_exactly_the_keys_the_contract_gives_a_rollout() -> None:
    rolled = {key: rollout for key, rollout in contract().items() if rollout != "None"}
    assert {key: str(boot.rollout) for key, boot in BOOT_TIME_KEYS.items()} == rolled


def test_the_simulator_boots_with_exactly_the_keys_of_the_contract() -> None:
    booted = {s.name for s in SETTINGS if s.boot_arg and not s.hidden}
    assert booted == set(contract())
