"""`kube-emulator`: serve the Kubernetes API emulator until SIGTERM/SIGINT.

    kube-emulator --host 127.0.0.1 --port 6443 --crds crds/ --namespace default --kubeconfig .demo/kubeconfig

Prints `listening on http://HOST:PORT` once it accepts connections (port 0 picks a free port).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

import kmock

from kube_emulator import errors, kubeconfig
from kube_emulator.server import EmulatorSettings, FakeApiserver

log = logging.getLogger("kube_emulator")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kube-emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, a free port)")
    parser.add_argument(
        "--crds", nargs="+", action="extend", default=[], metavar="PATH", help="CRD YAML files or directories"
    )
    parser.add_argument("--namespace", action="append", default=[], help="namespace to create (repeatable)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig pointing at the emulator to this path")
    parser.add_argument("--request-log", help="append every finished API call to this file as JSON lines")
    parser.add_argument("--kopf-peering", action="store_true", help="serve kopf.dev/v1 peering resources")
    parser.add_argument(
        "--no-require-namespaces",
        action="store_true",
        help="accept namespaced objects in namespaces that do not exist",
    )
    parser.add_argument("--log-level", default="WARNING", help="Python log level (default: WARNING)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    settings = EmulatorSettings(
        namespaces=tuple(args.namespace) or ("default",),
        require_namespaces=not args.no_require_namespaces,
        kopf_peering=args.kopf_peering,
        crd_paths=tuple(args.crds),
    )
    api = FakeApiserver(settings=settings)
    sink = open(args.request_log, "a", encoding="utf-8") if args.request_log else None  # noqa: SIM115
    api.request_log.sink = sink
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with api, kmock.Server(api, host=args.host, port=args.port or None) as server:
            url = f"http://{args.host}:{server.port}"
            if args.kubeconfig:
                kubeconfig.write(args.kubeconfig, url, settings.namespaces[0])
            print(f"listening on {url}", flush=True)
            await stop.wait()
            api.close_watches()
    finally:
        if sink is not None:
            sink.close()


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
    except (errors.ApiError, OSError, ValueError) as exc:
        # A CRD a real apiserver would refuse, a missing CRD path, a port in use: say which, no traceback.
        print(f"kube-emulator: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
