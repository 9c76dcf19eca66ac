"""Rendered pods meet the restricted Pod Security Standard, and write only to an emptyDir at /tmp.

The checks follow https://kubernetes.io/docs/concepts/security/pod-security-standards/ (baseline and
restricted, latest version), as the admission controller applies them to a pod template.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.chart.chart_scenarios import SCENARIOS
from tests.chart.helm_runner import Helm, of_kind

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Every way a pod spec breaks the baseline or restricted standard; empty when it meets both."""
    problems: list[str] = []
    pod_sc = pod.get("securityContext", {})
    containers = [
        *pod.get("initContainers", []),
        *pod.get("containers", []),
        *pod.get("ephemeralContainers", []),
    ]

    # Baseline.
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"spec.{field} is true")
    for sysctl in pod_sc.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"unsafe sysctl {sysctl['name']}")
    for volume in pod.get("volumes", []):
        types = set(volume) - {"name"}
        if "hostPath" in types:
            problems.append(f"volume {volume['name']} is a hostPath")
        if not types <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} has a restricted type: {sorted(types)}")
    if pod_sc.get("appArmorProfile", {}).get("type") == "Unconfined":
        problems.append("pod AppArmor profile Unconfined")
    pod_selinux = pod_sc.get("seLinuxOptions", {})
    if set(pod_selinux) & {"user", "role"}:
        problems.append("pod seLinuxOptions sets user or role")

    # Restricted, pod level.
    pod_non_root = pod_sc.get("runAsNonRoot")
    pod_seccomp = pod_sc.get("seccompProfile", {}).get("type")
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"pod seccompProfile {pod_seccomp}")

    for container in containers:
        name = container["name"]
        sc = container.get("securityContext", {})
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount {sc['procMount']}")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            problems.append(f"{name}: hostPort")
        if sc.get("appArmorProfile", {}).get("type") == "Unconfined":
            problems.append(f"{name}: AppArmor Unconfined")
        if set(sc.get("seLinuxOptions", {})) & {"user", "role"}:
            problems.append(f"{name}: seLinuxOptions sets user or role")
        capabilities = sc.get("capabilities", {})
        added = set(capabilities.get("add", []))
        if not added <= BASELINE_CAPABILITIES:
            problems.append(f"{name}: adds non-baseline capabilities {sorted(added - BASELINE_CAPABILITIES)}")
        # Restricted.
        if added - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {sorted(added)}")
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"{name}: does not drop ALL capabilities")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        non_root = sc.get("runAsNonRoot", pod_non_root)
        if non_root is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        seccomp = sc.get("seccompProfile", {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is {seccomp}")
    return problems


def hardening_violations(pod: dict[str, Any]) -> list[str]:
    """What the chart promises beyond the standard: numeric non-root ids, read-only root, /tmp emptyDir."""
    problems: list[str] = []
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    uid = pod.get("securityContext", {}).get("runAsUser")
    if not isinstance(uid, int) or uid < 1:
        problems.append(f"pod runAsUser {uid!r} is not a numeric non-root id")
    for container in pod["containers"]:
        name = container["name"]
        if container.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root filesystem is writable")
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        if "emptyDir" not in volumes.get(mounts.get("/tmp", ""), {}):
            problems.append(f"{name}: /tmp is not an emptyDir")
        if "resources" not in container or "memory" not in container["resources"].get("limits", {}):
            problems.append(f"{name}: no memory limit")
    return problems


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_pods_meet_the_restricted_standard(helm: Helm, scenario: str) -> None:
    deployments = of_kind(helm.render(SCENARIOS[scenario]), "Deployment")
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert restricted_violations(pod) == []
        assert hardening_violations(pod) == []


def test_the_checker_catches_each_kind_of_violation(helm: Helm) -> None:
    good = of_kind(helm.render(), "Deployment")[0]["spec"]["template"]["spec"]
    breakages = {
        "privileged": lambda p: p["containers"][0]["securityContext"].update(privileged=True),
        "allowPrivilegeEscalation": lambda p: p["containers"][0]["securityContext"].pop(
            "allowPrivilegeEscalation"
        ),
        "runAsNonRoot": lambda p: [
            p["securityContext"].pop("runAsNonRoot"),
            p["containers"][0]["securityContext"].pop("runAsNonRoot"),
        ],
        "seccompProfile": lambda p: [
            p["securityContext"].pop("seccompProfile"),
            p["containers"][0]["securityContext"].pop("seccompProfile"),
        ],
        "drop ALL": lambda p: p["containers"][0]["securityContext"].update(capabilities={}),
        "capabilities": lambda p: p["containers"][0]["securityContext"]["capabilities"].update(
            add=["NET_ADMIN"]
        ),
        "hostPath": lambda p: p["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
        "hostNetwork": lambda p: p.update(hostNetwork=True),
        "hostPort": lambda p: p["containers"][0]["ports"][0].update(hostPort=8080),
    }
    assert restricted_violations(good) == []
    for what, breaks in breakages.items():
        pod = copy.deepcopy(good)
        breaks(pod)
        assert restricted_violations(pod), f"{what} went unnoticed"

    writable = copy.deepcopy(good)
    writable["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    assert hardening_violations(writable) == ["operator: root filesystem is writable"]
