"""runDiagnostics from inside an SSVM, with reachability set through the admin path (§11)."""

from __future__ import annotations

import pytest
from cs import CloudStack, CloudStackApiException

from cloudstack_sim.testing import SimulatorHandle
from tests.sim.sim_helpers import ssvms, wait_job


def diagnose(api: CloudStack, vm_id: str, address: str, kind: str = "ping") -> dict[str, str]:
    submitted = api.runDiagnostics(targetid=vm_id, ipaddress=address, type=kind)
    assert set(submitted) == {"jobid"}
    job = wait_job(api, submitted["jobid"])
    assert job["jobstatus"] == 1, job
    result: dict[str, str] = job["jobresult"]["diagnostics"]
    return result


def test_a_reachable_address_answers(api: CloudStack) -> None:
    vm = ssvms(api)[0]
    result = diagnose(api, vm["id"], "10.0.0.1")
    assert set(result) >= {"stdout", "stderr", "exitcode"}
    assert str(result["exitcode"]) == "0"
    assert "10.0.0.1" in result["stdout"]


def test_an_unreachable_target_fails_with_a_nonzero_exit(api: CloudStack, sim: SimulatorHandle) -> None:
    vm = ssvms(api)[0]
    sim.admin.set_reachability(vm["id"], "10.9.9.9", reachable=False)
    result = diagnose(api, vm["id"], "10.9.9.9")
    assert str(result["exitcode"]) != "0"
    assert str(diagnose(api, vm["id"], "10.0.0.1")["exitcode"]) == "0", "other targets stay reachable"


def test_reachability_is_per_ssvm(api: CloudStack, sim: SimulatorHandle) -> None:
    first, second = ssvms(api)
    sim.admin.set_reachability(first["id"], "*", reachable=False)
    assert str(diagnose(api, first["id"], "8.8.8.8")["exitcode"]) != "0"
    assert str(diagnose(api, second["id"], "8.8.8.8")["exitcode"]) == "0"
    sim.admin.set_reachability(first["id"], "*", reachable=True)
    assert str(diagnose(api, first["id"], "8.8.8.8")["exitcode"]) == "0"


@pytest.mark.parametrize("kind", ["traceroute", "arping"])
def test_other_diagnostics_types(api: CloudStack, kind: str) -> None:
    vm = ssvms(api)[0]
    assert str(diagnose(api, vm["id"], "10.0.0.1", kind)["exitcode"]) == "0"


def test_an_unknown_type_fails_inside_the_job(api: CloudStack) -> None:
    # RunDiagnosticsCmd.getType throws IllegalArgumentException while the job runs: 530, not a 431.
    vm = ssvms(api)[0]
    job = wait_job(api, api.runDiagnostics(targetid=vm["id"], ipaddress="10.0.0.1", type="nmap")["jobid"])
    assert job["jobstatus"] == 2
    assert job["jobresult"] == {
        "errorcode": 530,
        "errortext": "nmap Is not a valid diagnostics command type. ",
    }


def test_missing_parameters_are_431(api: CloudStack) -> None:
    with pytest.raises(CloudStackApiException) as caught:
        api.runDiagnostics(ipaddress="10.0.0.1", type="ping")
    assert caught.value.response.status_code == 431
    assert "targetid" in caught.value.error["errortext"]
