"""An offering change CloudStack would refuse (VirtualMachineManagerImpl.checkIfCanUpgrade: storage scope,
storage tags), or one no host of the zone could start, is refused in the plan, in CloudStack's words: nothing
is sent, nothing is stopped."""

from __future__ import annotations

from dataclasses import replace

from ssvm_operator.model.snapshot import Inventory, Offering
from ssvm_operator.plan.offering import change_refusal
from ssvm_operator.plan.types import ActionKind, Severity
from tests.unit.plan_builders import LARGE, OFFERINGS, STANDARD, inventory, plan, spec, ssvm

LOCAL = Offering(
    "off-local",
    "System Offering For Secondary Storage VM - Local Storage",
    True,
    "secondarystoragevm",
    "local",
)
TAGGED = replace(STANDARD, id="off-tagged", name="SSVM Tagged", storage_tags=frozenset({"ssd"}))
MORE_TAGS = replace(LARGE, id="off-more", name="SSVM More", storage_tags=frozenset({"ssd", "fast"}))


def with_offerings(*extra: Offering, current: str = STANDARD.id) -> Inventory:
    built = inventory(ssvm(1, offering=current))
    return replace(built, offerings=(*OFFERINGS, *extra))


def test_the_local_storage_twin_is_refused_before_any_stop() -> None:
    result = plan(with_offerings(LOCAL), spec(offering=LOCAL.name))
    assert not [a for a in result.actions if a.kind is ActionKind.CHANGE_OFFERING]
    [finding] = [f for f in result.findings if f.reason == "OfferingRefused"]
    assert finding.severity is Severity.STALLED
    assert (
        "target offering use local storage but the storage pool where the volume is allocated is a shared"
        in (finding.message)
    )
    assert "s-1-VM" in finding.message and "nothing is stopped" in finding.message


def test_a_shared_offering_for_an_ssvm_on_local_storage_is_refused() -> None:
    assert change_refusal(LOCAL, STANDARD) == (
        "target offering use shared storage but the storage pool where the volume is allocated is a local "
        "storage"
    )


def test_storage_tags_must_keep_the_current_ones() -> None:
    result = plan(with_offerings(TAGGED, current=TAGGED.id), spec(offering=LARGE.name))
    assert (
        "Current service offering tags: [ssd]; new service offering tags: []"
        in ({f.reason: f.message for f in result.findings}["OfferingRefused"])
    )
    assert change_refusal(TAGGED, MORE_TAGS) is None, "more tags than before is fine"


def test_a_change_cloudstack_accepts_still_runs() -> None:
    result = plan(with_offerings(), spec(offering=LARGE.name))
    assert [a.kind for a in result.actions] == [ActionKind.CHANGE_OFFERING]
    assert "OfferingRefused" not in {f.reason for f in result.findings}


def test_the_api_fields_are_read() -> None:
    row = {
        "id": "x",
        "name": "x",
        "issystem": True,
        "systemvmtype": "secondarystoragevm",
        "storagetype": "local",
        "storagetags": "ssd, fast",
        "hosttags": "gpu",
    }
    offering = Offering.from_api(row)
    assert (offering.storage_type, offering.storage_tags, offering.host_tags) == (
        "local",
        frozenset({"ssd", "fast"}),
        frozenset({"gpu"}),
    )


GPU = replace(LARGE, id="off-gpu", name="SSVM GPU", host_tags=frozenset({"gpu"}))


def test_an_offering_no_host_of_the_zone_could_start_is_refused() -> None:
    built = with_offerings(GPU)
    zone_id = built.zones[0].id
    untagged = replace(built, host_tags={zone_id: (frozenset(), frozenset({"ssd"}))})
    result = plan(untagged, spec(offering=GPU.name))
    assert not [a for a in result.actions if a.kind is ActionKind.CHANGE_OFFERING]
    message = {f.reason: f.message for f in result.findings}["OfferingRefused"]
    assert "no Up host of zone" in message and "[gpu]" in message

    tagged = replace(untagged, host_tags={zone_id: (frozenset({"gpu", "ssd"}),)})
    assert [a.kind for a in plan(tagged, spec(offering=GPU.name)).actions] == [ActionKind.CHANGE_OFFERING]
    unknown = replace(untagged, host_tags=None)
    assert [a.kind for a in plan(unknown, spec(offering=GPU.name)).actions] == [ActionKind.CHANGE_OFFERING]
