"""Which CloudStack releases the operator supports, and which features each one allows (cloud/versions.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudstack_sim.releases import Kind, Release
from ssvm_operator.cloud import versions
from ssvm_operator.cloud.versions import (
    FEATURES,
    SUPPORTED_FLOOR,
    CloudStackVersion,
    VersionError,
    disabled,
    enabled,
    features,
    release_name,
    support,
)
from tests.support.paths import REPOSITORY


@pytest.mark.parametrize(
    ("reported", "numbers", "shown"),
    [
        ("4.20.1.0", (4, 20, 1, 0), "4.20.1.0"),
        ("4.18.0.0-SNAPSHOT", (4, 18, 0, 0), "4.18.0.0-SNAPSHOT"),
        ("4.19", (4, 19, 0, 0), "4.19.0.0"),
        (" 4.22.1.0 ", (4, 22, 1, 0), "4.22.1.0"),
    ],
)
def test_versions_are_read_as_cloudstack_prints_them(
    reported: str, numbers: tuple[int, int, int, int], shown: str
) -> None:
    version = CloudStackVersion.parse(reported)
    assert version.numbers == numbers
    assert str(version) == shown


@pytest.mark.parametrize("reported", [None, "", "unknown", "4", "four.twenty", "4.20.1.0.0"])
def test_what_is_not_a_version_is_an_error_quoting_it(reported: str | None) -> None:
    with pytest.raises(VersionError) as raised:
        CloudStackVersion.parse(reported)
    if reported and reported.strip():
        assert repr(reported) in str(raised.value)


def test_a_snapshot_build_counts_as_the_release_it_leads_to() -> None:
    assert CloudStackVersion.parse("4.18.0.0-SNAPSHOT") == CloudStackVersion.parse("4.18.0.0")
    assert CloudStackVersion.parse("4.18.0.0-SNAPSHOT").at_least((4, 18))
    assert CloudStackVersion.parse("4.19.1.0") > CloudStackVersion.parse("4.19.0.3")


def test_the_floor_is_4_15() -> None:
    assert SUPPORTED_FLOOR == (4, 15)
    assert support("4.15.0.0").supported
    assert support("4.15.2.0").supported


@pytest.mark.parametrize("reported", ["4.14.1.0", "4.11.3.0", "3.0.7"])
def test_a_release_below_the_floor_is_refused_naming_the_version_found(reported: str) -> None:
    verdict = support(reported)
    assert not verdict.supported
    assert str(CloudStackVersion.parse(reported)) in verdict.message
    assert "4.15" in verdict.message and "upgrade" in verdict.message


@pytest.mark.parametrize("reported", [None, "unknown"])
def test_an_endpoint_that_does_not_say_its_version_is_refused(reported: str | None) -> None:
    verdict = support(reported)
    assert not verdict.supported and verdict.version is None
    assert "4.15" in verdict.message


def test_every_feature_needs_a_release_newer_than_the_floor_and_says_what_happens_without_it() -> None:
    assert len({spec.name for spec in FEATURES}) == len(FEATURES)
    for spec in FEATURES:
        assert spec.minimum > SUPPORTED_FLOOR, spec.name
        assert spec.needs and spec.without and spec.source, spec.name


@pytest.mark.parametrize("spec", FEATURES, ids=lambda spec: spec.name)
def test_each_feature_is_off_just_before_its_release_and_on_from_it(spec: versions.FeatureSpec) -> None:
    first = CloudStackVersion(*(*spec.minimum, 0, 0)[:4])
    before = CloudStackVersion(first.major, first.minor - 1, 9, 0)
    on = next(f for f in features(first) if f.name == spec.name)
    off = next(f for f in features(before) if f.name == spec.name)
    assert on.enabled and enabled(first, spec.name)
    assert not off.enabled and not enabled(before, spec.name)
    assert str(before) in off.reason and release_name(spec.minimum) in off.reason
    assert spec.without in off.reason
    assert spec.name in {f.name for f in disabled(before)}


def test_the_newest_releases_have_every_feature_and_the_floor_none() -> None:
    assert disabled("4.22.0.0") == []
    assert {f.name for f in disabled("4.15.0.0")} == {spec.name for spec in FEATURES}


def test_features_accept_the_reported_text() -> None:
    assert features("4.20.1.0") == features(CloudStackVersion.parse("4.20.1.0"))


@given(
    st.tuples(st.integers(4, 4), st.integers(15, 30), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.integers(4, 4), st.integers(15, 30), st.integers(0, 5), st.integers(0, 5)),
)
def test_a_newer_release_never_loses_a_feature(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int]
) -> None:
    older, newer = sorted((CloudStackVersion(*a), CloudStackVersion(*b)))
    on_older = {f.name for f in features(older) if f.enabled}
    on_newer = {f.name for f in features(newer) if f.enabled}
    assert on_older <= on_newer


# Each feature and the API difference behind it in the simulator's release table: the two tables agree.
SIMULATED = {
    versions.RESET_CONFIGURATION: (Kind.COMMAND, "resetConfiguration"),
    versions.SERVER_START_TIMES: (Kind.FIELD, "managementserver.lastserverstart"),
    versions.STABLE_STANDBY_REPLICAS: (Kind.SETTING, "secstorage.vm.auto.scale.down"),
    versions.SETTING_DEFAULTS: (Kind.FIELD, "configuration.defaultvalue"),
    versions.OFFERING_REPORT: (Kind.FIELD, "systemvm.serviceofferingid"),
    versions.MANAGEMENT_SERVER_ADDRESSES: (Kind.FIELD, "managementserver.serviceip"),
    versions.AGENT_VM_LINK: (Kind.FIELD, "host.virtualmachineid"),
}


@pytest.mark.parametrize("spec", FEATURES, ids=lambda spec: spec.name)
def test_the_simulator_models_each_feature_from_the_same_release(spec: versions.FeatureSpec) -> None:
    kind, subject = SIMULATED[spec.name]
    first = release_name(spec.minimum)
    major, minor = spec.minimum[0], spec.minimum[1]
    before = f"{major}.{minor}" if any(spec.minimum[2:]) else f"{major}.{minor - 1}"
    assert Release.of(first).has(kind, subject)
    assert not Release.of(before).has(kind, subject)


def test_the_compatibility_page_shows_every_feature_with_its_release() -> None:
    page = (REPOSITORY / "docs" / "compatibility.md").read_text(encoding="utf-8")
    for spec in FEATURES:
        [row] = [line for line in page.splitlines() if line.startswith(f"| `{spec.name}` |")]
        assert f"| {release_name(spec.minimum)} " in row, spec.name
        assert ("(inferred)" in row) is not spec.verified, spec.name
    assert "4.15" in page.split("\n\n")[1], "the first paragraph states the supported range"


@pytest.mark.parametrize("name", [versions.RESET_CONFIGURATION, versions.STABLE_STANDBY_REPLICAS])
def test_reset_and_the_scale_down_switch_ship_in_4_16_1_not_4_16_0(name: str) -> None:
    # Both are absent at the 4.16.0.0 release commit, whatever ResetCfgCmd's `since` says.
    assert not versions.enabled("4.16.0.0", name)
    assert versions.enabled("4.16.1.0", name)


def test_a_command_cloudstack_does_not_have_never_reads_as_bad_credentials() -> None:
    # 432: the role or the integration port does not offer the command (ApiServer.commandAvailable).
    from ssvm_operator.cloud.errors import AuthError, PermanentError, from_code

    error = from_code("resetConfiguration", 432, "The API resetConfiguration does not exist")
    assert isinstance(error, PermanentError) and not isinstance(error, AuthError)
