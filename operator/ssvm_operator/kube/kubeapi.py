"""The few Kubernetes calls the operator makes outside kopf: reading Secrets and writing status mid-handler.

kopf applies a handler's patch only when the handler returns; an async job id must reach status before the
job is polled, so it is written here directly.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from ssvm_operator.kube.names import GROUP, POOLS, VERSION


class SecretError(Exception):
    """The Secret or its key is missing; the message names both and is safe to show."""


def load_config() -> None:
    try:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]


async def read_secret_key(namespace: str, name: str, key: str) -> str:
    data = await read_secret(namespace, name)
    if key not in data:
        raise SecretError(f"Secret {namespace}/{name} has no key {key!r}")
    return data[key]


async def read_secret(namespace: str, name: str) -> dict[str, str]:
    def read() -> dict[str, str]:
        try:
            secret = kubernetes.client.CoreV1Api().read_namespaced_secret(name, namespace)
        except ApiException as error:
            if error.status == 404:
                raise SecretError(f"Secret {namespace}/{name} does not exist") from None
            raise SecretError(f"cannot read Secret {namespace}/{name}: HTTP {error.status}") from None
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    return await asyncio.to_thread(read)


async def patch_status(plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
    def patch() -> None:
        kubernetes.client.CustomObjectsApi().patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {"status": status},
            _content_type="application/merge-patch+json",
        )

    await asyncio.to_thread(patch)


class PoolUnreadable(Exception):
    """An SSVMPool cannot be read; the message says why."""


def read_pool(namespace: str, name: str, context: str | None = None) -> Any:
    """An SSVMPool as the API server returns it, read synchronously for the CLI (`context`: a kubeconfig
    context)."""
    try:
        if context:
            kubernetes.config.load_kube_config(context=context)  # type: ignore[no-untyped-call]
        else:
            load_config()
        return kubernetes.client.CustomObjectsApi().get_namespaced_custom_object(
            GROUP, VERSION, namespace, POOLS, name
        )
    except ApiException as error:
        what = "does not exist" if error.status == 404 else f"cannot be read: HTTP {error.status}"
        raise PoolUnreadable(f"SSVMPool {namespace}/{name} {what}") from None
    except kubernetes.config.ConfigException as error:
        raise PoolUnreadable(f"no Kubernetes configuration: {error}") from None
