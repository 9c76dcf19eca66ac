"""Live connections to CloudStack endpoints, one per CloudStackEndpoint object.

Pools of the same endpoint share its client (one HTTP session). Everything that belongs to the CloudStack
rather than to the object is shared by every endpoint pointing at the same CloudStack (the same normalised
URL, model/identity.py): the rate limit (the lowest requestsPerSecond among them), the inventory and
settings caches and the circuit breaker. A connection is rebuilt when the endpoint's spec or its
credentials change.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aiolimiter import AsyncLimiter

from ssvm_operator.cloud.breaker import CircuitBreaker
from ssvm_operator.cloud.client import CallObserver, CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.config import ConfigCache
from ssvm_operator.cloud.inventory import InventoryCache
from ssvm_operator.cloud.versions import Support, enabled, support
from ssvm_operator.model.identity import cloudstack_identity
from ssvm_operator.model.spec import EndpointSpec


@dataclass
class EndpointConnection:
    key: str
    spec: EndpointSpec
    client: CloudClient
    credentials_fingerprint: int
    ca_pem: str | None = None
    inventory: InventoryCache = field(default_factory=InventoryCache)
    config: ConfigCache = field(default_factory=ConfigCache)
    cloudstack_version: str | None = None
    ca_file: Path | None = None
    support: Support | None = None
    """The verdict on the endpoint's release, read once per connection (a release changes only with an
    upgrade, which restarts the management servers and so the connection)."""

    async def read_release(self) -> Support:
        if self.support is None:
            capabilities = await self.client.call("listCapabilities")
            reported = (capabilities.get("capability") or {}).get("cloudstackversion")
            self.support = support(reported)
            self.cloudstack_version = str(self.support.version) if self.support.version else str(reported)
        return self.support

    def notice_servers(self, version: str | None) -> None:
        """The management servers' version from the latest inventory: after an upgrade it differs from the
        release read at connect, which is then read again (features follow the new release)."""
        known = self.cloudstack_version
        if version and self.support is not None and known and version.split("-")[0] != known.split("-")[0]:
            self.support = None

    def feature(self, name: str) -> bool:
        """Whether the endpoint's release has a feature of versions.FEATURES; False while not known."""
        version = self.support.version if self.support else None
        return version is not None and enabled(version, name)

    @property
    def breaker(self) -> CircuitBreaker:
        return self.inventory.breaker


@dataclass
class SharedCloudStack:
    """What every endpoint pointing at one CloudStack shares."""

    inventory: InventoryCache
    config: ConfigCache
    limiter: AsyncLimiter
    rate: float


class EndpointRegistry:
    def __init__(self, observer: CallObserver | None = None) -> None:
        self._connections: dict[str, EndpointConnection] = {}
        self._shared: dict[str, SharedCloudStack] = {}
        self._lock = asyncio.Lock()
        self._observer = observer

    def _share(self, key: str, spec: EndpointSpec, breaker: CircuitBreaker | None) -> SharedCloudStack:
        """The shared state of the endpoint's CloudStack; its rate limit is the lowest that any endpoint
        of that CloudStack declares, so two objects never double the load on one management server."""
        identity = cloudstack_identity(spec.url)
        rates = [spec.requests_per_second] + [
            c.spec.requests_per_second
            for k, c in self._connections.items()
            if k != key and cloudstack_identity(c.spec.url) == identity
        ]
        rate = max(min(rates), 0.01)
        shared = self._shared.get(identity)
        if shared is None:
            shared = SharedCloudStack(
                InventoryCache(breaker), ConfigCache(), AsyncLimiter(rate, time_period=1.0), rate
            )
            self._shared[identity] = shared
        elif shared.rate != rate:
            shared.limiter, shared.rate = AsyncLimiter(rate, time_period=1.0), rate
            for connection in self._connections.values():
                if connection.inventory is shared.inventory:
                    connection.client.use_limiter(shared.limiter)
        return shared

    def get(self, key: str) -> EndpointConnection | None:
        return self._connections.get(key)

    async def connect(
        self, key: str, spec: EndpointSpec, credentials: Credentials, ca_pem: str | None = None
    ) -> EndpointConnection:
        """The live connection for this endpoint, rebuilt if its spec, keys or CA changed."""
        async with self._lock:
            current = self._connections.get(key)
            fingerprint = credentials.fingerprint()
            if (
                current is not None
                and current.spec == spec
                and current.credentials_fingerprint == fingerprint
                and current.ca_pem == ca_pem
            ):
                return current
            ca_file = _write_ca(ca_pem) if ca_pem else None
            verify: bool | str = str(ca_file) if ca_file else not spec.insecure_skip_tls_verify
            settings = ConnectionSettings(
                url=spec.url,
                timeout_seconds=spec.timeout_seconds,
                job_timeout_seconds=spec.job_timeout_seconds,
                requests_per_second=spec.requests_per_second,
                verify=verify,
                job_poll_seconds=min(2.0, spec.poll_interval_seconds / 4),
            )
            # Keep what was learned about the endpoint's health across a credential rotation.
            breaker = current.breaker if current is not None else None
            if current is not None:
                del self._connections[key]  # its rate no longer counts
            shared = self._share(key, spec, breaker)
            if current is not None:  # new keys or a new URL: read CloudStack afresh, not a cached refusal
                shared.inventory.invalidate()
                shared.config.invalidate()
            client = await CloudClient(
                settings, credentials, observer=self._observer, limiter=shared.limiter
            ).__aenter__()
            connection = EndpointConnection(
                key,
                spec,
                client,
                fingerprint,
                ca_pem=ca_pem,
                inventory=shared.inventory,
                config=shared.config,
                ca_file=ca_file,
            )
            if current is not None:
                await _close(current)
            self._connections[key] = connection
            return connection

    async def disconnect(self, key: str) -> None:
        async with self._lock:
            connection = self._connections.pop(key, None)
            if connection is not None:
                await _close(connection)
                identity = cloudstack_identity(connection.spec.url)
                if not any(cloudstack_identity(c.spec.url) == identity for c in self._connections.values()):
                    self._shared.pop(identity, None)

    async def close_all(self) -> None:
        for key in list(self._connections):
            await self.disconnect(key)


def _write_ca(pem: str) -> Path:
    # cs (like requests) takes a CA bundle path; /tmp stays writable under a read-only root filesystem.
    with tempfile.NamedTemporaryFile("w", prefix="ssvm-operator-ca-", suffix=".pem", delete=False) as f:
        f.write(pem)
        return Path(f.name)


async def _close(connection: EndpointConnection) -> None:
    await connection.client.close()
    if connection.ca_file is not None:
        with contextlib.suppress(OSError):
            connection.ca_file.unlink()
