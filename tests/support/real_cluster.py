"""A client's view of the real control plane (tests/support/control_plane.py): kubectl, raw requests and a
kubeconfig for one user, with the same surface as the emulator's `EmulatedCluster` where tests share code."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import yaml

from kube_emulator.testing import ApiReply, find_kubectl
from tests.support.waiting import eventually

GROUP = "ssvm.cloudstack.io"
# Collections a test may leave objects in, as API path prefixes and plurals: ours first (they hold
# finalizers), then what the tests and the operator write besides.
OURS = tuple(
    (f"/apis/{GROUP}/v1alpha1", plural) for plural in ("ssvmpools", "ssvmsettings", "cloudstackendpoints")
)
LEFTOVERS = (
    *(("/api/v1", plural) for plural in ("secrets", "configmaps", "events", "serviceaccounts")),
    *(("/apis/rbac.authorization.k8s.io/v1", plural) for plural in ("roles", "rolebindings")),
)


def _kubeconfig(url: str, ca_path: Path, token: str, user: str, namespace: str) -> str:
    cluster = (
        {"server": url, "certificate-authority": str(ca_path)}
        if url.startswith("https:")
        else {"server": url}
    )
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "tests", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "tests", "user": user, "namespace": namespace}}],
        "current-context": user,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def _joined(headers: Message) -> dict[str, str]:
    """One entry per header name: the server sends a Warning header per warning; HTTP allows joining them."""
    return {name: ", ".join(headers.get_all(name) or []) for name in dict.fromkeys(headers.keys())}


@dataclass
class RealCluster:
    url: str
    kubeconfig_path: Path
    cache_dir: Path
    ca_path: Path
    token: str
    user: str

    @classmethod
    def for_token(cls, url: str, ca_path: Path, token: str, kubeconfig_path: Path, user: str) -> RealCluster:
        kubeconfig_path.write_text(_kubeconfig(url, ca_path, token, user, "default"))
        return cls(url, kubeconfig_path, kubeconfig_path.with_suffix(".cache"), ca_path, token, user)

    def env(self) -> dict[str, str]:
        """Environment for subprocesses (kubectl, helm, an operator) that should talk to this cluster."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig_path), "KUBECACHEDIR": str(self.cache_dir)}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl as this user; `check=True` raises with its output on failure."""
        result = subprocess.run(
            [str(find_kubectl()), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed with {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> ApiReply:
        """One raw API request as this user (a non-bytes body is sent as JSON); errors are returned."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type, "Accept": accept, "Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        context = ssl.create_default_context(cafile=str(self.ca_path))
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                raw, status, reply_headers = response.read(), response.status, _joined(response.headers)
        except urllib.error.HTTPError as error:
            raw, status, reply_headers = error.read(), error.code, _joined(error.headers)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")  # e.g. "404 page not found" for an unserved group
        return ApiReply(status, body, reply_headers)

    def wait_namespace(self, name: str) -> None:
        """The API server creates `default` shortly after it is ready."""
        eventually(
            lambda: self.request("GET", f"/api/v1/namespaces/{name}").status == 200, 30, f"namespace {name}"
        )

    def install_crds(self, path: Path) -> None:
        self.kubectl("apply", "--server-side", "-f", str(path), check=True)
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all", check=True)

    def reset(self, namespace: str = "default", extra: tuple[tuple[str, str], ...] = ()) -> None:
        """Remove what a test left in `namespace`, so the next test sharing this control plane starts from
        nothing; `extra` names more collections as (API path prefix, plural).

        Finalizers are dropped first: no operator runs any more to release them.
        """
        for prefix, plural in (*OURS, *extra, *LEFTOVERS):
            collection = f"{prefix}/namespaces/{namespace}/{plural}"
            for item in (self.request("GET", collection).body or {}).get("items") or []:
                if item["metadata"].get("finalizers"):
                    patch = {"metadata": {"finalizers": None}}
                    path = f"{collection}/{item['metadata']['name']}"
                    self.request("PATCH", path, patch, content_type="application/merge-patch+json")
            reply = self.request("DELETE", collection)
            assert reply.status == 200, f"emptying {collection}: {reply.status} {reply.body}"
