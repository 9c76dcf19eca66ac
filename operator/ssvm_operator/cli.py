"""`ssvm-operator run | plan -f FILES | diagnose POOL | version`: parses options and hands over."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from importlib.metadata import version as package_version
from pathlib import Path

from ssvm_operator import logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ssvm-operator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the operator")
    run.add_argument(
        "-n", "--namespace", action="append", default=[], help="watch this namespace (repeatable)"
    )
    run.add_argument("--peering", metavar="NAME", help="use kopf peering NAME for standby replicas")
    run.add_argument("--priority", type=int, default=0, help="peering priority of this replica")
    run.add_argument("--liveness", metavar="URL", help="e.g. http://0.0.0.0:8080/healthz")
    run.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port")
    run.add_argument("--metrics-address", default="0.0.0.0")
    run.add_argument("--log-level", default=os.environ.get("SSVM_OPERATOR_LOG_LEVEL", "INFO"))
    run.add_argument("--log-format", choices=["json", "console"], default="json")

    plan = commands.add_parser("plan", help="print what Enforce would do for SSVMPool files")
    plan.add_argument("-f", "--file", dest="files", action="append", required=True, type=Path)
    plan.add_argument("--endpoint", required=True, help="CloudStack API URL, e.g. https://cloud/client/api")
    plan.add_argument("--insecure-skip-tls-verify", action="store_true")

    diagnose = commands.add_parser(
        "diagnose", help="print a pool's connectivity checks, or run them now against an endpoint"
    )
    diagnose.add_argument("pool", nargs="?", help="the SSVMPool whose latest results to print")
    diagnose.add_argument("-n", "--namespace", default="default", help="the SSVMPool's namespace")
    diagnose.add_argument("--endpoint", help="run the checks now against this CloudStack API URL instead")
    diagnose.add_argument("--zone", help="the zone whose SSVMs run the checks (with --endpoint)")
    diagnose.add_argument("--target", dest="targets", action="append", default=[], help="extra target")
    diagnose.add_argument("--insecure-skip-tls-verify", action="store_true")

    commands.add_parser("version", help="print the version")

    args = parser.parse_args(argv)
    if args.command == "version":
        print(package_version("ssvm-operator"))
        return 0
    if args.command == "plan":
        return _plan(args)
    if args.command == "diagnose":
        return _diagnose(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level, args.log_format)
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr=args.metrics_address)
        from ssvm_operator import metrics

        metrics.export_build_info()
    from ssvm_operator.kube.runner import RunOptions, run

    run(
        RunOptions(
            namespaces=tuple(args.namespace),
            standalone=args.peering is None,
            peering_name=args.peering,
            priority=args.priority,
            liveness_endpoint=args.liveness,
        )
    )
    return 0


def _plan(args: argparse.Namespace) -> int:
    from ssvm_operator.cloud.client import ConnectionSettings, Credentials
    from ssvm_operator.cloud.errors import CloudError
    from ssvm_operator.model.spec import SpecError
    from ssvm_operator.offline import plan_files, print_plans

    api_key = os.environ.get("CLOUDSTACK_API_KEY")
    secret_key = os.environ.get("CLOUDSTACK_SECRET_KEY")
    if not api_key or not secret_key:
        print(
            "set CLOUDSTACK_API_KEY and CLOUDSTACK_SECRET_KEY (never pass keys as arguments)", file=sys.stderr
        )
        return 2
    settings = ConnectionSettings(url=args.endpoint, verify=not args.insecure_skip_tls_verify)
    try:
        plans = asyncio.run(plan_files(args.files, settings, Credentials(api_key, secret_key)))
    except (SpecError, CloudError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if print_plans(plans, sys.stdout) else 0


def _diagnose(args: argparse.Namespace) -> int:
    """Exit 0 when every target is reachable, 1 when something is not (or nothing was checked), 2 on error."""
    from ssvm_operator.cloud.client import ConnectionSettings, Credentials
    from ssvm_operator.cloud.errors import CloudError
    from ssvm_operator.diagnose import DiagnoseError, from_cluster, print_report, run_now_sync

    try:
        if args.endpoint:
            if not args.zone:
                print("--endpoint needs --zone", file=sys.stderr)
                return 2
            api_key = os.environ.get("CLOUDSTACK_API_KEY")
            secret_key = os.environ.get("CLOUDSTACK_SECRET_KEY")
            if not api_key or not secret_key:
                print(
                    "set CLOUDSTACK_API_KEY and CLOUDSTACK_SECRET_KEY (never pass keys as arguments)",
                    file=sys.stderr,
                )
                return 2
            settings = ConnectionSettings(url=args.endpoint, verify=not args.insecure_skip_tls_verify)
            report = run_now_sync(settings, Credentials(api_key, secret_key), args.zone, args.targets)
        elif args.pool:
            report = from_cluster(args.pool, args.namespace)
        else:
            print("name a pool, or give --endpoint and --zone", file=sys.stderr)
            return 2
    except (DiagnoseError, CloudError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_report(report, sys.stdout)
    return 1 if report.faulty else 0


if __name__ == "__main__":
    sys.exit(main())
