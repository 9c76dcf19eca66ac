"""End to end: the real operator process (kopf) against the Kubernetes emulator and the simulator."""

from tests.e2e.fixtures import cloudstack, cluster, endpoint, operator

__all__ = ["cloudstack", "cluster", "endpoint", "operator"]
