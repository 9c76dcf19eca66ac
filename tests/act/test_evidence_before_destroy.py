"""The actor collects an SSVM's diagnostics data before destroying it, through the real client against the
simulator: once per destroy, bounded by its timeout, remembered across an operator restart, never in the way
of the repair."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from ssvm_operator.act import evidence
from ssvm_operator.act.actor import Actor
from ssvm_operator.act.outcome import Result
from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.model.spec import EvidencePolicy
from ssvm_operator.plan.types import ActionKind, InFlight, PlannedAction

URL_PREFIX = "evidence: http://"


@pytest.fixture
def cloudstack() -> Iterator[SimulatorHandle]:
    with simulator_in_thread(zones=1, scan_interval=0.5) as sim:
        sim.admin.pause_scanner()  # nothing but the actor changes the SSVMs
        yield sim


@pytest.fixture
async def client(cloudstack: SimulatorHandle) -> AsyncIterator[CloudClient]:
    settings = ConnectionSettings(
        cloudstack.api_url, timeout_seconds=5, requests_per_second=100, job_poll_seconds=0.05
    )
    async with CloudClient(settings, Credentials(cloudstack.api_key, cloudstack.secret_key)) as opened:
        yield opened


class Status:
    """status.inFlight as the actor writes it, every write kept."""

    def __init__(self) -> None:
        self.writes: list[tuple[InFlight, ...]] = []

    async def record(self, entries: tuple[InFlight, ...]) -> None:
        self.writes.append(entries)


def actor(
    client: CloudClient, status: Status, policy: EvidencePolicy, in_flight: tuple[InFlight, ...] = ()
) -> Actor:
    return Actor(client, in_flight, status.record, lambda: datetime.now(UTC), 60, evidence_policy=policy)


def action(kind: ActionKind, vm: dict[str, str], diagnosed: bool = False) -> PlannedAction:
    return PlannedAction(kind, vm["zone_id"], "test reason", vm["id"], vm["name"], diagnosed=diagnosed)


def calls(cloudstack: SimulatorHandle, command: str) -> int:
    return cloudstack.admin.call_counts().get(command, 0)


async def test_the_url_comes_before_the_destroy_and_the_job_was_recorded_first(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    status = Status()
    outcome = await actor(client, status, EvidencePolicy()).execute(action(ActionKind.DESTROY_SURPLUS, vm))

    assert outcome.result is Result.STARTED, outcome
    assert URL_PREFIX in outcome.message and "/userdata/" in outcome.message
    assert outcome.message.startswith("test reason; evidence: ")
    assert calls(cloudstack, "getDiagnosticsData") == 1 and calls(cloudstack, "destroySystemVm") == 1
    first, last = status.writes[0], status.writes[-1]
    assert [e.step for e in first] == [evidence.STEP], "the collection is in status before it is polled"
    assert [(e.step, e.job_id) for e in last] == [(None, outcome.job_id)], "then only the destroy is followed"


async def test_where_cloudstack_cannot_collect_the_destroy_goes_on_and_says_why(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    cloudstack.admin.set_reachability(vm["name"], "link-local", reachable=False)
    outcome = await actor(client, Status(), EvidencePolicy()).execute(action(ActionKind.DESTROY_SURPLUS, vm))
    assert outcome.result is Result.STARTED
    assert "no evidence: getDiagnosticsData job" in outcome.message
    assert "Failed to generate diagnostics zip file" in outcome.message
    assert calls(cloudstack, "destroySystemVm") == 1


async def test_a_lone_broken_ssvm_leaves_its_zip_on_the_store_without_a_link(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    cloudstack.admin.set_agent_state(vm["name"], "Alert", sticky=True)
    outcome = await actor(client, Status(), EvidencePolicy()).execute(action(ActionKind.RECREATE, vm))
    assert outcome.result is Result.STARTED, outcome
    assert "no evidence:" in outcome.message
    assert "diagnostics_data/diagnostics_files_" in outcome.message, "where the zip lies is still told"


async def test_a_collection_that_does_not_finish_holds_the_destroy_no_longer_than_the_timeout(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    cloudstack.admin.inject_fault("getDiagnosticsData", "job_stuck")
    began = time.monotonic()
    policy = EvidencePolicy(timeout_seconds=1)
    outcome = await actor(client, Status(), policy).execute(action(ActionKind.DESTROY_SURPLUS, vm))
    waited = time.monotonic() - began
    assert outcome.result is Result.STARTED
    assert "still running after 1s" in outcome.message
    assert 1 <= waited < 3, waited
    assert calls(cloudstack, "destroySystemVm") == 1


@pytest.mark.parametrize("status_code", [401, 432])
async def test_a_cloudstack_without_the_command_is_skipped_and_named(
    cloudstack: SimulatorHandle, client: CloudClient, status_code: int
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    cloudstack.admin.inject_fault("getDiagnosticsData", "error", status=status_code)
    status = Status()
    outcome = await actor(client, status, EvidencePolicy()).execute(action(ActionKind.DESTROY_SURPLUS, vm))
    assert outcome.result is Result.STARTED
    assert "does not offer getDiagnosticsData" in outcome.message and "collection skipped" in outcome.message
    assert calls(cloudstack, "destroySystemVm") == 1
    assert all(e.step is None for write in status.writes for e in write)


async def test_turned_off_nothing_is_collected(cloudstack: SimulatorHandle, client: CloudClient) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    outcome = await actor(client, Status(), EvidencePolicy(collect=False)).execute(
        action(ActionKind.DESTROY_SURPLUS, vm)
    )
    assert outcome.result is Result.STARTED and "evidence" not in outcome.message
    assert calls(cloudstack, "getDiagnosticsData") == 0


async def test_a_restarted_operator_follows_the_recorded_collection_and_destroys_once(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    job_id = await client.submit("getDiagnosticsData", targetid=vm["id"])  # what the last process started
    recorded = InFlight(
        ActionKind.DESTROY_SURPLUS, vm["id"], vm["name"], job_id, datetime.now(UTC), evidence.STEP
    )
    [outcome] = await actor(client, Status(), EvidencePolicy(), (recorded,)).follow_jobs()
    assert outcome.result is Result.STARTED and URL_PREFIX in outcome.message
    assert calls(cloudstack, "getDiagnosticsData") == 1, "the recorded job is followed, not asked again"
    assert calls(cloudstack, "destroySystemVm") == 1


async def test_a_collection_past_its_deadline_at_restart_is_not_waited_for(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    cloudstack.admin.inject_fault("getDiagnosticsData", "job_stuck")
    job_id = await client.submit("getDiagnosticsData", targetid=vm["id"])
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    recorded = InFlight(ActionKind.DESTROY_SURPLUS, vm["id"], vm["name"], job_id, long_ago, evidence.STEP)
    began = time.monotonic()
    [outcome] = await actor(client, Status(), EvidencePolicy(), (recorded,)).follow_jobs()
    assert time.monotonic() - began < 1.5, "the deadline counts from the request, not from the restart"
    assert outcome.result is Result.STARTED and "still running after 60s" in outcome.message
    assert calls(cloudstack, "destroySystemVm") == 1


async def test_an_ssvm_healthy_again_after_the_collection_is_not_destroyed(
    cloudstack: SimulatorHandle, client: CloudClient
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    job_id = await client.submit("getDiagnosticsData", targetid=vm["id"])
    recorded = InFlight(ActionKind.RECREATE, vm["id"], vm["name"], job_id, datetime.now(UTC), evidence.STEP)
    [outcome] = await actor(client, Status(), EvidencePolicy(), (recorded,)).follow_jobs()
    assert outcome.result is Result.SKIPPED and "healthy again" in outcome.message
    assert URL_PREFIX in outcome.message
    assert calls(cloudstack, "destroySystemVm") == 0

    diagnosed = InFlight(
        ActionKind.RECREATE, vm["id"], vm["name"], job_id, datetime.now(UTC), evidence.STEP_DIAGNOSED
    )
    [outcome] = await actor(client, Status(), EvidencePolicy(), (diagnosed,)).follow_jobs()
    assert outcome.result is Result.STARTED, "a recreate the diagnostics asked for goes on"
    assert calls(cloudstack, "destroySystemVm") == 1


@pytest.mark.parametrize(
    "kind", [ActionKind.RECREATE, ActionKind.DESTROY_SURPLUS, ActionKind.ROLLOUT_RECREATE]
)
async def test_a_destroy_of_an_ssvm_already_gone_is_a_success(
    cloudstack: SimulatorHandle, client: CloudClient, kind: ActionKind
) -> None:
    [vm] = cloudstack.admin.ssvms(running=True)
    gone = {**vm, "id": "00000000-0000-0000-0000-000000000000"}
    outcome = await actor(client, Status(), EvidencePolicy(collect=False)).execute(action(kind, gone))
    assert outcome.result is Result.SUCCEEDED, outcome
    assert outcome.message == "the SSVM no longer exists in CloudStack"
    assert calls(cloudstack, "destroySystemVm") == 0
