"""`cloudstack-sim`: serve the CloudStack API simulator until SIGTERM/SIGINT.

    cloudstack-sim --host 127.0.0.1 --port 8080 --zones 2 --scan-interval 30 [--scenario FILE] [--seed N]
                   [--cloudstack-version 4.18]

Prints, one per line, once it accepts connections:
    listening on http://HOST:PORT/client/api
    api key: KEY
    secret key: SECRET
    admin on http://HOST:PORT/_sim
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from cloudstack_sim import scenario as scenarios
from cloudstack_sim.config import DEFAULT_API_KEY, DEFAULT_SECRET_KEY, SimulatorConfig
from cloudstack_sim.releases import LATEST, OLDEST, Release, UnsupportedRelease, short
from cloudstack_sim.server import Simulator

_TIMING_OPTIONS = (
    "boot",
    "stop",
    "agent_connect",
    "reboot",
    "expunge",
    "migrate",
    "diagnostics",
    "first_scan",
)


def _release(text: str) -> str:
    try:
        return Release.of(text).name
    except UnsupportedRelease as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cloudstack-sim", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default: 8080)"
    )
    parser.add_argument(
        "--api-key", default=DEFAULT_API_KEY, help=f"API key accepted (default: {DEFAULT_API_KEY})"
    )
    parser.add_argument(
        "--secret-key",
        default=DEFAULT_SECRET_KEY,
        help=f"secret key requests are signed with (default: {DEFAULT_SECRET_KEY})",
    )
    parser.add_argument(
        "--zones",
        type=int,
        default=None,
        help="number of default zones zone-1..zone-N when the scenario names none (default: 2)",
    )
    parser.add_argument(
        "--scan-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between SSVM scans (secstorage.capacityscan.interval; default: 30)",
    )
    parser.add_argument("--scenario", help="YAML scenario file (see examples/sim/)")
    parser.add_argument(
        "--cloudstack-version",
        type=_release,
        default=None,
        metavar="X.Y",
        help=f"answer as this CloudStack release, {short(OLDEST)} to {short(LATEST)} (a patch release "
        f"such as 4.20.1 too); overrides the scenario's cloudstack_version (default: {short(LATEST)})",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed for ids, addresses and fault probabilities"
    )
    parser.add_argument(
        "--integration-port",
        type=int,
        default=None,
        metavar="PORT",
        help="also serve the unauthenticated integration API (integration.api.port) on PORT",
    )
    parser.add_argument("--paused", action="store_true", help="start with the scanner paused")
    for name in _TIMING_OPTIONS:
        option = "--" + name.replace("_", "-") + "-delay"
        parser.add_argument(
            option,
            dest=f"delay_{name}",
            type=float,
            default=None,
            metavar="SECONDS",
            help=f"{name.replace('_', ' ')} time (default: a fraction of the scan interval)",
        )
    parser.add_argument("--log-level", default="INFO", help="Python log level (default: INFO)")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        secret_key=args.secret_key,
        scan_interval=args.scan_interval,
        zones=args.zones,
        seed=args.seed,
        timings={name: getattr(args, f"delay_{name}") for name in _TIMING_OPTIONS},
        scanner_enabled=not args.paused,
        cloudstack_version=args.cloudstack_version,
    )


async def serve(args: argparse.Namespace) -> None:
    scenario = scenarios.load(args.scenario) if args.scenario else None
    sim = Simulator(config_from(args), scenario, integration_port=args.integration_port)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, sim.closing.set)
    await sim.start()
    try:
        for line in sim.banner_lines():
            print(line, flush=True)
        await sim.serve_forever()
    finally:
        await sim.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    except (scenarios.ScenarioError, OSError) as error:
        print(f"cloudstack-sim: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
