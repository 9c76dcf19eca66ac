"""The machine a benchmark ran on, noted beside its numbers."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version


def load() -> str:
    """The 1-minute load average, or ? where the platform has none."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def busy(load_average: str) -> bool:
    """Whether other work shared the machine: more runnable tasks than CPUs to run them."""
    try:
        return float(load_average) > (os.cpu_count() or 1)
    except ValueError:
        return False


def describe() -> dict[str, str]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": str(os.cpu_count()),
        "usable cpus": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "kopf": _version("kopf"),
        "ssvm-operator": _version("ssvm-operator"),
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
