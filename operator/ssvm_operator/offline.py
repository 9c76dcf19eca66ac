"""`ssvm-operator plan`: what Enforce would do for the SSVMPools and SSVMSettings of some manifests, without
Kubernetes.

Meant as a GitOps pull-request check: it reads the manifests as kubectl does (files, directories, `-R`, `-`
for stdin), takes each CloudStackEndpoint's URL from the same manifests (or `--endpoint`), observes CloudStack
once per endpoint, and prints the plans as text, JSON or YAML. Nothing in CloudStack is changed; the API keys
come from the environment only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from ssvm_operator.cloud import config
from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials
from ssvm_operator.cloud.inventory import fetch_inventory
from ssvm_operator.model.settings import (
    ALLOWED_SITES_KEY,
    CAPACITY_STANDBY_KEY,
    SERVICE_OFFERING_KEY,
    SESSION_MAX_KEY,
    RolloutStrategy,
    SettingsSpec,
)
from ssvm_operator.model.snapshot import Inventory
from ssvm_operator.model.spec import Mode, PoolSpec, SpecError, UpgradeStrategy
from ssvm_operator.plan.offering import resolve_offering
from ssvm_operator.plan.pool import plan_pool
from ssvm_operator.plan.settings import BOOT_TIME_KEYS, DesiredSetting, changes, validate
from ssvm_operator.plan.settings_plan import least_disruptive
from ssvm_operator.plan.types import PoolContext, Severity
from ssvm_operator.plan.upgrade import upgrade_turn

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class InputError(Exception):
    """Bad input: a missing file, something that is not YAML, a spec that does not parse. One line."""


@dataclass(frozen=True)
class Document:
    origin: str
    body: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", "?"))


def read_documents(sources: Sequence[str], recursive: bool, stdin: TextIO) -> list[Document]:
    """Every YAML document of the files, the manifest files of the directories (their subdirectories too
    with `recursive`) and of stdin for `-`, in that order."""
    documents = []
    for source in sources:
        if source == "-":
            documents += _parse("<stdin>", stdin.read())
            continue
        path = Path(source)
        if path.is_dir():
            pattern = path.rglob("*") if recursive else path.glob("*")
            files = sorted(p for p in pattern if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
        elif path.exists():
            files = [path]
        else:
            raise InputError(f"{source}: no such file or directory")
        for file in files:
            try:
                text = file.read_text()
            except (OSError, UnicodeDecodeError) as error:
                raise InputError(
                    f"{file}: cannot be read: {getattr(error, 'strerror', None) or error}"
                ) from None
            documents += _parse(str(file), text)
    return documents


def _parse(origin: str, text: str) -> list[Document]:
    try:
        bodies = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not YAML"
        raise InputError(f"{origin}: not valid YAML{where}: {problem}") from None
    return [Document(origin, body) for body in bodies if isinstance(body, Mapping)]


@dataclass
class PoolPlan:
    name: str
    zone: str
    ready: int
    desired: int
    findings: list[dict[str, str]] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)

    @property
    def stalled(self) -> bool:
        return any(f["severity"] == str(Severity.STALLED) for f in self.findings)


@dataclass
class SettingsPlan:
    name: str
    endpoint: str
    invalid: list[dict[str, str]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    """secretSettings keys: their values live in Secrets the plan cannot read."""

    @property
    def stalled(self) -> bool:
        return bool(self.invalid)


@dataclass
class Plans:
    pools: list[PoolPlan] = field(default_factory=list)
    settings: list[SettingsPlan] = field(default_factory=list)

    @property
    def stalled(self) -> bool:
        return any(p.stalled for p in self.pools) or any(s.stalled for s in self.settings)


def _spec(document: Document, parse: Any) -> Any:
    try:
        return parse(document)
    except SpecError as error:
        raise InputError(
            f"{document.origin}: {document.kind} {document.name}: spec.{error.field} {error.message}"
        ) from None


async def plan_documents(
    documents: Sequence[Document], credentials: Credentials, endpoint_url: str | None, verify: bool
) -> Plans:
    pools = [
        (
            d,
            _spec(
                d,
                lambda doc: PoolSpec.parse(
                    doc.body.get("spec") or {}, (doc.body.get("metadata") or {}).get("annotations")
                ),
            ),
        )
        for d in documents
        if d.kind == "SSVMPool"
    ]
    settings = [
        (d, _spec(d, lambda doc: SettingsSpec.parse(doc.body.get("spec") or {})))
        for d in documents
        if d.kind == "SSVMSettings"
    ]
    if not pools and not settings:
        raise InputError("no SSVMPool or SSVMSettings in the given manifests")
    urls = {d.name: _endpoint_url(d) for d in documents if d.kind == "CloudStackEndpoint"}

    def url_of(document: Document, endpoint: str) -> str:
        if endpoint_url:
            return endpoint_url
        if endpoint not in urls:
            raise InputError(
                f"{document.origin}: {document.kind} {document.name}: CloudStackEndpoint {endpoint} is not "
                "in the given manifests; add it or give --endpoint URL"
            )
        return urls[endpoint]

    wanted = {url_of(d, spec.endpoint) for d, spec in pools} | {
        url_of(d, spec.endpoint) for d, spec in settings
    }
    inventories: dict[str, Inventory] = {}
    catalogues: dict[str, Mapping[str, Any]] = {}
    for url in sorted(wanted):
        async with CloudClient(ConnectionSettings(url=url, verify=verify), credentials) as client:
            inventories[url] = await fetch_inventory(client)
            if settings:
                # Only the settings the manifests declare, plus the standby pair the replicas need.
                declared = {
                    key for d, spec in settings if url_of(d, spec.endpoint) == url for key in spec.keys
                }
                catalogues[url] = await config.read_settings(
                    client, declared | {SESSION_MAX_KEY, CAPACITY_STANDBY_KEY}
                )

    result = Plans()
    now = datetime.now(UTC)
    rolling: dict[str, list[tuple[str, bool]]] = {}  # per CloudStack: the pools that roll upgrades
    for document, spec in pools:
        if spec.upgrade is not UpgradeStrategy.NONE:
            rolling.setdefault(url_of(document, spec.endpoint), []).append((spec.zone, False))
    for document, spec in pools:
        url = url_of(document, spec.endpoint)
        inventory = inventories[url]
        # Show what Enforce would do, even for pools declared in Observe mode.
        enforced = replace(spec, mode=Mode.ENFORCE)
        turn = upgrade_turn(rolling.get(url, []), inventory, spec.zone, spec.upgrade)
        plan = plan_pool(
            PoolContext(
                enforced,
                inventory,
                now,
                scan_interval_seconds=inventory.scan_interval_seconds,
                upgrade_turn=turn,
            )
        )
        result.pools.append(
            PoolPlan(
                document.name,
                plan.zone.name if plan.zone else spec.zone,
                plan.ready_replicas,
                plan.desired_replicas,
                [
                    {"severity": str(f.severity), "reason": str(f.reason), "message": f.message}
                    for f in plan.findings
                ],
                [
                    {
                        "action": str(a.kind),
                        "target": a.vm_name or a.vm_id or "zone",
                        "reason": a.reason,
                        **({"blocked": a.blocked} if a.blocked else {}),
                    }
                    for a in plan.actions
                ],
            )
        )
    for document, spec in settings:
        url = url_of(document, spec.endpoint)
        result.settings.append(_plan_settings(document.name, spec, inventories[url], catalogues[url]))
    return result


def _endpoint_url(document: Document) -> str:
    url = (document.body.get("spec") or {}).get("url")
    if not isinstance(url, str) or not url:
        raise InputError(f"{document.origin}: CloudStackEndpoint {document.name}: spec.url is required")
    return url


def _plan_settings(
    name: str, spec: SettingsSpec, inventory: Inventory, catalogue: Mapping[str, Any]
) -> SettingsPlan:
    plan = SettingsPlan(name, spec.endpoint, unchecked=sorted(spec.secret_settings))
    desired = []
    if spec.allowed_internal_sites is not None:
        sites = ",".join(spec.allowed_internal_sites) or None
        desired.append(DesiredSetting(ALLOWED_SITES_KEY, sites, field="allowedInternalSites"))
    if spec.service_offering is not None:
        offering, problems = resolve_offering(spec.service_offering, inventory)
        if offering is None:
            plan.invalid.append({"field": "serviceOffering", "message": problems[0].message})
        else:
            desired.append(DesiredSetting(SERVICE_OFFERING_KEY, offering.id, field="serviceOffering"))
    desired += [DesiredSetting(k, v, field=f"settings.{k}") for k, v in sorted(spec.settings.items())]
    plan.invalid += [{"field": i.field, "message": i.message} for i in validate(desired, catalogue)]
    if plan.invalid:
        return plan
    for setting in changes(desired, catalogue):
        entry = catalogue[setting.name]
        plan.changes.append(
            {
                "setting": setting.name,
                "from": entry.value,
                "to": setting.value,
                "needsManagementServerRestart": not entry.is_dynamic,
                **_rollout_of(setting.name, spec.rollout.strategy),
            }
        )
    return plan


def _rollout_of(key: str, declared: RolloutStrategy) -> dict[str, str]:
    """How the SSVMs would pick the key up, as the settings rollout would choose for it alone."""
    if key not in BOOT_TIME_KEYS or declared is RolloutStrategy.NONE:
        return {}
    return {"rollout": str(least_disruptive(declared, [BOOT_TIME_KEYS[key].rollout]))}


def write_plans(plans: Plans, output: str, out: TextIO) -> None:
    data = {
        "pools": [{**asdict(p), "stalled": p.stalled} for p in plans.pools],
        "settings": [{**asdict(s), "stalled": s.stalled} for s in plans.settings],
        "stalled": plans.stalled,
    }
    if output == "json":
        out.write(json.dumps(data, indent=2) + "\n")
    elif output == "yaml":
        out.write(yaml.safe_dump(data, sort_keys=False))
    else:
        _write_text(plans, out)


def _write_text(plans: Plans, out: TextIO) -> None:
    for pool in plans.pools:
        out.write(f"SSVMPool {pool.name} (zone {pool.zone}): {pool.ready}/{pool.desired} ready\n")
        for finding in pool.findings:
            out.write(f"  {finding['severity']}: {finding['reason']}: {finding['message']}\n")
        if not pool.actions:
            out.write("  no action\n")
        for action in pool.actions:
            line = f"  {action['action']} {action['target']}: {action['reason']}"
            if "blocked" in action:
                line += f" [not now: {action['blocked']}]"
            out.write(line + "\n")
    for settings in plans.settings:
        out.write(f"SSVMSettings {settings.name} (endpoint {settings.endpoint})\n")
        for invalid in settings.invalid:
            out.write(f"  Stalled: spec.{invalid['field']}: {invalid['message']}\n")
        if not settings.invalid and not settings.changes:
            out.write("  no change\n")
        for change in settings.changes:
            notes = []
            if change["needsManagementServerRestart"]:
                notes.append("needs a management-server restart")
            if "rollout" in change:
                notes.append(f"then a {change['rollout']} of each SSVM")
            suffix = f" ({'; '.join(notes)})" if notes else ""
            out.write(f"  set {change['setting']}: {change['from']!r} -> {change['to']!r}{suffix}\n")
        for key in settings.unchecked:
            out.write(f"  {key}: not compared (its value is in a Secret)\n")
