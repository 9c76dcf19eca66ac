"""Parsing the SSVMPool and CloudStackEndpoint specs: defaults, and errors that name the field to fix."""

from __future__ import annotations

from typing import Any

import pytest

from ssvm_operator.model.spec import (
    PAUSED_ANNOTATION,
    EndpointSpec,
    HealthPolicy,
    Mode,
    PoolSpec,
    Remediation,
    SecretKeyRef,
    SpecError,
)

MINIMAL_POOL: dict[str, Any] = {"endpointRef": {"name": "cloud"}, "zone": "zone1"}


def pool(**fields: Any) -> dict[str, Any]:
    return {**MINIMAL_POOL, **fields}


class TestPoolSpec:
    def test_a_minimal_pool_gets_the_documented_defaults(self) -> None:
        parsed = PoolSpec.parse(MINIMAL_POOL)
        assert parsed.endpoint == "cloud" and parsed.zone == "zone1"
        assert parsed.replicas == 1
        assert parsed.service_offering is None
        assert parsed.health == HealthPolicy(
            unhealthy_after_seconds=300.0,
            remediation=Remediation.RECREATE,
            max_unavailable=1,
            reboot_timeout_seconds=600.0,
        )
        assert (parsed.paused, parsed.mode, parsed.acts) == (False, Mode.ENFORCE, True)

    def test_every_field_is_read(self) -> None:
        parsed = PoolSpec.parse(
            pool(
                replicas=2,
                serviceOffering="SSVM Large",
                health={
                    "unhealthyAfterSeconds": 120,
                    "remediation": "Reboot",
                    "maxUnavailable": 0,
                    "rebootTimeoutSeconds": 900,
                },
                paused=True,
                mode="Observe",
            )
        )
        assert parsed.replicas == 2
        assert parsed.service_offering == "SSVM Large"
        assert parsed.health == HealthPolicy(120.0, Remediation.REBOOT, 0, 900.0)
        assert parsed.paused and parsed.mode is Mode.OBSERVE and not parsed.acts

    def test_zone_and_endpoint_are_trimmed(self) -> None:
        parsed = PoolSpec.parse({"endpointRef": {"name": " cloud "}, "zone": " zone1\n"})
        assert (parsed.endpoint, parsed.zone) == ("cloud", "zone1")

    def test_an_empty_service_offering_means_none(self) -> None:
        assert PoolSpec.parse(pool(serviceOffering="")).service_offering is None

    @pytest.mark.parametrize("value", ["true", "True", "TRUE"])
    def test_the_paused_annotation_pauses(self, value: str) -> None:
        parsed = PoolSpec.parse(MINIMAL_POOL, {PAUSED_ANNOTATION: value})
        assert parsed.paused and not parsed.acts

    @pytest.mark.parametrize("value", ["false", "", "yes", "1"])
    def test_other_annotation_values_do_not_pause(self, value: str) -> None:
        assert not PoolSpec.parse(MINIMAL_POOL, {PAUSED_ANNOTATION: value}).paused

    def test_observe_mode_alone_keeps_the_operator_from_acting(self) -> None:
        assert not PoolSpec.parse(pool(mode="Observe")).acts

    @pytest.mark.parametrize(
        ("spec", "field", "message"),
        [
            ({"zone": "zone1"}, "endpointRef.name", "is required and must not be empty"),
            ({"endpointRef": {"name": "cloud"}}, "zone", "is required and must not be empty"),
            (pool(zone="   "), "zone", "is required and must not be empty"),
            (pool(replicas=-1), "replicas", "-1 is below the minimum of 0"),
            (pool(replicas=17), "replicas", "17 is above the maximum of 16"),
            (pool(replicas="2"), "replicas", "'2' is not an integer"),
            (pool(replicas=True), "replicas", "True is not an integer"),
            (pool(replicas=1.5), "replicas", "1.5 is not an integer"),
            (pool(mode="DryRun"), "mode", "'DryRun' is not one of Enforce, Observe"),
            (
                pool(health={"remediation": "Restart"}),
                "health.remediation",
                "'Restart' is not one of None, Reboot, Recreate",
            ),
            (pool(health={"maxUnavailable": -1}), "health.maxUnavailable", "-1 is below the minimum of 0"),
            (
                pool(health={"rebootTimeoutSeconds": 0}),
                "health.rebootTimeoutSeconds",
                "0 is below the minimum of 1",
            ),
            (
                pool(health={"unhealthyAfterSeconds": -5}),
                "health.unhealthyAfterSeconds",
                "-5 is below the minimum of 0",
            ),
        ],
    )
    def test_bad_values_name_the_field_to_fix(self, spec: dict[str, Any], field: str, message: str) -> None:
        with pytest.raises(SpecError) as raised:
            PoolSpec.parse(spec)
        assert (raised.value.field, raised.value.message) == (field, message)
        assert str(raised.value) == f"{field}: {message}"

    def test_a_grace_of_zero_is_allowed(self) -> None:
        assert PoolSpec.parse(pool(health={"unhealthyAfterSeconds": 0})).health.unhealthy_after_seconds == 0


MINIMAL_ENDPOINT: dict[str, Any] = {
    "url": "https://cloud.example.com/client/api",
    "credentialsSecretRef": {"name": "cloud-keys"},
}


class TestEndpointSpec:
    def test_a_minimal_endpoint_gets_the_documented_defaults(self) -> None:
        parsed = EndpointSpec.parse(MINIMAL_ENDPOINT)
        assert parsed.url == "https://cloud.example.com/client/api"
        assert parsed.api_key == SecretKeyRef("cloud-keys", "apiKey")
        assert parsed.secret_key == SecretKeyRef("cloud-keys", "secretKey")
        assert parsed.ca is None
        assert parsed.insecure_skip_tls_verify is False
        assert (parsed.timeout_seconds, parsed.job_timeout_seconds, parsed.poll_interval_seconds) == (
            30.0,
            900.0,
            30.0,
        )
        assert parsed.requests_per_second == 10.0

    def test_every_field_is_read(self) -> None:
        parsed = EndpointSpec.parse(
            {
                "url": "http://127.0.0.1:8080/client/api",
                "credentialsSecretRef": {"name": "keys", "apiKeyKey": "key", "secretKeyKey": "secret"},
                "caSecretRef": {"name": "ca"},
                "insecureSkipTLSVerify": True,
                "timeoutSeconds": 5,
                "jobTimeoutSeconds": 60,
                "pollIntervalSeconds": 10,
                "requestsPerSecond": 2.5,
            }
        )
        assert parsed.api_key == SecretKeyRef("keys", "key")
        assert parsed.secret_key == SecretKeyRef("keys", "secret")
        assert parsed.ca == SecretKeyRef("ca", "ca.crt")
        assert parsed.insecure_skip_tls_verify
        assert (parsed.timeout_seconds, parsed.job_timeout_seconds, parsed.poll_interval_seconds) == (
            5,
            60,
            10,
        )
        assert parsed.requests_per_second == 2.5

    def test_the_ca_key_can_be_named(self) -> None:
        parsed = EndpointSpec.parse({**MINIMAL_ENDPOINT, "caSecretRef": {"name": "ca", "key": "bundle.pem"}})
        assert parsed.ca == SecretKeyRef("ca", "bundle.pem")

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"url": "cloud.example.com"}, "url"),
            ({"url": ""}, "url"),
            ({"credentialsSecretRef": {}}, "credentialsSecretRef.name"),
            ({"caSecretRef": {"key": "ca.crt"}}, "caSecretRef.name"),
            ({"requestsPerSecond": 0}, "requestsPerSecond"),
            ({"timeoutSeconds": 0}, "timeoutSeconds"),
            ({"jobTimeoutSeconds": "10m"}, "jobTimeoutSeconds"),
            ({"pollIntervalSeconds": 0}, "pollIntervalSeconds"),
        ],
    )
    def test_bad_values_name_the_field_to_fix(self, changes: dict[str, Any], field: str) -> None:
        with pytest.raises(SpecError) as raised:
            EndpointSpec.parse({**MINIMAL_ENDPOINT, **changes})
        assert raised.value.field == field

    def test_a_url_that_is_not_http_says_what_one_looks_like(self) -> None:
        with pytest.raises(SpecError, match=r"e\.g\. https://cloud\.example\.com/client/api"):
            EndpointSpec.parse({**MINIMAL_ENDPOINT, "url": "ftp://cloud"})


class TestEvidencePolicy:
    def test_collection_is_on_by_default_with_a_short_timeout(self) -> None:
        policy = PoolSpec.parse(MINIMAL_POOL).health.evidence
        assert policy.collect is True and policy.timeout_seconds == 60

    def test_it_can_be_turned_off_and_its_timeout_set(self) -> None:
        parsed = PoolSpec.parse(pool(health={"evidence": {"collect": False, "timeoutSeconds": 5}}))
        assert parsed.health.evidence.collect is False and parsed.health.evidence.timeout_seconds == 5

    @pytest.mark.parametrize(
        ("evidence", "field"),
        [
            ({"collect": "yes"}, "health.evidence.collect"),
            ({"timeoutSeconds": 0}, "health.evidence.timeoutSeconds"),
            ({"timeoutSeconds": 3600}, "health.evidence.timeoutSeconds"),
            ({"timeoutSeconds": "60"}, "health.evidence.timeoutSeconds"),
        ],
    )
    def test_bad_values_name_the_field(self, evidence: dict[str, Any], field: str) -> None:
        with pytest.raises(SpecError) as raised:
            PoolSpec.parse(pool(health={"evidence": evidence}))
        assert raised.value.field == field
