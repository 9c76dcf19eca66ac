"""A real Kubernetes control plane for tests, as controller-runtime's envtest runs one: etcd and
kube-apiserver (built by `make tools`) on free loopback ports, no kubelet, no controller-manager.

    with control_plane(crds=[REPOSITORY / "crds"]) as plane:
        plane.admin.kubectl("get", "crds", check=True)

The API server serves TLS with certificates generated here, authenticates bearer tokens from a token file
(`admin` in system:masters, `restricted` in no group) and authorizes with RBAC, so a forbidden call fails as
it would in a cluster. Nothing runs that would act on objects: no namespace deletion finishes, no
ServiceAccount gets its token Secret (ask `kubectl create token` instead), no Pod is scheduled.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import secrets
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support.network import free_port
from tests.support.real_cluster import RealCluster
from tests.support.tools import ALLOW_MISSING, find_tool

START_TIMEOUT = 90.0
BINARIES = ("kube-apiserver", "etcd")
RESTRICTED_USER = "restricted"
BACKEND = "SSVM_TESTS_KUBE"


def binaries_available() -> bool:
    """Whether `make tools` (or KUBEBUILDER_ASSETS) provided both control-plane binaries."""
    return all(find_tool(name) is not None for name in BINARIES)


def real_backend() -> bool:
    """Whether the end-to-end tests run against the real control plane: SSVM_TESTS_KUBE=real or =emulator
    decides; otherwise the real one, unless its binaries are missing and SSVM_TESTS_ALLOW_MISSING_TOOLS=1
    (without it, the missing binaries fail the tests, as any missing tool does)."""
    chosen = os.environ.get(BACKEND)
    if chosen in ("real", "emulator"):
        return chosen == "real"
    return binaries_available() or os.environ.get(ALLOW_MISSING) != "1"


@dataclass
class ControlPlane:
    url: str
    workdir: Path
    ca_path: Path
    admin: RealCluster
    restricted: RealCluster
    tokens: dict[str, str]

    def as_user(self, user: str, token: str, kubeconfig_name: str) -> RealCluster:
        """A client authenticated with `token` (e.g. a ServiceAccount's, from `kubectl create token`)."""
        return RealCluster.for_token(self.url, self.ca_path, token, self.workdir / kubeconfig_name, user)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def _write_certificates(directory: Path) -> dict[str, Path]:
    """A CA, the API server's serving certificate for 127.0.0.1, and the ServiceAccount signing key."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("ssvm-tests-ca", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate("kube-apiserver", server_key, (ca_cert.subject, ca_key), ca=False)
    service_account_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files = {
        "ca.crt": ca_cert.public_bytes(serialization.Encoding.PEM),
        "server.crt": server_cert.public_bytes(serialization.Encoding.PEM),
        "server.key": _key_pem(server_key),
        "sa.key": _key_pem(service_account_key),
    }
    paths = {}
    for name, content in files.items():
        (directory / name).write_bytes(content)
        paths[name] = directory / name
    return paths


def _tool(name: str) -> str:
    found = find_tool(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: `make tools` builds it (or set KUBEBUILDER_ASSETS)")
    return str(found)


def _start_etcd(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    command = [
        _tool("etcd"),
        "--name=tests",
        f"--data-dir={workdir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=tests={peer}",
        "--unsafe-no-fsync=true",  # a test's data need not survive a power cut
        "--log-level=warn",
    ]
    return _spawn(command, workdir / "etcd.log"), client


def _start_apiserver(
    workdir: Path, etcd_url: str, certificates: dict[str, Path]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        _tool("kube-apiserver"),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'apiserver-certs'}",
        f"--tls-cert-file={certificates['server.crt']}",
        f"--tls-private-key-file={certificates['server.key']}",
        f"--client-ca-file={certificates['ca.crt']}",
        f"--token-auth-file={workdir / 'tokens.csv'}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={certificates['sa.key']}",
        f"--service-account-signing-key-file={certificates['sa.key']}",
        "--service-cluster-ip-range=10.0.0.0/24",
        # No controller-manager creates the `default` ServiceAccounts this plugin would wait for.
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        "--profiling=false",
    ]
    return _spawn(command, workdir / "kube-apiserver.log"), f"https://127.0.0.1:{port}"


def _spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_ready(
    url: str, ca_path: Path, token: str, processes: dict[str, subprocess.Popen[bytes]], workdir: Path
) -> None:
    """Until /readyz answers ok; fail early, with the log, if etcd or the API server exits."""
    context = ssl.create_default_context(cafile=str(ca_path))
    request = urllib.request.Request(f"{url}/readyz", headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + START_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                log = (workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(0.2)  # polling a starting server; nothing to wait on instead
    raise TimeoutError(f"kube-apiserver not ready within {START_TIMEOUT}s: {last}")


@contextlib.contextmanager
def control_plane(crds: Iterable[str | os.PathLike[str]] = ()) -> Iterator[ControlPlane]:
    """etcd and kube-apiserver, ready, with `crds` installed and Established; both stopped at exit."""
    with tempfile.TemporaryDirectory(prefix="control-plane-") as scratch:
        workdir = Path(scratch)
        certificates = _write_certificates(workdir / "pki")
        tokens = {"admin": secrets.token_hex(16), RESTRICTED_USER: secrets.token_hex(16)}
        (workdir / "tokens.csv").write_text(
            f'{tokens["admin"]},admin,admin,"system:masters"\n'
            f"{tokens[RESTRICTED_USER]},{RESTRICTED_USER},{RESTRICTED_USER}\n"
        )
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            processes["etcd"], etcd_url = _start_etcd(workdir)
            processes["kube-apiserver"], url = _start_apiserver(workdir, etcd_url, certificates)
            _wait_ready(url, certificates["ca.crt"], tokens["admin"], processes, workdir)
            ca = certificates["ca.crt"]
            plane = ControlPlane(
                url=url,
                workdir=workdir,
                ca_path=ca,
                admin=RealCluster.for_token(url, ca, tokens["admin"], workdir / "admin.kubeconfig", "admin"),
                restricted=RealCluster.for_token(
                    url, ca, tokens[RESTRICTED_USER], workdir / "restricted.kubeconfig", RESTRICTED_USER
                ),
                tokens=tokens,
            )
            plane.admin.wait_namespace("default")
            for path in crds:
                plane.admin.install_crds(Path(path))
            yield plane
        finally:
            for name in ("kube-apiserver", "etcd"):
                if name in processes:
                    _stop(processes[name])
