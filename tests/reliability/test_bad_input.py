"""Bad input, as a table: every invalid field is refused by the schema with the field named, or stalls its
object with a condition and an Event that name the field and the fix; CloudStack is never touched.

docs/bad-input.md is the same table. Rows already asserted elsewhere are listed there with their test:
negative replicas and an unknown mode, unknown zone, unknown offering, a missing endpoint and a duplicate
pool (tests/e2e/test_safety.py), wrong keys (the same file), an unknown setting and a wrongly typed one
(tests/e2e/test_settings.py).
"""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudstack_sim.testing import SimulatorHandle, simulator_in_thread
from kube_emulator.testing import emulated_cluster
from tests.e2e.cluster_helpers import (
    API_VERSION,
    NAMESPACE,
    Cluster,
    apply,
    condition,
    endpoint_docs,
    events,
    eventually,
    pool_doc,
    status,
)
from tests.e2e.operator_process import OperatorProcess
from tests.e2e.test_safety import mutations
from tests.reliability.conftest import SCAN_SECONDS
from tests.support.control_plane import ControlPlane, real_backend
from tests.support.network import free_port
from tests.support.paths import REPOSITORY
from tests.support.tools import require_tool


def settings_doc(name: str, endpoint: str = "region-1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "SSVMSettings",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"endpointRef": {"name": endpoint}, **spec},
    }


def endpoint_doc(name: str, url: str, secret: str | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "CloudStackEndpoint",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "url": url,
            "credentialsSecretRef": {"name": secret or f"{name}-keys"},
            "pollIntervalSeconds": 1,
            "timeoutSeconds": 2,
            **spec,
        },
    }


def secret_doc(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "stringData": data,
    }


# ---- the schema half: kubectl apply is refused and the message names the field --------------------------


@dataclass(frozen=True)
class Refused:
    what: str
    doc: dict[str, Any]
    fields: tuple[str, ...]
    """What the refusal must name: the field path, and for CEL rules the rule's message."""


def pool(**spec: Any) -> dict[str, Any]:
    return pool_doc("bad", "zone-1", **spec)


def sites(*cidrs: str) -> dict[str, Any]:
    return settings_doc("bad", allowedInternalSites=list(cidrs))


SCHEMA_ROWS = [
    Refused("huge replicas", pool(replicas=1000), ("spec.replicas", "16")),
    Refused("replicas not a number", pool(replicas="two"), ("spec.replicas",)),
    Refused("empty zone", pool_doc("bad", ""), ("spec.zone",)),
    Refused("blank zone", pool_doc("bad", "   "), ("spec.zone", "zone must name a CloudStack zone")),
    Refused("no endpointRef", {**pool(), "spec": {"zone": "zone-1"}}, ("spec.endpointRef",)),
    Refused("empty serviceOffering", pool(serviceOffering=""), ("spec.serviceOffering",)),
    Refused("negative maxUnavailable", pool(health={"maxUnavailable": -1}), ("spec.health.maxUnavailable",)),
    Refused("zero grace", pool(health={"unhealthyAfterSeconds": 0}), ("spec.health.unhealthyAfterSeconds",)),
    Refused("unknown remediation", pool(health={"remediation": "Reinstall"}), ("spec.health.remediation",)),
    Refused("malformed CIDR", sites("10.1.0.0/33"), ("spec.allowedInternalSites[0]", "IPv4 CIDR")),
    Refused("not an address", sites("10.1.0"), ("spec.allowedInternalSites[0]",)),
    Refused("every site (0.0.0.0/0)", sites("10.0.0.0/8", "0.0.0.0/0"), ("spec.allowedInternalSites[1]",)),
    Refused("empty setting name", settings_doc("bad", settings={"": "1"}), ("spec.settings",)),
    Refused(
        "secret setting without key",
        settings_doc("bad", secretSettings={"secstorage.proxy": {"name": "proxy"}}),
        ("spec.secretSettings.secstorage.proxy.key",),
    ),
    Refused(
        "unknown rollout", settings_doc("bad", rollout={"strategy": "Rolling"}), ("spec.rollout.strategy",)
    ),
    Refused(
        "rollout maxUnavailable 0", settings_doc("bad", rollout={"maxUnavailable": 0}), ("spec.rollout",)
    ),
    Refused("URL without http(s)", endpoint_doc("bad", "ftp://cloud.example.com/client/api"), ("spec.url",)),
    Refused("URL too short", endpoint_doc("bad", "http://"), ("spec.url",)),
    Refused(
        "no credentials",
        {**endpoint_doc("bad", "https://cloud.example.com"), "spec": {"url": "https://cloud.example.com"}},
        ("spec.credentialsSecretRef",),
    ),
    Refused(
        "zero timeout",
        endpoint_doc("bad", "https://cloud.example.com", timeoutSeconds=0),
        ("spec.timeoutSeconds",),
    ),
    Refused(
        "zero rate",
        endpoint_doc("bad", "https://cloud.example.com", requestsPerSecond=0),
        ("spec.requestsPerSecond",),
    ),
]


@pytest.fixture(scope="module")
def schema_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """Admission is the API server's: the real one, unless SSVM_TESTS_KUBE=emulator."""
    if not real_backend():
        with emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=[NAMESPACE]) as running:
            yield running
        return
    plane: ControlPlane = request.getfixturevalue("kube_control_plane")
    yield plane.admin
    plane.admin.reset(NAMESPACE)


@pytest.mark.parametrize("row", SCHEMA_ROWS, ids=[r.what for r in SCHEMA_ROWS])
def test_the_schema_refuses_and_names_the_field(schema_cluster: Cluster, row: Refused) -> None:
    refused = schema_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(row.doc))
    assert refused.returncode != 0, f"{row.what} was accepted"
    for wanted in row.fields:
        assert wanted in refused.stderr, f"{row.what}: {wanted!r} not in {refused.stderr!r}"


# ---- the runtime half: Stalled (or not Ready) with the field and the fix, in a condition and an Event ------


@dataclass(frozen=True)
class Stalls:
    what: str
    kind: str
    name: str
    reason: str | None
    """The condition's reason; None where any reason will do."""
    names: tuple[str, ...]
    """What both the condition message and the Event must contain: the field, the fix."""
    condition: str = "Stalled"
    status: str = "True"

    def problems(self, cluster: Cluster) -> list[str]:
        """What the object shows short of this row's promise; empty when it keeps it."""
        found = next(
            (
                c
                for c in status(cluster, self.kind, self.name).get("conditions") or ()
                if c["type"] == self.condition
            ),
            None,
        )
        if found is None:
            return [f"no {self.condition} condition yet"]
        wrong = []
        if found["status"] != self.status or (self.reason and found["reason"] != self.reason):
            wrong.append(f"{self.condition}={found['status']} {found['reason']}: {found['message']}")
        wrong += [
            f"condition does not name {w!r}: {found['message']}"
            for w in self.names
            if w not in found["message"]
        ]
        warnings = [m for t, r, m in events(cluster, self.name) if t == "Warning" and r == found["reason"]]
        if not warnings:
            wrong.append(f"no Warning Event {found['reason']}; events: {events(cluster, self.name)}")
        wrong += [
            f"Event does not name {w!r}: {warnings[0]}"
            for w in self.names
            if warnings and w not in warnings[0]
        ]
        return wrong


RUNTIME_ROWS = [
    Stalls(
        "non-system offering",
        "SSVMPool",
        "user-offering",
        "OfferingNotForSSVM",
        ("spec.serviceOffering", "Small Instance"),
    ),
    pytest.param(
        Stalls(
            "offering of another system VM",
            "SSVMPool",
            "router-offering",
            "OfferingNotForSSVM",
            ("spec.serviceOffering", "domainrouter"),
        ),
    ),
    pytest.param(
        Stalls("unknown zone", "SSVMPool", "lost", "ZoneNotFound", ("zone-9", "zone-1")),
    ),
    Stalls(
        "missing Secret",
        "CloudStackEndpoint",
        "no-secret",
        "CredentialsMissing",
        ("no-secret-keys", "spec.credentialsSecretRef"),
    ),
    Stalls(
        "Secret without the key",
        "CloudStackEndpoint",
        "no-key",
        "CredentialsMissing",
        ("'secretKey'", "spec.credentialsSecretRef"),
    ),
    Stalls(
        "pool on an endpoint without its Secret",
        "SSVMPool",
        "on-no-secret",
        "CredentialsMissing",
        ("spec.credentialsSecretRef",),
    ),
    pytest.param(
        Stalls(
            "missing CA Secret",
            "CloudStackEndpoint",
            "no-ca",
            "CABundleMissing",
            ("no-ca-bundle", "spec.caSecretRef"),
        ),
    ),
    pytest.param(
        Stalls(
            "unreachable URL",
            "CloudStackEndpoint",
            "closed-port",
            "Unreachable",
            ("cannot reach CloudStack", "spec.url"),
            "Ready",
            "False",
        ),
    ),
    pytest.param(
        Stalls(
            "https to a plain-http server", "CloudStackEndpoint", "tls-to-http", None, ("TLS", "caSecretRef")
        ),
    ),
    pytest.param(
        Stalls(
            "self-signed certificate",
            "CloudStackEndpoint",
            "self-signed",
            None,
            ("TLS verification failed", "caSecretRef"),
        ),
    ),
    Stalls(
        "second SSVMSettings for an endpoint",
        "SSVMSettings",
        "second",
        "Conflict",
        ("SSVMSettings first", "not applied"),
    ),
    Stalls(
        "secret setting whose Secret is missing",
        "SSVMSettings",
        "first",
        "SecretMissing",
        ("spec.secretSettings.secstorage.proxy", "proxy-credentials"),
    ),
    Stalls(
        "secret setting whose key is missing",
        "SSVMSettings",
        "other-key",
        "SecretMissing",
        ("spec.secretSettings.secstorage.proxy", "'url'"),
    ),
    Stalls(
        "unknown offering for new SSVMs",
        "SSVMSettings",
        "no-offering",
        "OfferingNotFound",
        ("spec.serviceOffering", "Huge"),
    ),
    Stalls(
        "non-system offering for new SSVMs",
        "SSVMSettings",
        "user-offering-settings",
        "OfferingNotForSSVM",
        ("spec.serviceOffering", "Medium Instance"),
    ),
]
ROWS: list[Stalls] = [r.values[0] if hasattr(r, "values") else r for r in RUNTIME_ROWS]  # type: ignore[union-attr]
PROMISED = [r for r in RUNTIME_ROWS if isinstance(r, Stalls)]
"""The rows the operator keeps today: the region is ready when all of them show."""


@dataclass
class SelfSignedServer:
    """HTTPS on 127.0.0.1 with a certificate nobody trusts (made by the openssl CLI)."""

    directory: Path
    url: str = ""
    _server: http.server.HTTPServer | None = field(default=None, repr=False)

    def start(self) -> None:
        cert, key = self.directory / "cert.pem", self.directory / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/client/api"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class BadRegion:
    cluster: Cluster
    cloudstack: SimulatorHandle
    operator: OperatorProcess
    others: Sequence[SimulatorHandle] = ()


def bad_declarations(
    sim: SimulatorHandle, tls_url: str, others: Sequence[SimulatorHandle]
) -> list[dict[str, Any]]:
    """region-1 to region-4 are four CloudStacks: an SSVMSettings each. Endpoints with one URL would be one
    CloudStack with one SSVMSettings (docs/concepts.md), so region-2 names the simulator by another host
    name and region-3 and region-4 are simulators of their own."""
    keys = {"apiKey": sim.api_key, "secretKey": sim.secret_key}
    https_sim = sim.api_url.replace("http://", "https://")
    regions = [
        ("region-1", sim.api_url, sim),
        ("region-2", sim.api_url.replace("127.0.0.1", "localhost"), sim),
        ("region-3", others[0].api_url, others[0]),
        ("region-4", others[1].api_url, others[1]),
    ]
    good = [
        doc
        for name, url, handle in regions
        for doc in endpoint_docs(url, handle.api_key, handle.secret_key, name=name)
    ]
    proxy = {"secstorage.proxy": {"name": "proxy-credentials", "key": "url"}}
    return [
        *good,
        pool_doc("user-offering", "zone-1", serviceOffering="Small Instance"),
        pool_doc("router-offering", "zone-2", serviceOffering="System Offering For Software Router"),
        pool_doc("lost", "zone-9", endpoint="region-2"),
        # On region-2's CloudStack: a pool through it would otherwise claim zone-1 of region-1's.
        endpoint_doc("no-secret", regions[1][1]),
        pool_doc("on-no-secret", "zone-1", endpoint="no-secret"),
        secret_doc("no-key-keys", apiKey=sim.api_key),
        endpoint_doc("no-key", sim.api_url),
        secret_doc("no-ca-keys", **keys),
        endpoint_doc("no-ca", https_sim, caSecretRef={"name": "no-ca-bundle"}),
        secret_doc("closed-port-keys", **keys),
        endpoint_doc("closed-port", f"http://127.0.0.1:{free_port()}/client/api"),
        secret_doc("tls-to-http-keys", **keys),
        endpoint_doc("tls-to-http", https_sim),
        secret_doc("self-signed-keys", **keys),
        endpoint_doc("self-signed", tls_url),
        settings_doc("first", secretSettings=proxy),
        secret_doc("proxy-other", user="proxy"),
        settings_doc(
            "other-key",
            endpoint="region-2",
            secretSettings={"secstorage.proxy": {"name": "proxy-other", "key": "url"}},
        ),
        settings_doc("no-offering", endpoint="region-3", serviceOffering="Huge"),
        settings_doc("user-offering-settings", endpoint="region-4", serviceOffering="Medium Instance"),
    ]


@pytest.fixture(scope="module")
def bad_region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BadRegion]:
    require_tool("openssl")  # makes the self-signed certificate
    work = tmp_path_factory.mktemp("bad-input")
    tls = SelfSignedServer(work)
    tls.start()
    with (
        simulator_in_thread(scan_interval=SCAN_SECONDS) as sim,
        simulator_in_thread(scan_interval=SCAN_SECONDS) as region_3,
        simulator_in_thread(scan_interval=SCAN_SECONDS) as region_4,
        emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=[NAMESPACE]) as cluster,
    ):
        operator = OperatorProcess(cluster.env(), work / "operator.log")
        operator.start()
        try:
            apply(cluster, *bad_declarations(sim, tls.url, (region_3, region_4)))
            # Created a second later, so "first" is the older SSVMSettings of region-1 and owns it.
            time.sleep(1.1)
            apply(cluster, settings_doc("second", allowedInternalSites=["10.0.0.0/8"]))
            eventually(
                lambda: (
                    all(not row.problems(cluster) for row in PROMISED)
                    and all(condition(cluster, row.kind, row.name, "Ready") for row in ROWS)
                ),
                timeout=40,
                what="every bad declaration reported",
            )
            yield BadRegion(cluster, sim, operator, (region_3, region_4))
        finally:
            operator.stop()
            tls.stop()


@pytest.mark.parametrize("row", RUNTIME_ROWS, ids=[r.what for r in ROWS])
def test_the_object_says_what_to_fix(bad_region: BadRegion, row: Stalls) -> None:
    assert row.problems(bad_region.cluster) == []
    assert status(bad_region.cluster, row.kind, row.name)["observedGeneration"] == 1


def test_nothing_in_cloudstack_was_changed_by_any_of_it(bad_region: BadRegion) -> None:
    for cloudstack in (bad_region.cloudstack, *bad_region.others):
        assert mutations(cloudstack) == {}
