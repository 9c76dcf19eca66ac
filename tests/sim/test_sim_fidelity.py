"""Where CloudStack is harsher than a kind simulator would be: each test names the CloudStack code it follows
(docs/simulator.md, "Behaviour that follows CloudStack where it is harsh")."""

from __future__ import annotations

from typing import Any

import pytest
from cs import CloudStack, CloudStackApiException
from sim_helpers import zone


def _setting(api: CloudStack, name: str) -> dict[str, Any]:
    [row] = [c for c in api.listConfigurations(name=name, fetch_list=True) if c["name"] == name]
    return row


def _refused(call: Any) -> CloudStackApiException:
    with pytest.raises(CloudStackApiException) as caught:
        call()
    return caught.value


def test_boolean_settings_are_stored_lower_cased(api: CloudStack) -> None:
    # ConfigurationManagerImpl.updateConfiguration lower-cases a Boolean before storing it; UpdateCfgCmd
    # still answers with the requested text.
    answer = api.updateConfiguration(name="secstorage.encrypt.copy", value="True")["configuration"]
    assert answer["value"] == "True"
    assert _setting(api, "secstorage.encrypt.copy")["value"] == "true"


def test_clearing_a_boolean_is_530_and_an_integer_431(api: CloudStack) -> None:
    boolean = _refused(lambda: api.updateConfiguration(name="secstorage.encrypt.copy", value=""))
    assert boolean.response.status_code == 530
    integer = _refused(lambda: api.updateConfiguration(name="secstorage.capacity.standby", value=""))
    assert integer.response.status_code == 431
    assert integer.error["errortext"] == "Value [null] is not a valid [class java.lang.Integer]."
    assert _setting(api, "secstorage.capacity.standby")["value"] == "10", "nothing was cleared"


@pytest.mark.parametrize("value", ["no", "0", "", "yes"])
def test_enable_secstorage_vm_is_read_like_java_parse_boolean(sim: Any, api: CloudStack, value: str) -> None:
    # SecondaryStorageManagerImpl.isSecondaryStorageVmRequired: Boolean.parseBoolean(detail).
    zone_1 = zone(api, "zone-1")
    api.updateZone(id=zone_1["id"], **{"details[0].key": "enable.secstorage.vm", "details[0].value": value})
    vm = sim.admin.ssvms(zone="zone-1")[0]
    api.stopSystemVm(id=vm["id"])
    sim.admin.wait_for(lambda: sim.admin.vm(vm["id"])["state"] == "Stopped", timeout=10)
    for _ in range(3):
        sim.admin.scan()
    assert sim.admin.vm(vm["id"])["state"] == "Stopped", f"enable.secstorage.vm={value!r} disables SSVMs"
