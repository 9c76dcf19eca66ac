"""`make demo`: the CloudStack simulator, an emulated Kubernetes API and the real operator, shown through
the real kubectl. It applies examples/, breaks an SSVM through the simulator's admin path and shows the
operator repairing it, rolls a settings change, then upgrades CloudStack and shows the SSVMs rolled onto
the new release zone by zone. Everything runs on 127.0.0.1 and stops at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from cloudstack_sim.testing import SimulatorHandle, simulator_subprocess
from kube_emulator.testing import EmulatedCluster, emulated_cluster

REPOSITORY = Path(__file__).resolve().parents[1]
# Timers shortened so the story fits in a minute; examples/ keeps production values.
SCAN_SECONDS = 2.0
# The region starts one release behind the newest the simulator knows, so that the demo can upgrade it.
START_RELEASE, UPGRADE_RELEASE = "4.21", "4.22"
DEMO_HEALTH = {"unhealthyAfterSeconds": 6, "rebootTimeoutSeconds": 10}


def say(title: str, text: str = "") -> None:
    print(f"\n\033[1m== {title}\033[0m" if sys.stdout.isatty() else f"\n== {title}")
    if text:
        print(text)


def show(cluster: EmulatedCluster, *args: str) -> None:
    print(f"$ kubectl {' '.join(args)}")
    result = cluster.kubectl(*args)
    print((result.stdout or result.stderr).rstrip())


def wait(what: str, check: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"demo: {what} did not happen within {timeout:.0f}s")


def example_documents(sim: SimulatorHandle) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((REPOSITORY / "examples").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        if doc["kind"] == "Secret":
            doc["stringData"] = {"apiKey": sim.api_key, "secretKey": sim.secret_key}
        elif doc["kind"] == "CloudStackEndpoint":
            doc["spec"].update(url=sim.api_url, pollIntervalSeconds=2)
        elif doc["kind"] == "SSVMPool":
            doc["spec"]["health"] = {**doc["spec"].get("health", {}), **DEMO_HEALTH}
    return docs


def pool(cluster: EmulatedCluster, name: str) -> dict[str, Any]:
    body = cluster.call(
        lambda api: api.get_object("ssvm.cloudstack.io/v1alpha1", "SSVMPool", name, "default")
    )
    return dict(body or {})


def ready(cluster: EmulatedCluster, name: str) -> str | None:
    conditions = (pool(cluster, name).get("status") or {}).get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), None)


def planned(cluster: EmulatedCluster, name: str) -> list[Any]:
    return list((pool(cluster, name).get("status") or {}).get("plannedActions") or [])


def rollout(cluster: EmulatedCluster) -> dict[str, Any]:
    body = cluster.call(
        lambda api: api.get_object("ssvm.cloudstack.io/v1alpha1", "SSVMSettings", "region-1", "default")
    )
    return dict(((body or {}).get("status") or {}).get("rollout") or {})


def condition(cluster: EmulatedCluster, kind: str, name: str, type_: str) -> str | None:
    """The reason of a condition of one of our objects."""
    body = (
        cluster.call(lambda api: api.get_object("ssvm.cloudstack.io/v1alpha1", kind, name, "default")) or {}
    )
    found = ((body.get("status") or {}).get("conditions")) or []
    return next((c.get("reason") for c in found if c["type"] == type_), None)


def event_reasons(cluster: EmulatedCluster, name: str) -> list[str]:
    return [str(e.get("reason")) for e in cluster.call(lambda api: api.events_for(name, "default"))]


def templates_of(sim: SimulatorHandle, zone: str) -> set[str]:
    return {str(vm["template"]) for vm in sim.admin.ssvms(zone=zone)}


def upgrade_story(sim: SimulatorHandle, cluster: EmulatedCluster) -> None:
    say(
        "Both pools opt into upgrade rolls (spec.upgrade.strategy: Recreate); zone-2 switches to Enforce",
        "Nothing is outdated yet, so nothing happens.",
    )
    for name, extra in (("zone-1", {}), ("zone-2", {"mode": "Enforce"})):
        body = {"spec": {"upgrade": {"strategy": "Recreate"}, **extra}}
        cluster.kubectl("patch", "ssvmpool", name, "--type", "merge", "-p", json.dumps(body), check=True)
    wait("zone-2 Ready in Enforce mode", lambda: ready(cluster, "zone-2") == "True")
    say(
        f"Upgrading CloudStack from {START_RELEASE} to {UPGRADE_RELEASE} (simulator admin path): the "
        "management servers restart on the new release and register its system VM template; the SSVMs stay "
        "as they were"
    )
    template = sim.admin.upgrade(UPGRADE_RELEASE)["template"]["name"]
    wait(
        "the outdated SSVMs being seen",
        lambda: (
            all(
                condition(cluster, "SSVMPool", z, "UpToDate") == "OutdatedSSVMs" for z in ("zone-1", "zone-2")
            )
            or "UpgradeRecreateStarted" in event_reasons(cluster, "zone-1")
        ),
    )
    show(cluster, "get", "ssvmpools", "-o", "wide")
    say("The operator rolls one zone at a time: zone-1 first, zone-2 waits its turn")
    wait("zone-1 rolling", lambda: "UpgradeRecreateStarted" in event_reasons(cluster, "zone-1"))
    deadline = time.monotonic() + 20  # shown when caught: zone-1 may finish within a poll or two
    while time.monotonic() < deadline and "upgrade goes one zone" not in str(planned(cluster, "zone-2")):
        time.sleep(0.5)
    show(
        cluster,
        "get",
        "ssvmpool",
        "zone-2",
        "-o",
        'jsonpath={.status.plannedActions[?(@.action=="UpgradeRecreate")].blocked}',
    )
    print()
    wait("zone-1 on the new template", lambda: templates_of(sim, "zone-1") == {template})
    say("zone-1's new SSVM runs the new template and agent; now zone-2's turn")
    wait("zone-2 on the new template", lambda: templates_of(sim, "zone-2") == {template}, timeout=180)
    wait(
        "both pools up to date",
        lambda: all(
            condition(cluster, "SSVMPool", z, "UpToDate") == "UpToDate" for z in ("zone-1", "zone-2")
        ),
    )
    wait("both pools Ready", lambda: ready(cluster, "zone-1") == ready(cluster, "zone-2") == "True")
    say(f"Both zones run {UPGRADE_RELEASE} on {template}, one SSVM replaced at a time")
    show(cluster, "get", "ssvmpools", "-o", "wide")
    show(cluster, "get", "cloudstackendpoints", "-o", "jsonpath={.items[0].status.managementServerVersion}")
    print()


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="ssvm-demo-"))
    say(
        "Starting the CloudStack simulator and an emulated Kubernetes API",
        "Two zones (zone-1, zone-2), one SSVM each, CloudStack's SSVM scanner every "
        f"{SCAN_SECONDS:.0f}s.\nWork files and the operator's log: {workdir}",
    )
    with (
        simulator_subprocess(scan_interval=SCAN_SECONDS, cloudstack_version=START_RELEASE) as sim,
        emulated_cluster(crds=[REPOSITORY / "crds"], namespaces=["default"]) as cluster,
    ):
        print(f"CloudStack API: {sim.api_url}\nKubernetes API: {cluster.url}")
        say("Applying examples/ (timers shortened for the demo)")
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(example_documents(sim)), check=True)
        show(cluster, "get", "cloudstackendpoints,ssvmpools,ssvmsettings")

        log = (workdir / "operator.log").open("wb")
        env = {**cluster.env(), "SSVM_OPERATOR_TICK_SECONDS": "1"}
        operator = subprocess.Popen(
            [sys.executable, "-m", "ssvm_operator.cli", "run", "--log-format", "json"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            say("Running the operator (ssvm-operator run); waiting for it to observe CloudStack")
            wait("zone-1 becoming Ready", lambda: ready(cluster, "zone-1") == "True")
            wait("zone-2 being observed", lambda: ready(cluster, "zone-2"))
            show(cluster, "get", "cloudstackendpoints,ssvmpools,ssvmsettings")
            show(cluster, "get", "ssvmpools", "-o", "wide")
            show(cluster, "describe", "ssvmpool", "zone-1")

            victim = sim.admin.ssvms(zone="zone-1")[0]["name"]
            say(
                f"Breaking {victim}: its agent's link drops (Alert) and keeps dropping, even across reboots",
                "(through the simulator's admin path, as a dead NFS mount or a corrupted VM would)",
            )
            sim.admin.set_agent_state(victim, "Alert", sticky=True)
            wait("the operator noticing", lambda: ready(cluster, "zone-1") == "False")
            show(cluster, "get", "ssvmpools")
            say(
                "The operator waits out the grace period, reboots the SSVM, and when that does not help "
                "destroys it so that CloudStack's scanner creates a new one"
            )
            wait("a recreation", lambda: "RecreateStarted" in event_reasons(cluster, "zone-1"))
            wait("zone-1 Ready again", lambda: ready(cluster, "zone-1") == "True")
            say("Repaired: a new SSVM, created by CloudStack, serves zone-1")
            show(cluster, "get", "ssvmpools")
            show(cluster, "describe", "ssvmpool", "zone-1")
            say(
                "The SSVMSettings changed secstorage.allowed.internal.sites, which CloudStack reads only "
                "when a management server starts: the operator says so instead of pretending it is done"
            )
            wait(
                "the restart being asked for",
                lambda: (
                    condition(cluster, "SSVMSettings", "region-1", "Ready")
                    == "ManagementServerRestartRequired"
                ),
            )
            show(cluster, "get", "ssvmsettings", "-o", "wide")
            say(
                "Restarting the management server (simulator admin path), as the condition asks: every SSVM "
                "agent reconnects and CloudStack sends it the new sites, so the operator reboots nothing"
            )
            sim.admin.restart_management_server()
            wait("the sites reaching every SSVM", lambda: rollout(cluster).get("phase") == "Done")
            show(cluster, "describe", "ssvmsettings", "region-1")
            say(
                "status.rollout.strategy is Reconnect: only an SSVM whose agent did not reconnect would wait "
                "(WaitingForAgents), repaired by its pool. Settings built into the boot arguments are rolled "
                "zone by zone with a stop and a start."
            )
            upgrade_story(sim, cluster)
        finally:
            os.killpg(operator.pid, signal.SIGINT)
            try:
                operator.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(operator.pid, signal.SIGKILL)
            log.close()
    say("Done", f"The operator's JSON log is in {workdir / 'operator.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
