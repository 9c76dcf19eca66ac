"""The admin path, the command line and the scenario files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cs import CloudStack, CloudStackException

from cloudstack_sim.testing import SimulatorHandle, running_simulator
from tests.sim.sim_helpers import SCAN_INTERVAL, eventually, ssvms, zone
from tests.support.paths import REPOSITORY

EXAMPLES = REPOSITORY / "examples" / "sim"


def client(sim: SimulatorHandle) -> CloudStack:
    return CloudStack(endpoint=sim.api_url, key=sim.api_key, secret=sim.secret_key, method="post", timeout=10)


def test_state_shows_roles_boot_settings_and_jobs(api: CloudStack, sim: SimulatorHandle) -> None:
    job_id = api.rebootSystemVm(id=ssvms(api)[0]["id"])["jobid"]
    state = sim.admin.state()
    assert {z["name"] for z in state["zones"]} == {"zone-1", "zone-2"}
    ssvm_states = [vm for vm in state["vms"] if vm["type"] == "SecondaryStorageVm"]
    assert {vm["role"] for vm in ssvm_states} == {"templateProcessor"}
    for vm in ssvm_states:
        assert "secstorage.allowed.internal.sites" in vm["boot"]["settings"]
        assert vm["boot"]["offering"]["id"]
    standby = state["settings"]["secstorage.capacity.standby"]
    assert (standby["value"], standby["in_force"]) == ("10", "10")
    assert job_id in {job["id"] for job in state["jobs"]}


def test_ssvms_by_zone_name(sim: SimulatorHandle) -> None:
    assert [vm["zone"] for vm in sim.admin.ssvms(zone="zone-2")] == ["zone-2"]
    assert len(sim.admin.ssvms()) == 2


def test_the_admin_path_needs_no_signature(sim: SimulatorHandle) -> None:
    answer = requests.get(sim.admin_url + "/state", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")


def test_restart_moves_lastserverstart(api: CloudStack, sim: SimulatorHandle) -> None:
    before = api.listManagementServers(fetch_list=True)[0]["lastserverstart"]
    sim.admin.restart_management_server()
    eventually(lambda: api.listManagementServers(fetch_list=True)[0]["lastserverstart"] > before, 5)


def test_zone_count_and_credentials_are_options() -> None:
    with running_simulator(zones=3, api_key="k", secret_key="s", scan_interval=SCAN_INTERVAL) as sim:
        api = client(sim)
        assert sorted(z["name"] for z in api.listZones(fetch_list=True)) == ["zone-1", "zone-2", "zone-3"]
        assert len(ssvms(api)) == 3
        assert (sim.api_key, sim.secret_key) == ("k", "s")


def test_the_default_scan_interval_is_thirty_seconds() -> None:
    with running_simulator() as sim:
        names = {c["name"]: c for c in client(sim).listConfigurations(name="capacityscan", fetch_list=True)}
        assert names["secstorage.capacityscan.interval"]["value"] == "30000"
        assert (sim.api_key, sim.secret_key) == ("demo-api-key", "demo-secret-key")


def test_the_subprocess_mode_serves_the_same_api() -> None:
    with running_simulator(mode="subprocess", scan_interval=SCAN_INTERVAL, zones=1) as sim:
        api = client(sim)
        assert [z["name"] for z in api.listZones(fetch_list=True)] == ["zone-1"]
        assert len(sim.admin.ssvms()) == 1


def test_the_command_line_prints_where_it_listens_and_the_credentials() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cloudstack_sim", "--port", "0", "--zones", "1", "--api-key", "key-1",
         "--secret-key", "secret-1", "--scan-interval", "0.2", "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(3)]
        assert lines[0].startswith("listening on http://127.0.0.1:")
        assert lines[0].endswith("/client/api")
        assert "key-1" in lines[1] and "secret-1" in lines[2]
        url = lines[0].removeprefix("listening on ")
        api = CloudStack(endpoint=url, key="key-1", secret="secret-1", timeout=10)
        assert api.listZones()["count"] == 1
    finally:
        process.terminate()
        assert process.wait(10) == 0, "SIGTERM is a clean shutdown"
        if process.stdout is not None:
            process.stdout.close()


def test_help_lists_the_documented_options() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "cloudstack_sim", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for option in (
        "--host",
        "--port",
        "--api-key",
        "--secret-key",
        "--zones",
        "--scan-interval",
        "--scenario",
        "--seed",
    ):
        assert option in shown


@pytest.mark.parametrize("scenario", sorted(EXAMPLES.glob("*.yaml")), ids=lambda path: path.stem)
def test_every_shipped_scenario_loads(scenario: Path) -> None:
    with running_simulator(scenario=scenario, scan_interval=SCAN_INTERVAL) as sim:
        api = client(sim)
        assert api.listZones(fetch_list=True)
        assert api.listServiceOfferings(issystem=True, systemvmtype="secondarystoragevm", fetch_list=True)


def test_a_scenario_sets_zones_offerings_settings_and_states(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        """
zones:
  - name: east
    ssvms:
      - state: Running
        agent: Up
      - state: Stopped
  - name: edge-1
    type: Edge
    ssvms: []
  - name: west
    allocationstate: Disabled
    details:
      enable.secstorage.vm: "false"
    ssvms: []
offerings:
  - name: SSVM XL
    cpunumber: 4
    cpuspeed: 2000
    memory: 4096
  - name: Tiny Instance
    issystem: false
    cpunumber: 1
    cpuspeed: 500
    memory: 256
settings:
  secstorage.capacity.standby: "20"
""",
        encoding="utf-8",
    )
    with running_simulator(scenario=scenario, scan_interval=SCAN_INTERVAL) as sim:
        sim.admin.pause_scanner()
        api = client(sim)
        zones = {z["name"]: z for z in api.listZones(fetch_list=True)}
        assert set(zones) == {"east", "edge-1", "west"}
        assert zones["edge-1"]["type"] == "Edge"
        assert zones["west"]["allocationstate"] == "Disabled"
        assert zones["west"]["resourcedetails"]["enable.secstorage.vm"] == "false"
        assert sorted(vm["state"] for vm in ssvms(api, zone(api, "east")["id"])) == ["Running", "Stopped"]
        system = {o["name"] for o in api.listServiceOfferings(issystem=True, fetch_list=True)}
        assert "SSVM XL" in system
        assert "Tiny Instance" in {o["name"] for o in api.listServiceOfferings(fetch_list=True)}
        standby = api.listConfigurations(name="secstorage.capacity.standby", fetch_list=True)[0]
        assert standby["value"] == "20"
        assert sim.admin.state()["settings"]["secstorage.capacity.standby"]["in_force"] == "20"


def test_restart_downtime_answers_503(api: CloudStack, sim: SimulatorHandle) -> None:
    import threading

    restart = threading.Thread(target=sim.admin.restart_management_server, kwargs={"downtime": 1.0})
    restart.start()
    try:

        def unavailable() -> bool:
            try:
                api.listZones()
            except CloudStackException as error:
                return "503" in str(error)
            return False

        eventually(unavailable, 5, "a 503 while the management server is down")
    finally:
        restart.join(10)
    assert api.listZones()["count"] == 2


def test_the_integration_port_needs_no_signature_and_answers_432_for_unknown_commands() -> None:
    with running_simulator(scan_interval=SCAN_INTERVAL, integration_port=0) as sim:
        assert sim.simulator is not None
        port = sim.simulator.bound_integration_port
        url = f"http://127.0.0.1:{port}/client/api"
        answer = requests.get(url, params={"command": "listZones", "response": "json"}, timeout=5)
        assert answer.status_code == 200
        assert answer.json()["listzonesresponse"]["count"] == 2
        unknown = requests.get(url, params={"command": "noSuchThing", "response": "json"}, timeout=5)
        assert unknown.status_code == 432
        assert unknown.json()["errorresponse"]["errortext"] == "Unknown API command: noSuchThing"
