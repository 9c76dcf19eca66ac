"""Options of one simulator instance: where it listens, whom it trusts, how fast time goes."""

from __future__ import annotations

from dataclasses import dataclass, field

from cloudstack_sim.releases import LATEST, render

DEFAULT_API_KEY = "demo-api-key"
DEFAULT_SECRET_KEY = "demo-secret-key"
DEFAULT_SCAN_INTERVAL = 30.0
DEFAULT_CLOUDSTACK_VERSION = render(LATEST)
"""The newest release the simulator models (releases.LATEST)."""


@dataclass(frozen=True)
class Timings:
    """How long simulated work takes, in seconds.

    Real SSVMs take minutes to boot; the defaults are fractions of the scan interval so that a test at a
    0.2 s scan interval sees the same sequence of states in a fraction of a second.
    """

    boot: float
    """Stopped -> Starting -> Running."""
    stop: float
    """Running -> Stopping -> Stopped."""
    agent_connect: float
    """Agent Connecting -> Up after the VM runs (SecondaryStorageListener.processConnect)."""
    reboot: float
    """Agent down while the guest reboots."""
    expunge: float
    """Expunging -> removed after destroy."""
    migrate: float
    """Running -> Migrating -> Running."""
    diagnostics: float
    """A runDiagnostics command inside the VM."""
    first_scan: float
    """Delay before the first scan after a management-server start (CloudStack: 60 s)."""

    @classmethod
    def from_scan_interval(cls, scan_interval: float, **overrides: float | None) -> Timings:
        defaults = {
            "boot": 0.5 * scan_interval,
            "stop": 0.25 * scan_interval,
            "agent_connect": 0.25 * scan_interval,
            "reboot": 0.25 * scan_interval,
            "expunge": 0.1 * scan_interval,
            "migrate": 0.25 * scan_interval,
            "diagnostics": 0.05 * scan_interval,
            "first_scan": scan_interval,
        }
        chosen = {name: value for name, value in overrides.items() if value is not None}
        unknown = set(chosen) - set(defaults)
        if unknown:
            raise ValueError(f"unknown timings: {sorted(unknown)}")
        return cls(**{**defaults, **chosen})


@dataclass(frozen=True)
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port."""
    api_key: str = DEFAULT_API_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    scan_interval: float | None = None
    """Seconds between scans; None keeps the scenario's `secstorage.capacityscan.interval` (default 30 s)."""
    zones: int | None = None
    """Number of default zones when the scenario names none (default 2)."""
    seed: int | None = None
    """Seeds uuids, addresses and fault probabilities, for reproducible runs."""
    timings: dict[str, float | None] = field(default_factory=dict)
    """Overrides of Timings fields; the rest follow the scan interval."""
    scanner_enabled: bool = True
    """False starts with the scanner paused (the admin path resumes it)."""
    cloudstack_version: str | None = None
    """The release to answer as (releases.py); None keeps the scenario's, else the newest modelled."""
