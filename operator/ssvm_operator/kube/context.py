"""What every handler shares: live endpoint connections and when each endpoint's Secret was last read."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ssvm_operator import logs
from ssvm_operator.cloud.client import CallObserver, Credentials
from ssvm_operator.cloud.endpoints import EndpointConnection, EndpointRegistry
from ssvm_operator.kube import kubeapi
from ssvm_operator.kube.reasons import Reason
from ssvm_operator.model.spec import EndpointSpec, SpecError


class EndpointUnavailable(Exception):
    """The pool's endpoint cannot be used; `reason` is a condition reason, the message says what to fix."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class OperatorContext:
    registry: EndpointRegistry
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _secrets_read_at: dict[str, float] = field(default_factory=dict)
    _statuses: dict[str, dict[str, Any]] = field(default_factory=dict)

    def status_of(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The object's status as this process last wrote it, else as the body shows it.

        A timer tick may wait for a change handler of the same object and then hold a body from before
        that handler's patch; reading that stale status would lose what the handler recorded (an applied
        setting, a job id). One process owns each object, so what it wrote last is the newest status.
        """
        observed = dict(body.get("status") or {})
        remembered = self._statuses.get(str((body.get("metadata") or {}).get("uid")))
        if remembered is None:
            return observed
        # A field written as null was removed: a stale body must not bring it back.
        return {k: v for k, v in {**observed, **remembered}.items() if v is not None}

    def remember_status(self, uid: str, before: Mapping[str, Any], patch: Mapping[str, Any]) -> None:
        self._statuses[uid] = {**before, **patch}

    def forget(self, uid: str) -> None:
        self._statuses.pop(uid, None)

    @classmethod
    def create(cls, observer: CallObserver | None = None) -> OperatorContext:
        return cls(EndpointRegistry(observer))

    async def connect(
        self, namespace: str, name: str, raw_spec: Mapping[str, Any] | None
    ) -> EndpointConnection:
        """The live connection to a CloudStackEndpoint, re-reading its Secret once per poll interval."""
        key = f"{namespace}/{name}"
        if raw_spec is None:
            raise EndpointUnavailable(
                Reason.ENDPOINT_NOT_FOUND,
                f"CloudStackEndpoint {key} does not exist; create it or fix spec.endpointRef",
            )
        try:
            spec = EndpointSpec.parse(raw_spec)
        except SpecError as error:
            raise EndpointUnavailable(Reason.ENDPOINT_INVALID, f"CloudStackEndpoint {key}: {error}") from None
        current = self.registry.get(key)
        fresh = time.monotonic() - self._secrets_read_at.get(key, -1e9) < spec.poll_interval_seconds
        if current is not None and current.spec == spec and fresh:
            return current
        try:
            api_key = await kubeapi.read_secret_key(namespace, spec.api_key.name, spec.api_key.key)
            secret_key = await kubeapi.read_secret_key(namespace, spec.secret_key.name, spec.secret_key.key)
        except kubeapi.SecretError as error:
            raise EndpointUnavailable(
                Reason.CREDENTIALS_MISSING,
                f"{error}; see spec.credentialsSecretRef of CloudStackEndpoint {key}",
            ) from None
        ca_pem = None
        if spec.ca is not None:
            try:
                ca_pem = await kubeapi.read_secret_key(namespace, spec.ca.name, spec.ca.key)
            except kubeapi.SecretError as error:
                raise EndpointUnavailable(
                    Reason.CA_BUNDLE_MISSING, f"{error}; see spec.caSecretRef of CloudStackEndpoint {key}"
                ) from None
        for value in (api_key, secret_key):
            logs.register_secret(value)
        self._secrets_read_at[key] = time.monotonic()
        return await self.registry.connect(key, spec, Credentials(api_key, secret_key), ca_pem)
