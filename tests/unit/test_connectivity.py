"""Connectivity diagnostics tell a fault of the storage (or DNS, or the management servers) from a fault of
one SSVM, and the plan follows: hold the repairs the storage makes useless, repair the isolated SSVM."""

from __future__ import annotations

import pytest

from ssvm_operator.cloud.diagnostics import host_of, latency_ms, parse_result
from ssvm_operator.model.diagnostics import Check, Connectivity, Target, TargetRole
from ssvm_operator.model.spec import DiagnosticsPolicy, Remediation
from ssvm_operator.plan.connectivity import diagnose
from ssvm_operator.plan.diagnostics_schedule import diagnosable, merge, round_due
from ssvm_operator.plan.types import ActionKind, Plan, PlannedAction, Severity, VmMemory
from tests.unit.plan_builders import NOW, ago, flight, inventory, kinds, plan, reasons, spec, ssvm

STORAGE = Target("10.1.0.5", TargetRole.STORAGE, "nfs-zone-1-1")
DNS = Target("10.1.0.2", TargetRole.DNS)
MS = Target("10.0.0.11", TargetRole.MANAGEMENT_SERVER, "ms-1")
TARGETS = (STORAGE, DNS, MS)


def checks(
    number: int, *unreachable: Target, seconds_ago: float = 0, since_ago: float | None = None
) -> list[Check]:
    """The checks of s-n-VM against every target, the given ones failing."""
    at = ago(seconds_ago)
    return [
        Check(
            f"vm-{number}",
            f"s-{number}-VM",
            target,
            at,
            reachable=target not in unreachable,
            latency_ms=None if target in unreachable else 0.4,
            error="100% packet loss" if target in unreachable else None,
            unreachable_since=(ago(since_ago) if since_ago is not None else at)
            if target in unreachable
            else None,
        )
        for target in TARGETS
    ]


def diagnosed(*groups: list[Check]) -> Connectivity:
    return Connectivity(tuple(c for group in groups for c in group))


def blocked(result: Plan, kind: ActionKind) -> list[str]:
    return [a.blocked or "" for a in result.actions if a.kind is kind]


class TestClassification:
    def test_a_storage_host_no_running_ssvm_reaches_is_the_storage(self) -> None:
        vms = (ssvm(1), ssvm(2))
        diagnosis = diagnose(diagnosed(checks(1, STORAGE), checks(2, STORAGE)), vms)
        [fault] = diagnosis.zone_faults
        assert fault.target == STORAGE and fault.ssvms == ("s-1-VM", "s-2-VM")
        assert diagnosis.isolated == ()
        status, reason, message = diagnosis.summary("zone1")
        assert (status, reason) == (False, "StorageUnreachable")
        assert "10.1.0.5" in message and "Unable to mount secondary storage" in message

    def test_an_ssvm_that_cannot_reach_what_a_sibling_reaches_is_isolated(self) -> None:
        diagnosis = diagnose(diagnosed(checks(1, STORAGE), checks(2)), (ssvm(1), ssvm(2)))
        assert diagnosis.zone_faults == ()
        [isolation] = diagnosis.isolated
        assert isolation.vm_name == "s-1-VM" and isolation.reached_by == ("s-2-VM",)
        assert diagnosis.summary("zone1")[1] == "SSVMIsolated"

    def test_unreachable_dns_carries_the_download_hint(self) -> None:
        diagnosis = diagnose(diagnosed(checks(1, DNS)), (ssvm(1),))
        status, reason, message = diagnosis.summary("zone1")
        assert (status, reason) == (False, "DnsUnreachable")
        assert "downloads stay at 0%" in message and diagnosis.hold_reason() is None

    def test_the_storage_names_the_condition_before_dns_and_management_servers(self) -> None:
        diagnosis = diagnose(diagnosed(checks(1, DNS, MS, STORAGE)), (ssvm(1),))
        assert [f.target.role for f in diagnosis.zone_faults] == [
            TargetRole.STORAGE,
            TargetRole.MANAGEMENT_SERVER,
            TargetRole.DNS,
        ]
        assert diagnosis.summary("zone1")[1] == "StorageUnreachable"

    def test_all_reachable_is_true_and_nothing_checked_is_unknown(self) -> None:
        assert diagnose(diagnosed(checks(1)), (ssvm(1),)).summary("zone1")[:2] == (True, "Reachable")
        assert diagnose(None, (ssvm(1),)).summary("zone1")[:2] == (None, "NotChecked")

    def test_only_running_ssvms_and_checks_that_ran_count(self) -> None:
        not_run = [Check("vm-2", "s-2-VM", STORAGE, NOW, reachable=None, error="job failed")]
        vms = (ssvm(1), ssvm(2), ssvm(3, state="Stopped"))
        diagnosis = diagnose(diagnosed(checks(1, STORAGE), not_run, checks(3)), vms)
        [fault] = diagnosis.zone_faults  # s-3 is Stopped; s-2's check proves nothing
        assert fault.ssvms == ("s-1-VM",) and diagnosis.isolated == ()

    def test_checks_of_removed_ssvms_are_ignored(self) -> None:
        diagnosis = diagnose(diagnosed(checks(1, STORAGE), checks(9)), (ssvm(1),))
        assert [f.target for f in diagnosis.zone_faults] == [STORAGE]


class TestStorageFaultHoldsRepairs:
    def test_agents_lost_while_the_storage_is_unreachable_are_not_rebooted(self) -> None:
        inv = inventory(ssvm(1, agent="Disconnected"), ssvm(2, agent="Alert"))
        result = plan(
            inv,
            spec(replicas=2),
            memory={1: VmMemory(unhealthy_since=ago(900)), 2: VmMemory(unhealthy_since=ago(900))},
            connectivity=diagnosed(checks(1, STORAGE), checks(2, STORAGE)),
        )
        assert kinds(result) == [(ActionKind.REBOOT, "s-1-VM"), (ActionKind.REBOOT, "s-2-VM")]
        assert result.runnable == ()
        for reason in blocked(result, ActionKind.REBOOT):
            assert reason.startswith(
                "storage host 10.1.0.5 is unreachable from every SSVM of the zone: "
                "repairing SSVMs would not help"
            )
        finding = reasons(result)["StorageUnreachable"]
        assert "10.1.0.5" in finding and "not rebooted or recreated" in finding

    def test_nor_recreated_after_a_reboot_that_did_not_help(self) -> None:
        memory = VmMemory(ago(2000), ActionKind.REBOOT, ago(1000))
        result = plan(
            inventory(ssvm(1, agent="Down")),
            memory={1: memory},
            connectivity=diagnosed(checks(1, STORAGE)),
        )
        assert kinds(result) == [(ActionKind.RECREATE, "s-1-VM")] and result.runnable == ()

    def test_a_stopped_ssvm_is_still_started(self) -> None:
        result = plan(
            inventory(ssvm(1, state="Stopped", agent=None), ssvm(2, agent="Disconnected")),
            spec(replicas=2),
            memory={1: VmMemory(unhealthy_since=ago(900)), 2: VmMemory(unhealthy_since=ago(900))},
            connectivity=diagnosed(checks(2, STORAGE)),
        )
        assert [(a.kind, a.vm_name) for a in result.runnable] == [(ActionKind.START, "s-1-VM")]

    def test_without_diagnostics_the_ladder_repairs_as_before(self) -> None:
        result = plan(inventory(ssvm(1, agent="Down")), memory={1: VmMemory(unhealthy_since=ago(900))})
        assert [(a.kind, a.vm_name) for a in result.runnable] == [(ActionKind.REBOOT, "s-1-VM")]

    def test_unreachable_dns_holds_nothing(self) -> None:
        result = plan(
            inventory(ssvm(1, agent="Down")),
            memory={1: VmMemory(unhealthy_since=ago(900))},
            connectivity=diagnosed(checks(1, DNS)),
        )
        assert [(a.kind, a.vm_name) for a in result.runnable] == [(ActionKind.REBOOT, "s-1-VM")]
        assert "DnsUnreachable" in reasons(result)


class TestIsolatedSsvmIsRepaired:
    def isolated_plan(self, memory: VmMemory | None = None, **overrides: object) -> Plan:
        context: dict[str, object] = {
            "connectivity": diagnosed(checks(1, STORAGE, since_ago=120), checks(2)),
            **overrides,
        }
        pool = context.pop("pool", spec(replicas=2, grace=60))
        return plan(
            inventory(ssvm(1), ssvm(2)),
            pool,  # type: ignore[arg-type]
            memory={1: memory} if memory else None,
            **context,
        )

    def test_rebooted_after_the_grace_period_though_cloudstack_calls_it_healthy(self) -> None:
        result = self.isolated_plan()
        [action] = result.runnable
        assert (action.kind, action.vm_name, action.diagnosed) == (ActionKind.REBOOT, "s-1-VM", True)
        assert "cannot reach storage host 10.1.0.5" in action.reason and "s-2-VM" in action.reason
        assert result.ready_replicas == 1
        assert reasons(result)["SSVMIsolated"].startswith("s-1-VM cannot reach storage host 10.1.0.5")

    def test_within_the_grace_period_it_waits(self) -> None:
        result = self.isolated_plan(pool=spec(replicas=2, grace=300))
        assert result.actions == () and result.converging

    def test_after_a_reboot_it_waits_for_the_next_check(self) -> None:
        rebooted = VmMemory(ago(120), ActionKind.REBOOT, ago(30))
        result = self.isolated_plan(rebooted)
        assert result.actions == () and result.converging

    def test_still_isolated_after_the_reboot_timeout_it_is_recreated(self) -> None:
        rebooted = VmMemory(ago(2000), ActionKind.REBOOT, ago(900))
        connectivity = diagnosed(
            checks(1, STORAGE, since_ago=2000, seconds_ago=10), checks(2, seconds_ago=10)
        )
        result = self.isolated_plan(rebooted, connectivity=connectivity)
        [action] = result.runnable
        assert (action.kind, action.vm_name, action.diagnosed) == (ActionKind.RECREATE, "s-1-VM", True)

    def test_within_the_budget(self) -> None:
        result = self.isolated_plan(in_flight=(flight(ActionKind.REBOOT, 2),))
        assert result.runnable == ()

    def test_remediation_none_only_reports(self) -> None:
        result = self.isolated_plan(pool=spec(replicas=2, grace=60, remediation=Remediation.NONE))
        assert result.runnable == () and "SSVMIsolated" in reasons(result)

    def test_its_isolation_is_a_degraded_finding(self) -> None:
        result = self.isolated_plan()
        assert {f.reason: f.severity for f in result.findings}["SSVMIsolated"] is Severity.DEGRADED

    def test_the_grace_ends_at_exactly_unhealthy_after_seconds(self) -> None:
        connectivity = diagnosed(checks(1, STORAGE, since_ago=60), checks(2))
        [action] = self.isolated_plan(connectivity=connectivity).runnable
        assert action.kind is ActionKind.REBOOT
        assert action.reason.endswith("for 60s (grace 60s)")

    def test_the_grace_counts_from_when_the_pool_first_saw_it_isolated(self) -> None:
        """The checks' own unreachable-since may be newer than the pool's record (a check that was lost)."""
        remembered = VmMemory(unhealthy_since=ago(400))
        result = self.isolated_plan(remembered, pool=spec(replicas=2, grace=300))
        assert [(a.kind, a.reason.endswith("for 400s (grace 300s)")) for a in result.runnable] == [
            (ActionKind.REBOOT, True)
        ]

    def test_a_reboot_at_the_moment_the_isolation_began_counts_as_its_repair(self) -> None:
        rebooted = VmMemory(ago(120), ActionKind.REBOOT, ago(120))
        connectivity = diagnosed(checks(1, STORAGE, since_ago=120, seconds_ago=10), checks(2, seconds_ago=10))
        result = self.isolated_plan(rebooted, connectivity=connectivity)
        assert result.actions == ()

    def test_a_reboot_from_before_the_isolation_began_is_not_its_repair(self) -> None:
        rebooted_earlier = VmMemory(ago(500), ActionKind.REBOOT, ago(500))
        [action] = self.isolated_plan(rebooted_earlier).runnable
        assert action.kind is ActionKind.REBOOT

    def test_recreated_at_exactly_the_reboot_timeout(self) -> None:
        rebooted = VmMemory(ago(2000), ActionKind.REBOOT, ago(600))
        connectivity = diagnosed(
            checks(1, STORAGE, since_ago=2000, seconds_ago=10), checks(2, seconds_ago=10)
        )
        [action] = self.isolated_plan(rebooted, connectivity=connectivity).runnable
        assert action.kind is ActionKind.RECREATE
        assert action.reason.startswith("rebooted 600s ago and still cannot reach storage host 10.1.0.5")

    def with_a_stopped_third(self, memory: VmMemory, since_ago: float, checked_ago: float) -> PlannedAction:
        """The plan's Start of a third, stopped SSVM: whether s-1-VM's repair holds the zone, and why."""
        result = plan(
            inventory(ssvm(1), ssvm(2), ssvm(3, "Stopped", None), standby=3),
            spec(replicas=3, grace=60),
            memory={1: memory, 3: VmMemory(unhealthy_since=ago(45))},
            connectivity=diagnosed(
                checks(1, STORAGE, since_ago=since_ago, seconds_ago=checked_ago),
                checks(2, seconds_ago=checked_ago),
            ),
        )
        [start] = result.actions
        assert (start.kind, start.vm_name) == (ActionKind.START, "s-3-VM")
        return start

    def test_after_its_reboot_the_zone_waits_for_a_round_that_checks_it_again(self) -> None:
        start = self.with_a_stopped_third(VmMemory(ago(120), ActionKind.REBOOT, ago(30)), 120, checked_ago=30)
        assert start.blocked == (
            "waiting for the zone to settle: s-1-VM was rebooted 30s ago because it cannot reach "
            "storage host 10.1.0.5 (nfs-zone-1-1), which s-2-VM reach(es); "
            "waiting for the next diagnostics round"
        )

    def test_a_start_is_named_as_a_start(self) -> None:
        start = self.with_a_stopped_third(VmMemory(ago(120), ActionKind.START, ago(30)), 120, checked_ago=10)
        assert start.blocked == (
            "waiting for the zone to settle: s-1-VM was started 30s ago and still cannot reach storage host "
            "10.1.0.5 (nfs-zone-1-1), which s-2-VM reach(es); waiting up to 600s for it to recover"
        )

    def test_past_the_reboot_timeout_without_a_new_round_the_zone_is_no_longer_held(self) -> None:
        start = self.with_a_stopped_third(
            VmMemory(ago(700), ActionKind.REBOOT, ago(600)), 700, checked_ago=600
        )
        assert start.blocked is None


class TestWhenDiagnosticsRun:
    def test_never_while_a_disruption_is_in_flight(self) -> None:
        eligible, why = diagnosable((ssvm(1), ssvm(2)), (flight(ActionKind.REBOOT, 1),))
        assert eligible == () and why is not None and "Reboot s-1-VM" in why

    def test_only_in_running_ssvms_without_an_action_or_a_job(self) -> None:
        vms = (ssvm(1), ssvm(2, state="Starting"), ssvm(3, job="job-9"), ssvm(4, state="Stopped"))
        eligible, why = diagnosable(vms, (flight(ActionKind.START, 4),))
        assert [vm.name for vm in eligible] == ["s-1-VM"]
        assert why is not None and "job-9" in why and "s-2-VM is Starting" in why

    def test_not_in_an_ssvm_whose_agent_has_not_connected_since_its_start(self) -> None:
        """Booting or rebooting, the command cannot run in the guest; a lost agent is still checked."""
        vms = (ssvm(1), ssvm(2, agent=None), ssvm(3, agent="Connecting"), ssvm(4, agent="Alert"))
        eligible, why = diagnosable(vms, ())
        assert [vm.name for vm in eligible] == ["s-1-VM", "s-4-VM"]
        assert why is not None and "s-3-VM's agent is Connecting" in why

    @pytest.mark.parametrize(
        ("last_run_ago", "asked", "served", "faulty", "due"),
        [
            (None, None, None, False, True),
            (30, None, None, False, False),
            (900, None, None, False, True),
            (30, "1", None, False, True),
            (30, "1", "1", False, False),
            (61, None, None, True, True),
            (30, None, None, True, False),
        ],
    )
    def test_rounds_are_due_by_interval_request_and_fault(
        self, last_run_ago: float | None, asked: str | None, served: str | None, faulty: bool, due: bool
    ) -> None:
        last_run = ago(last_run_ago) if last_run_ago is not None else None
        vms = (ssvm(1),)
        why = round_due(DiagnosticsPolicy(900), NOW, last_run, asked, served, vms, checks(1), faulty)
        assert (why is not None) is due

    def test_a_new_ssvm_is_checked_without_waiting_for_the_interval(self) -> None:
        why = round_due(
            DiagnosticsPolicy(900), NOW, ago(10), None, None, (ssvm(1), ssvm(2)), checks(1), False
        )
        assert why == "s-2-VM not checked yet"

    def test_a_zone_with_nothing_to_check_waits_for_the_interval(self) -> None:
        why = round_due(DiagnosticsPolicy(900), NOW, ago(10), None, None, (ssvm(1),), (), False)
        assert why is None


class TestPingResults:
    def test_a_reply_is_reachable_with_the_average_round_trip(self) -> None:
        stdout = (
            "64 bytes from 10.1.0.5: icmp_seq=1 ttl=63 time=0.512 ms\n"
            "rtt min/avg/max/mdev = 0.312/0.462/0.612/0.112 ms\n"
        )
        assert parse_result({"diagnostics": {"stdout": stdout, "exitcode": "0"}}) == (True, 0.462, None)

    def test_no_reply_is_unreachable_with_the_loss(self) -> None:
        stdout = "3 packets transmitted, 0 received, 100% packet loss, time 2003ms\n"
        result = parse_result({"diagnostics": {"stdout": stdout, "stderr": "", "exitcode": "1"}})
        assert result == (False, None, "100% packet loss")

    def test_stderr_is_the_error_when_there_is_one(self) -> None:
        result = parse_result(
            {"diagnostics": {"stdout": "", "stderr": "ping: unknown host x\n", "exitcode": "2"}}
        )
        assert result == (False, None, "ping: unknown host x")

    def test_exit_code_minus_one_means_the_check_could_not_run(self) -> None:
        """DiagnosticsAnswer: the SSH into the guest failed, the job still succeeds; nothing was checked."""
        result = parse_result({"diagnostics": {"stdout": "", "stderr": "timeout\n", "exitcode": "-1"}})
        assert result == (None, None, "the check could not run in the SSVM: timeout")

    def test_latency_from_a_single_reply(self) -> None:
        assert latency_ms("64 bytes from 1.1.1.1: icmp_seq=1 ttl=57 time=12.3 ms") == 12.3

    @pytest.mark.parametrize(
        ("location", "host"),
        [
            ("nfs://10.1.0.5/export/secondary", "10.1.0.5"),
            ("http://templates.example.com/x.qcow2", "templates.example.com"),
            ("10.9.9.9", "10.9.9.9"),
            ("templates.example.com:8080", "templates.example.com"),
            ("", None),
        ],
    )
    def test_hosts_from_urls(self, location: str, host: str | None) -> None:
        assert host_of(location) == host


def test_unreachable_since_survives_between_rounds() -> None:
    first = checks(1, STORAGE, seconds_ago=120)
    second = checks(1, STORAGE)
    [merged] = [c for c in merge(first, second) if c.target == STORAGE]
    assert merged.unreachable_since == ago(120) and merged.checked_at == NOW
    restored = [c for c in merge(second, checks(1)) if c.target == STORAGE]
    assert restored[0].unreachable_since is None
