"""docs/concepts.md's condition table and Event list say what the operator writes: every condition type and
every reason it shows is documented, and every documented one exists (kube/reasons.py, kube/upgrade_status.py,
plan/findings.py, plan/connectivity.py)."""

from __future__ import annotations

import re

from ssvm_operator.kube.reasons import HIDDEN, ConditionType, EventReason, Reason
from ssvm_operator.kube.upgrade_status import UpgradeReason
from ssvm_operator.plan.connectivity import ConnectivityReason
from ssvm_operator.plan.findings import Reason as FindingReason
from tests.support.paths import REPOSITORY

CONCEPTS = (REPOSITORY / "docs" / "concepts.md").read_text()
KINDS = ("SSVMPool", "CloudStackEndpoint", "SSVMSettings")
ROWS = [
    [cell.strip() for cell in line.strip("|").split("|")]
    for line in CONCEPTS.splitlines()
    if line.startswith(tuple(f"| {kind} |" for kind in KINDS))
]


def documented_types() -> set[str]:
    return {part.split("=")[0].strip() for row in ROWS for part in row[1].split(",")}


def documented_reasons() -> set[str]:
    return {name for row in ROWS for name in re.findall(r"`([A-Za-z]+)`", row[2])}


def events_section() -> str:
    return CONCEPTS.split("## Events", 1)[1].split("\n## ", 1)[0]


def test_every_condition_type_is_documented_and_every_documented_one_exists() -> None:
    assert documented_types() == {str(t) for t in ConditionType}


def test_every_reason_shown_is_documented() -> None:
    shown = {str(r) for r in (*ConnectivityReason, *UpgradeReason)}
    shown |= {str(r) for r in Reason if r not in HIDDEN}
    assert shown - documented_reasons() == set()


def test_every_documented_reason_exists() -> None:
    known = {str(r) for r in (*Reason, *ConnectivityReason, *FindingReason, *UpgradeReason)}
    assert documented_reasons() - known == set()


def test_every_event_reason_is_in_the_events_section() -> None:
    section = events_section()
    assert {str(r) for r in EventReason if f"`{r}`" not in section} == set()
