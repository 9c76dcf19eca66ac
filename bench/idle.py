"""What the real operator costs while nothing changes, at 1 and 500 healthy pools: Kubernetes requests and
real writes (resourceVersion changes, read through a watch), CloudStack requests, CPU and memory; beside the
naive per-pool poller, which writes what it saw into each pool's status on every poll."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import kubernetes

from bench.harness import API_VERSION, NAMESPACE, System, pool_doc, running_system
from bench.report import Section, seconds

POOL_COUNTS = (1, 500)
TICK_SECONDS = 10.0
"""The operator's default tick (SSVM_OPERATOR_TICK_SECONDS)."""
POLL_SECONDS = 10
WINDOW_POLLS = 3
GROUP, VERSION = API_VERSION.split("/")
PLURAL = "ssvmpools"
BENCH_AGENT = "ssvm-bench"
"""The User-Agent of the benchmark's own client, so its requests are not counted as the operator's."""
GOAL_CPU_500 = 0.10
GOAL_RSS_MIB = 150


@dataclass
class Idle:
    pools: int
    requests: float
    """Kubernetes requests per pool per poll."""
    writes: float
    """resourceVersion changes per pool per poll."""
    cpu_seconds: float = 0.0
    """CPU seconds per pool per poll."""
    cpu_share: float = 0.0
    """Share of one core the whole process used."""
    peak_rss_kib: int = 0
    steady_rss_kib: int = 0
    cloudstack_requests: float = 0.0
    """CloudStack requests per poll (for the whole endpoint)."""
    ready_seconds: float = 0.0
    """From creating the pools to every one Ready."""
    by_kind: str = ""
    """The operator's requests in the window by verb and resource."""


class VersionWatch:
    """Counts the resourceVersion changes of every SSVMPool through a watch: no write is missed."""

    def __init__(self, api: kubernetes.client.CustomObjectsApi) -> None:
        self._api = api
        self._stop = threading.Event()
        self.modified: Counter[str] = Counter()
        listed = cast(dict[str, Any], api.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL))
        self._since = str(listed["metadata"]["resourceVersion"])
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> VersionWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        watch = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
        stream = watch.stream(  # type: ignore[no-untyped-call]
            self._api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            NAMESPACE,
            PLURAL,
            resource_version=self._since,
            timeout_seconds=int(WINDOW_POLLS * POLL_SECONDS * 4),
        )
        try:
            for event in stream:
                if event["type"] != "BOOKMARK":
                    self.modified[event["object"]["metadata"]["name"]] += 1
                if self._stop.is_set():
                    break
        except Exception:
            if not self._stop.is_set():  # the cluster going away after the window is no news
                raise
        finally:
            watch.stop()  # type: ignore[no-untyped-call]

    @property
    def total(self) -> int:
        return sum(self.modified.values())


def _client(system: System) -> kubernetes.client.CustomObjectsApi:
    kubeconfig = system.cluster.env()["KUBECONFIG"]
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    api_client = kubernetes.client.ApiClient(configuration)
    api_client.user_agent = BENCH_AGENT
    return kubernetes.client.CustomObjectsApi(api_client)


def _operator_requests(system: System) -> list[Any]:
    """The operator's Kubernetes requests since the log was cleared: the watches it holds open aside."""
    return [
        call
        for call in system.cluster.request_log.resource_calls()
        if call.user_agent != BENCH_AGENT and call.verb != "watch"
    ]


def ours(pools: int) -> Idle:
    with running_system(
        zones=pools, scan_interval=30, tick_seconds=TICK_SECONDS, poll_seconds=POLL_SECONDS
    ) as system:
        zones = sorted(zone["name"] for zone in system.cloudstack.admin.state()["zones"])[:pools]
        created = time.monotonic()
        system.create(*(pool_doc(zone) for zone in zones))
        system.wait(
            lambda: system.ready_pools() == pools, timeout=300, what=f"{pools} pools Ready", interval=1
        )
        ready_seconds = time.monotonic() - created
        time.sleep(2 * POLL_SECONDS)  # what the first reconciles had still to say is said
        api = _client(system)
        system.cloudstack.admin.reset_call_counts()
        system.cluster.request_log.clear()
        with VersionWatch(api) as watch:
            cpu_before = system.operator.cpu_seconds()
            started = time.monotonic()
            time.sleep(WINDOW_POLLS * POLL_SECONDS)
            window = time.monotonic() - started
            cpu = system.operator.cpu_seconds() - cpu_before
        requests = _operator_requests(system)
        memory = system.operator.memory_kib()
        cloudstack_calls = sum(system.cloudstack.admin.call_counts().values())
        system.operator.check_alive()
    polls = window / POLL_SECONDS
    return Idle(
        pools,
        requests=len(requests) / pools / polls,
        writes=watch.total / pools / polls,
        cpu_seconds=cpu / pools / polls,
        cpu_share=cpu / window,
        peak_rss_kib=memory["VmHWM"],
        steady_rss_kib=memory["VmRSS"],
        cloudstack_requests=cloudstack_calls / polls,
        ready_seconds=ready_seconds,
        by_kind=", ".join(
            f"{verb} {resource} {n}"
            for (verb, resource), n in sorted(Counter((c.verb, c.rbac_resource) for c in requests).items())
        ),
    )


def naive(pools: int) -> Idle:
    """The baseline: each pool's poller reads its object and writes its observation, stamped with the time,
    once per poll (as a heartbeat in status does). Run by the benchmark itself, no operator."""
    with running_system(
        zones=pools, scan_interval=30, tick_seconds=TICK_SECONDS, poll_seconds=POLL_SECONDS
    ) as system:
        system.operator.stop()
        zones = sorted(zone["name"] for zone in system.cloudstack.admin.state()["zones"])[:pools]
        system.create(*(pool_doc(zone) for zone in zones))
        api = _client(system)
        with VersionWatch(api) as watch:
            for _ in range(WINDOW_POLLS):
                for zone in zones:
                    api.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, zone)
                    ready = {
                        "type": "Ready",
                        "status": "True",
                        "reason": "Polled",
                        "message": "polled",
                        "lastTransitionTime": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                    api.patch_namespaced_custom_object_status(
                        GROUP, VERSION, NAMESPACE, PLURAL, zone, {"status": {"conditions": [ready]}}
                    )
                time.sleep(1.1)  # the next poll stamps a later second
            deadline = time.monotonic() + 10
            while watch.total < pools * WINDOW_POLLS and time.monotonic() < deadline:
                time.sleep(0.1)
    requests = 2 * pools * WINDOW_POLLS
    return Idle(pools, requests=requests / pools / WINDOW_POLLS, writes=watch.total / pools / WINDOW_POLLS)


def measure(pool_counts: Sequence[int] = POOL_COUNTS) -> Section:
    started = time.monotonic()
    section = Section(
        "Idle: nothing changes",
        "The real operator process (kopf) against the Kubernetes emulator and the simulator, one endpoint, "
        f"one healthy SSVMPool per zone; tick {TICK_SECONDS:.0f} s (the default), poll {POLL_SECONDS} s, "
        f"measured over {WINDOW_POLLS} polls once every pool was Ready. *Naive* is the per-pool poller that "
        "writes what it saw, stamped with the time, into its pool's status on every poll.",
        [
            "pools",
            "k8s requests / pool / poll: ours",
            "naive",
            "writes (RV changes) / pool / poll: ours",
            "naive",
            "CPU / pool / poll",
            "CPU, whole process",
            "peak RSS",
            "CloudStack requests / poll",
            "all pools Ready after",
        ],
    )
    results = []
    for count in pool_counts:
        mine, base = ours(count), naive(count)
        results.append(mine)
        section.rows.append(
            [
                str(count),
                f"{mine.requests:.2f}",
                f"{base.requests:.2f}",
                f"{mine.writes:.2f}",
                f"{base.writes:.2f}",
                seconds(mine.cpu_seconds),
                f"{mine.cpu_share * 100:.1f}% of one core",
                f"{mine.peak_rss_kib / 1024:.0f} MiB",
                f"{mine.cloudstack_requests:.1f}",
                seconds(mine.ready_seconds),
            ]
        )
    section.notes += [
        "Writes are counted from a watch on every SSVMPool (MODIFIED events), so none is missed between "
        "samples; requests are the emulator's request log without the watches the operator holds open.",
        "The operator's Kubernetes requests at idle are reads of the endpoint's credentials Secret, once "
        "per poll interval per endpoint (so per pool they shrink as pools are added).",
        "CPU is user + system time of the operator process (/proc/<pid>/stat) over the window: CPU seconds "
        "are less sensitive than wall time to the load of a shared machine.",
        "Peak RSS (VmHWM) includes the start-up burst in which every pool is created and reconciled.",
    ]
    section.notes += [
        f"The operator's requests over the window, {r.pools} pools: {r.by_kind or 'none'}." for r in results
    ]
    largest = results[-1]
    section.headlines += [
        (
            f"Kubernetes writes per idle pool per poll, {', '.join(str(r.pools) for r in results)} pools",
            " / ".join(f"{r.writes:.2f}" for r in results) + " (naive: 1)",
            "0",
        ),
        (
            f"operator CPU at idle, {largest.pools} pools, {TICK_SECONDS:.0f} s tick",
            f"{largest.cpu_share * 100:.1f}% of one core",
            f"<= {GOAL_CPU_500 * 100:.0f}% of one core",
        ),
        (
            f"peak RSS of the operator with {largest.pools} pools",
            f"{largest.peak_rss_kib / 1024:.0f} MiB",
            f"< {GOAL_RSS_MIB} MiB",
        ),
        (
            f"CloudStack requests per poll, real operator, {largest.pools} pools",
            f"{largest.cloudstack_requests:.1f}",
            "constant",
        ),
    ]
    section.seconds = time.monotonic() - started
    return section
