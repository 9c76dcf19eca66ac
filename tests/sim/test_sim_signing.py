"""Requests are authenticated the way ApiServer.verifyRequest does it (cloudstack-contract.md §7.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from cs import AIOCloudStack, CloudStack, CloudStackApiException

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import base_params, signed

UNAUTHORIZED = {
    "uuidList": [],
    "errorcode": 401,
    "errortext": "unable to verify user credentials and/or request signature",
}


def test_signed_get_and_post_are_accepted(api: CloudStack, api_get: CloudStack) -> None:
    assert api.listZones()["count"] == 2
    assert api_get.listZones()["count"] == 2


async def test_the_async_client_is_accepted(aapi: AIOCloudStack) -> None:
    zones = await aapi.listZones(fetch_list=True)
    assert sorted(z["name"] for z in zones) == ["zone-1", "zone-2"]


def test_a_wrong_secret_is_refused_with_401(sim: SimulatorHandle) -> None:
    client = CloudStack(endpoint=sim.api_url, key=sim.api_key, secret="not-the-secret", method="post")
    with pytest.raises(CloudStackApiException) as caught:
        client.listZones()
    assert caught.value.response.status_code == 401
    assert caught.value.error == UNAUTHORIZED


def test_an_unknown_api_key_is_refused(sim: SimulatorHandle) -> None:
    client = CloudStack(endpoint=sim.api_url, key="someone-else", secret=sim.secret_key)
    with pytest.raises(CloudStackApiException) as caught:
        client.listSystemVms()
    assert caught.value.response.status_code == 401


def test_an_expired_request_is_refused(api: CloudStack) -> None:
    with pytest.raises(CloudStackApiException) as caught:
        api.listZones(signatureVersion="3", expires="2020-01-01T00:00:00+0000")
    assert caught.value.response.status_code == 401
    assert caught.value.error == UNAUTHORIZED


def test_an_expires_in_the_future_is_accepted(api: CloudStack) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert api.listZones(signatureVersion="3", expires=later)["count"] == 2


def test_a_command_outside_the_simulated_slice_is_432_not_a_credentials_error(api: CloudStack) -> None:
    # As CloudStack answers a command the caller's role does not allow (RoleBasedAPIAccessChecker ->
    # ApiServer.commandAvailable): a client must not read it as bad credentials.
    with pytest.raises(CloudStackApiException) as caught:
        api.listVirtualMachines()
    assert caught.value.response.status_code == 432
    assert caught.value.error == {
        "uuidList": [],
        "errorcode": 432,
        "errortext": "The API listVirtualMachines does not exist or is not available for this account.",
    }


def test_the_401_body_is_keyed_by_the_command_or_errorresponse(sim: SimulatorHandle) -> None:
    known = requests.post(sim.api_url, data=signed(base_params(sim, "listZones"), "wrong"), timeout=5)
    assert known.status_code == 401
    assert known.headers["Content-Type"].startswith("application/json")
    assert known.json() == {"listzonesresponse": UNAUTHORIZED}

    params = base_params(sim, "noSuchCommand")
    params["apiKey"] = "someone-else"
    unknown = requests.post(sim.api_url, data=signed(params, sim.secret_key), timeout=5)
    assert unknown.status_code == 401
    assert unknown.json() == {"errorresponse": UNAUTHORIZED}


def test_a_tilde_signed_the_java_way_is_accepted(sim: SimulatorHandle) -> None:
    params = base_params(sim, "listConfigurations", name="no~such")
    answer = requests.get(sim.api_url, params=signed(params, sim.secret_key), timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"listconfigurationsresponse": {}}


def test_a_tilde_signed_by_cs_fails_as_against_cloudstack(api: CloudStack) -> None:
    # Known divergence of the cs client (cloudstack-contract.md §7.2): quote() leaves `~` unescaped.
    with pytest.raises(CloudStackApiException) as caught:
        api.listConfigurations(name="no~such")
    assert caught.value.response.status_code == 401


def test_parameter_names_sort_case_sensitively(sim: SimulatorHandle) -> None:
    # Java Collections.sort on the original names puts "Zzz" before "apiKey"; sorting lower-cased would not.
    params = base_params(sim, "listZones", Zzz="1")
    answer = requests.post(sim.api_url, data=signed(params, sim.secret_key), timeout=5)
    assert answer.status_code == 200


def test_a_missing_signature_is_refused(sim: SimulatorHandle) -> None:
    answer = requests.get(sim.api_url, params=base_params(sim, "listZones"), timeout=5)
    assert answer.status_code == 401
    assert answer.json()["listzonesresponse"]["errorcode"] == 401
