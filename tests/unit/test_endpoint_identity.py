"""One CloudStack behind two CloudStackEndpoints: one identity, one set of claims, one rate limit."""

from __future__ import annotations

import asyncio

from ssvm_operator.cloud.client import Credentials
from ssvm_operator.cloud.endpoints import EndpointRegistry
from ssvm_operator.model.identity import cloudstack_identity, owner, same_cloudstack, twins
from ssvm_operator.model.spec import EndpointSpec, SecretKeyRef


def test_urls_that_name_one_cloudstack_have_one_identity() -> None:
    same = {
        "https://Cloud.Example.com/client/api",
        "https://cloud.example.com:443/client/api/",
        "https://cloud.example.com/client/api?x=1",
    }
    assert {cloudstack_identity(url) for url in same} == {"https://cloud.example.com/client/api"}
    assert cloudstack_identity("http://cloud.example.com:8080/client/api") != cloudstack_identity(
        "http://cloud.example.com/client/api"
    )
    assert cloudstack_identity("http://[FD00::1]:80/client/api") == "http://[fd00::1]/client/api"


def test_endpoints_in_other_namespaces_with_the_same_url_are_one_cloudstack() -> None:
    specs = {
        ("a", "one"): {"url": "https://cs.example/client/api"},
        ("b", "two"): {"url": "https://CS.example/client/api/"},
        ("a", "other"): {"url": "https://other.example/client/api"},
    }
    assert same_cloudstack(specs, ("a", "one")) == {("a", "one"), ("b", "two")}
    assert twins(specs, ("b", "two")) == [("a", "one")]
    assert twins(specs, ("a", "other")) == []
    assert same_cloudstack(specs, ("c", "missing")) == {("c", "missing")}


def test_the_oldest_claim_owns_whatever_order_the_index_lists_them() -> None:
    claims = [("2026-01-02T00:00:00Z", "a", "young"), ("2026-01-01T00:00:00Z", "b", "old")]
    assert owner(claims) == owner(reversed(claims)) == ("2026-01-01T00:00:00Z", "b", "old")
    assert owner([]) is None


def test_two_endpoints_of_one_cloudstack_share_inventory_breaker_and_the_lower_rate_limit() -> None:
    def spec(url: str, rps: float) -> EndpointSpec:
        keys = SecretKeyRef("keys", "apiKey")
        return EndpointSpec(url=url, api_key=keys, secret_key=keys, requests_per_second=rps)

    async def scenario() -> None:
        registry = EndpointRegistry()
        keys = Credentials("key", "secret")
        first = await registry.connect("a/one", spec("https://cs.example/client/api", 10), keys)
        second = await registry.connect("b/two", spec("https://cs.example:443/client/api/", 2), keys)
        other = await registry.connect("a/other", spec("https://other.example/client/api", 10), keys)
        assert first.inventory is second.inventory and first.breaker is second.breaker
        assert first.config is second.config
        assert other.inventory is not first.inventory
        assert first.client._limiter is second.client._limiter
        assert first.client._limiter.max_rate == 2, "the lower requestsPerSecond holds for both"
        assert other.client._limiter is not first.client._limiter
        await registry.close_all()

    asyncio.run(scenario())
