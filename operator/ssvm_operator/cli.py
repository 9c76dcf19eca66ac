"""The `ssvm-operator` command: the operator itself (`run`), and the tools its users run by hand or in CI.

Each subcommand has one function that adds its parser and one that carries it out, so a new subcommand or
option touches only its own pair.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from importlib.metadata import version as package_version
from typing import Any, NoReturn

from ssvm_operator import logs

DESCRIPTION = """\
ssvm-operator keeps the Secondary Storage VMs (SSVMs) of Apache CloudStack zones as a platform team declares
them in Kubernetes: SSVMPool (one zone), CloudStackEndpoint (one CloudStack) and SSVMSettings (its global
settings). In a cluster it runs as `ssvm-operator run` (the Helm chart starts it); the other commands are
for people and CI pipelines."""

EPILOG = """\
CloudStack API keys are read from CLOUDSTACK_API_KEY and CLOUDSTACK_SECRET_KEY, never from arguments.
Exit codes: 0 success; 1 the answer is "no" (plan: something would be Stalled; diagnose: a target is
unreachable); 2 bad input or an error, told in one line on stderr.
Run `ssvm-operator COMMAND --help` for a command's options."""


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument told in one line (and exit code 2) instead of the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class CommandError(Exception):
    """Bad input or a failure a user can act on: printed as one line, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="ssvm-operator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_run, _add_plan, _add_diagnose, _add_version):
        add(commands)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CommandError as error:
        print(f"ssvm-operator {args.command}: error: {error}", file=sys.stderr)
        return 2


def _subcommand(commands: Any, name: str, help_: str, description: str, epilog: str = "") -> Parser:
    parser: Parser = commands.add_parser(
        name,
        help=help_,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


# --- run ------------------------------------------------------------------------------------------------


def _add_run(commands: Any) -> None:
    run = _subcommand(
        commands,
        "run",
        "run the operator in the cluster (what the container starts)",
        "Run the operator against the current Kubernetes cluster (in-cluster configuration, else\n"
        "kubeconfig).",
    )
    run.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch this namespace (repeatable); default: all",
    )
    run.add_argument("--peering", metavar="NAME", help="use kopf peering NAME for standby replicas")
    run.add_argument("--priority", type=int, default=0, help="peering priority of this replica")
    run.add_argument(
        "--liveness", metavar="URL", help="serve kopf's liveness probe, e.g. http://0.0.0.0:8080/healthz"
    )
    run.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port")
    run.add_argument("--metrics-address", default="0.0.0.0", help="address of the metrics server")
    run.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=os.environ.get("SSVM_OPERATOR_LOG_LEVEL", "INFO").upper(),
        help="default: $SSVM_OPERATOR_LOG_LEVEL or INFO",
    )
    run.add_argument(
        "--log-format",
        choices=["json", "console"],
        default=os.environ.get("SSVM_OPERATOR_LOG_FORMAT", "json"),
        help="default: $SSVM_OPERATOR_LOG_FORMAT or json",
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level, args.log_format)
    if args.metrics_port:
        from prometheus_client import start_http_server

        from ssvm_operator import metrics

        start_http_server(args.metrics_port, addr=args.metrics_address)
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


# --- plan -----------------------------------------------------------------------------------------------


def _add_plan(commands: Any) -> None:
    plan = _subcommand(
        commands,
        "plan",
        "show what the operator would do for manifests, e.g. in a pull request",
        "Show what the operator would do, in Enforce mode, for the SSVMPool and SSVMSettings manifests\n"
        "given: actions on SSVMs, settings it would change, and what it would refuse (Stalled). CloudStack\n"
        "is read once per endpoint, never changed. Each object's CloudStackEndpoint is taken from the same\n"
        "manifests unless --endpoint names the API.",
        "exit codes: 0 nothing would be Stalled; 1 something would; 2 bad input or an error.\n"
        "examples:\n"
        "  ssvm-operator plan -f cloudstack/ -R\n"
        "  kustomize build overlays/prod | ssvm-operator plan -f - -o json",
    )
    plan.add_argument(
        "-f",
        "--filename",
        "--file",
        dest="sources",
        action="append",
        required=True,
        metavar="PATH",
        help="a manifest file, a directory of them, or - for stdin (repeatable)",
    )
    plan.add_argument("-R", "--recursive", action="store_true", help="read directories' subdirectories too")
    plan.add_argument(
        "--endpoint", metavar="URL", help="CloudStack API URL for every object, e.g. https://cloud/client/api"
    )
    plan.add_argument(
        "-o", "--output", choices=["text", "json", "yaml"], default="text", help="default: text"
    )
    plan.add_argument(
        "--insecure-skip-tls-verify", action="store_true", help="do not verify CloudStack's certificate"
    )
    plan.set_defaults(handler=_plan)


def _credentials() -> Any:
    from ssvm_operator.cloud.client import Credentials

    api_key = os.environ.get("CLOUDSTACK_API_KEY")
    secret_key = os.environ.get("CLOUDSTACK_SECRET_KEY")
    if not api_key or not secret_key:
        raise CommandError("set CLOUDSTACK_API_KEY and CLOUDSTACK_SECRET_KEY (never pass keys as arguments)")
    return Credentials(api_key, secret_key)


def _plan(args: argparse.Namespace) -> int:
    from ssvm_operator.cloud.errors import CloudError
    from ssvm_operator.offline import InputError, plan_documents, read_documents, write_plans

    try:
        documents = read_documents(args.sources, args.recursive, sys.stdin)
        credentials = _credentials()
        plans = asyncio.run(
            plan_documents(documents, credentials, args.endpoint, verify=not args.insecure_skip_tls_verify)
        )
    except (InputError, CloudError) as error:
        raise CommandError(str(error)) from None
    write_plans(plans, args.output, sys.stdout)
    return 1 if plans.stalled else 0


# --- diagnose -------------------------------------------------------------------------------------------


def _add_diagnose(commands: Any) -> None:
    diagnose = _subcommand(
        commands,
        "diagnose",
        "show a pool's connectivity checks (storage, DNS, management servers)",
        "Print the connectivity checks the operator last ran from inside a pool's SSVMs (read from the\n"
        "SSVMPool's status through kubeconfig), or run them now against a CloudStack API (--endpoint).",
        "exit codes: 0 every target reachable; 1 one is not, or nothing was checked; 2 bad input or an\n"
        "error.",
    )
    diagnose.add_argument("pool", nargs="?", help="the SSVMPool whose latest results to print")
    diagnose.add_argument(
        "-n", "--namespace", help="the SSVMPool's namespace; default: the kubeconfig context's, else default"
    )
    diagnose.add_argument("--context", help="the kubeconfig context to use; default: the current one")
    diagnose.add_argument(
        "--endpoint", metavar="URL", help="run the checks now against this CloudStack API URL"
    )
    diagnose.add_argument("--zone", help="the zone whose SSVMs run the checks (with --endpoint)")
    diagnose.add_argument(
        "--target", dest="targets", action="append", default=[], help="extra target to check"
    )
    diagnose.add_argument(
        "--insecure-skip-tls-verify", action="store_true", help="do not verify CloudStack's certificate"
    )
    diagnose.add_argument(
        "--collect", action="store_true", help="collect the SSVMs' diagnostics data now and print the URLs"
    )
    diagnose.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for each collection (with --collect)"
    )
    diagnose.set_defaults(handler=_diagnose)


def _diagnose(args: argparse.Namespace) -> int:
    from ssvm_operator.cloud.client import ConnectionSettings
    from ssvm_operator.cloud.errors import CloudError
    from ssvm_operator.diagnose import DiagnoseError, from_cluster, print_report, run_now_sync

    if args.collect:
        return _collect(args)
    try:
        if args.endpoint:
            if not args.zone:
                raise CommandError("--endpoint needs --zone")
            settings = ConnectionSettings(url=args.endpoint, verify=not args.insecure_skip_tls_verify)
            report = run_now_sync(settings, _credentials(), args.zone, args.targets)
        elif args.pool:
            namespace = args.namespace or _context_namespace(args.context)
            report = from_cluster(args.pool, namespace, args.context)
        else:
            raise CommandError("name a pool, or give --endpoint and --zone")
    except (DiagnoseError, CloudError) as error:
        raise CommandError(str(error)) from None
    print_report(report, sys.stdout)
    return 1 if report.faulty else 0


def _collect(args: argparse.Namespace) -> int:
    from ssvm_operator import collect
    from ssvm_operator.cloud.errors import CloudError
    from ssvm_operator.diagnose import DiagnoseError

    if not args.endpoint and not args.pool:
        raise CommandError("name a pool, or give --endpoint and --zone")
    namespace = args.namespace or ("default" if args.endpoint else _context_namespace(args.context))
    try:
        return collect.run(
            _credentials(),
            pool=args.pool,
            namespace=namespace,
            endpoint=args.endpoint,
            zone=args.zone,
            insecure=args.insecure_skip_tls_verify,
            timeout_seconds=args.timeout,
            out=sys.stdout,
        )
    except (DiagnoseError, CloudError) as error:
        raise CommandError(str(error)) from None


def _context_namespace(context: str | None) -> str:
    """The namespace of the kubeconfig context (the named one, else the current one), as kubectl uses it."""
    import kubernetes

    try:
        contexts, current = kubernetes.config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except (kubernetes.config.ConfigException, OSError):
        if context:
            raise CommandError(f"no kubeconfig to find context {context!r} in") from None
        return "default"  # in a pod, or without kubeconfig: kubectl's default too
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    if chosen is None:
        raise CommandError(f"context {context!r} is not in the kubeconfig")
    return str((chosen.get("context") or {}).get("namespace") or "default")


# --- version --------------------------------------------------------------------------------------------


def _add_version(commands: Any) -> None:
    _subcommand(commands, "version", "print the version", "Print the version.").set_defaults(handler=_version)


def _version(_: argparse.Namespace) -> int:
    print(package_version("ssvm-operator"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
