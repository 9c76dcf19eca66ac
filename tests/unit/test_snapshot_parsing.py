"""Parsing CloudStack's responses into the snapshot, and the raw health classification
(cloudstack-contract.md §2.3, §2.6, §3.3). Older releases omit fields; parsing must tolerate that."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ssvm_operator.model.snapshot import Health, Inventory, Offering, SystemVm, Zone, parse_cloudstack_time

# The sample of cloudstack-contract.md §2.3, trimmed to the fields the operator reads.
SYSTEMVM: dict[str, Any] = {
    "id": "8f0e-uuid",
    "systemvmtype": "secondarystoragevm",
    "zoneid": "a1b2-uuid",
    "zonename": "zone1",
    "name": "s-12-VM",
    "hostname": "kvm01",
    "privateip": "10.1.1.20",
    "linklocalip": "169.254.3.93",
    "publicip": "192.0.2.50",
    "created": "2025-10-30T12:00:00+0000",
    "state": "Running",
    "agentstate": "Up",
    "serviceofferingid": "off-std",
    "serviceofferingname": "System Offering For Secondary Storage VM",
}


class TestSystemVm:
    def test_a_full_listsystemvms_entry(self) -> None:
        vm = SystemVm.from_api(SYSTEMVM)
        assert (vm.id, vm.name, vm.zone_id, vm.state, vm.agent_state) == (
            "8f0e-uuid",
            "s-12-VM",
            "a1b2-uuid",
            "Running",
            "Up",
        )
        assert (vm.hypervisor_host, vm.public_ip, vm.private_ip, vm.link_local_ip) == (
            "kvm01",
            "192.0.2.50",
            "10.1.1.20",
            "169.254.3.93",
        )
        assert (vm.offering_id, vm.offering_name) == ("off-std", "System Offering For Secondary Storage VM")
        assert vm.created == datetime(2025, 10, 30, 12, 0, tzinfo=UTC)
        assert vm.pending_job_id is None
        assert vm.health is Health.HEALTHY

    def test_the_agent_state_from_listhosts_wins(self) -> None:
        assert SystemVm.from_api(SYSTEMVM, agent_state="Disconnected").agent_state == "Disconnected"

    def test_a_pending_job_marker_is_kept(self) -> None:
        vm = SystemVm.from_api({**SYSTEMVM, "jobid": "job-7", "jobstatus": 0})
        assert vm.pending_job_id == "job-7"

    def test_an_old_release_entry_without_optional_fields(self) -> None:
        vm = SystemVm.from_api({"id": "x", "state": "Stopped"})
        assert (vm.name, vm.zone_id, vm.agent_state, vm.offering_id, vm.created) == (
            "x",
            "",
            None,
            None,
            None,
        )

    def test_a_missing_state_is_unknown(self) -> None:
        assert SystemVm.from_api({"id": "x"}).state == "Unknown"


@pytest.mark.parametrize(
    ("state", "agent", "health"),
    [
        ("Running", "Up", Health.HEALTHY),
        ("Running", None, Health.CONVERGING),
        ("Running", "Connecting", Health.CONVERGING),
        ("Running", "Creating", Health.CONVERGING),
        ("Running", "Rebalancing", Health.CONVERGING),
        ("Starting", None, Health.CONVERGING),
        ("Stopping", "Up", Health.CONVERGING),
        ("Migrating", "Up", Health.CONVERGING),
        ("Expunging", None, Health.CONVERGING),
        ("Running", "Disconnected", Health.UNHEALTHY),
        ("Running", "Alert", Health.UNHEALTHY),
        ("Running", "Down", Health.UNHEALTHY),
        ("Running", "Error", Health.UNHEALTHY),
        ("Running", "Removed", Health.UNHEALTHY),
        ("Stopped", None, Health.UNHEALTHY),
        ("Stopped", "Up", Health.UNHEALTHY),
        ("Error", None, Health.UNHEALTHY),
        ("Unknown", None, Health.UNHEALTHY),
        ("Shutdown", None, Health.UNHEALTHY),
        ("SomethingNew", "Up", Health.UNHEALTHY),
    ],
)
def test_raw_health_follows_the_classification_table(state: str, agent: str | None, health: Health) -> None:
    assert SystemVm(id="v", name="s-1-VM", zone_id="z", state=state, agent_state=agent).health is health


class TestZone:
    def test_a_listzones_entry(self) -> None:
        zone = Zone.from_api(
            {
                "id": "z1",
                "name": "zone1",
                "allocationstate": "Enabled",
                "type": "Core",
                "internaldns1": "10.0.0.2",
                "internaldns2": "10.0.0.3",
            }
        )
        assert (zone.id, zone.name, zone.allocation_state, zone.zone_type) == (
            "z1",
            "zone1",
            "Enabled",
            "Core",
        )
        assert zone.internal_dns == ("10.0.0.2", "10.0.0.3")
        assert zone.ssvm_enabled and zone.scanned_by_cloudstack

    @pytest.mark.parametrize("value", ["false", "False", "FALSE"])
    def test_the_zone_detail_turns_ssvms_off(self, value: str) -> None:
        zone = Zone.from_api({"id": "z1", "resourcedetails": {"enable.secstorage.vm": value}})
        assert not zone.ssvm_enabled and not zone.scanned_by_cloudstack

    def test_an_old_release_entry_defaults_to_an_enabled_core_zone(self) -> None:
        zone = Zone.from_api({"id": "z1"})
        assert (zone.name, zone.allocation_state, zone.zone_type, zone.ssvm_enabled) == (
            "z1",
            "Enabled",
            "Core",
            True,
        )

    @pytest.mark.parametrize(
        ("allocation", "zone_type", "scanned"),
        [("Enabled", "Core", True), ("Disabled", "Core", False), ("Enabled", "Edge", False)],
    )
    def test_cloudstack_scans_only_enabled_non_edge_zones(
        self, allocation: str, zone_type: str, scanned: bool
    ) -> None:
        zone = Zone(id="z", name="z", allocation_state=allocation, zone_type=zone_type)
        assert zone.scanned_by_cloudstack is scanned


class TestOffering:
    def test_an_ssvm_system_offering_fits(self) -> None:
        offering = Offering.from_api(
            {"id": "o1", "name": "SSVM", "issystem": True, "systemvmtype": "secondarystoragevm"}
        )
        assert offering == Offering("o1", "SSVM", True, "secondarystoragevm")
        assert offering.fits_ssvm

    @pytest.mark.parametrize(
        "fields",
        [{"issystem": True, "systemvmtype": "domainrouter"}, {"issystem": False}, {}],
    )
    def test_other_offerings_do_not_fit(self, fields: dict[str, Any]) -> None:
        assert not Offering.from_api({"id": "o", **fields}).fits_ssvm


class TestInventory:
    SSVM_OFFERING = Offering("o-ssvm", "Shared", True, "secondarystoragevm")
    ROUTER_OFFERING = Offering("o-router", "Shared", True, "domainrouter")

    def inventory(self) -> Inventory:
        return Inventory(
            observed_at=datetime(2025, 10, 30, tzinfo=UTC),
            zones=(Zone("z1", "zone1"), Zone("z2", "zone2")),
            ssvms=(
                SystemVm("a", "s-1-VM", "z1", "Running"),
                SystemVm("b", "s-2-VM", "z2", "Running"),
                SystemVm("c", "s-3-VM", "z1", "Running"),
            ),
            offerings=(self.ROUTER_OFFERING, self.SSVM_OFFERING),
        )

    def test_zones_are_found_by_name(self) -> None:
        zone = self.inventory().zone_named("zone2")
        assert zone is not None and zone.id == "z2"
        assert self.inventory().zone_named("z2") is None

    def test_ssvms_of_one_zone(self) -> None:
        assert [vm.id for vm in self.inventory().ssvms_in("z1")] == ["a", "c"]

    def test_offerings_by_name_or_id_preferring_the_one_for_ssvms(self) -> None:
        inventory = self.inventory()
        assert inventory.offering_named("Shared") == self.SSVM_OFFERING
        assert inventory.offering_named("o-router") == self.ROUTER_OFFERING
        assert inventory.offering_named("missing") is None

    def test_defaults_keep_one_ssvm_per_zone(self) -> None:
        assert self.inventory().standby_replicas == 1


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2025-10-30T12:00:00+0000", datetime(2025, 10, 30, 12, 0, tzinfo=UTC)),
        ("2025-10-30T14:00:00+0200", datetime(2025, 10, 30, 12, 0, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("yesterday", None),
    ],
)
def test_cloudstack_times(value: str | None, parsed: datetime | None) -> None:
    assert parse_cloudstack_time(value) == parsed
