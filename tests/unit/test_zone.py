"""The pool's zone: found by name, managed by one pool only, and scanned by CloudStack or not."""

from __future__ import annotations

from ssvm_operator.plan.types import ActionKind, Severity
from tests.unit.plan_builders import inventory, plan, reasons, spec, ssvm, unhealthy_for, zone


def test_an_unknown_zone_stalls_and_lists_the_zones_that_exist() -> None:
    result = plan(inventory(zones=(zone(name="west"), zone(id="z2", name="east"))), spec(zone_name="north"))
    assert result.zone is None
    assert result.actions == () and result.vms == ()
    assert [(f.severity, f.reason) for f in result.findings] == [(Severity.STALLED, "ZoneNotFound")]
    assert result.findings[0].message == (
        "zone 'north' does not exist on this CloudStack endpoint; zones that exist: east, west"
    )


def test_an_endpoint_without_zones_says_so() -> None:
    result = plan(inventory(zones=()))
    assert reasons(result)["ZoneNotFound"].endswith("the endpoint reports no zones")


def test_the_zone_is_resolved_to_its_id() -> None:
    result = plan(inventory(ssvm(1)))
    assert result.zone is not None and result.zone.id == "zone-1-id"


def test_a_second_pool_on_the_same_zone_acts_on_nothing() -> None:
    result = plan(
        inventory(ssvm(1, agent="Down")),
        memory={1: unhealthy_for(900)},
        pool_conflict="SSVMPool ops/zone1-a already manages zone zone1 on this endpoint",
    )
    assert result.actions == ()
    assert reasons(result)["DuplicatePool"] == (
        "SSVMPool ops/zone1-a already manages zone zone1 on this endpoint; this pool acts on nothing until "
        "only one pool manages the zone"
    )
    assert len(result.vms) == 1  # still shown


def test_a_disabled_zone_is_reported_as_not_scanned_with_the_reason() -> None:
    result = plan(inventory(ssvm(1), zones=(zone(allocation_state="Disabled"),)))
    finding = next(f for f in result.findings if f.reason == "ZoneNotScanned")
    assert finding.severity is Severity.DEGRADED
    assert finding.message.startswith(
        "CloudStack keeps no SSVM in zone zone1: its allocation state is Disabled, and CloudStack's scanner "
        "visits only Enabled zones"
    )


def test_an_edge_zone_stalls_a_pool_that_wants_ssvms() -> None:
    result = plan(inventory(zones=(zone(zone_type="Edge"),)))
    finding = next(f for f in result.findings if f.reason == "ZoneNotScanned")
    assert finding.severity is Severity.STALLED
    assert "Edge zone" in finding.message and "set replicas to 0" in finding.message


def test_an_edge_zone_with_replicas_zero_is_only_information_and_needs_no_toggle() -> None:
    result = plan(inventory(zones=(zone(zone_type="Edge"),)), spec(replicas=0))
    assert [(f.severity, f.reason) for f in result.findings] == [(Severity.INFO, "ZoneNotScanned")]
    assert result.actions == ()


def test_the_zone_detail_is_still_turned_on_in_a_disabled_zone() -> None:
    """It takes effect when an admin enables the zone again."""
    result = plan(inventory(zones=(zone(allocation_state="Disabled", ssvm_enabled=False),)))
    assert [a.kind for a in result.runnable] == [ActionKind.ENABLE_ZONE]


def test_findings_are_ordered_most_severe_first() -> None:
    result = plan(
        inventory(ssvm(1, offering=None), zones=(zone(zone_type="Edge"),)), spec(replicas=2, offering="x")
    )
    severities = [f.severity for f in result.findings]
    assert severities == sorted(severities, key=[Severity.STALLED, Severity.DEGRADED, Severity.INFO].index)
