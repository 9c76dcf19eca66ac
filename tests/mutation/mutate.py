"""Mutation testing of the planner: `make mutate` (not part of `make test`: it takes hours, see the README).

cosmic-ray makes one small edit at a time to operator/ssvm_operator/plan/ (a comparison flipped, a
condition negated, a number changed, ...) and runs the planner's tests; a mutant the tests do not notice
"survives" and points at a behaviour no test pins. Everything runs on a copy of the tree in a temporary
directory, so the working tree is never edited.

    python tests/mutation/mutate.py [MODULE ...]    e.g. budget ladder (default: every module of plan/)
    python tests/mutation/mutate.py --hand-made     the one-line bugs in HAND_MADE, each against its test
    python tests/mutation/mutate.py --keep s.sqlite budget; ...add tests...; mutate.py --again s.sqlite
                                                    runs only the survivors of a kept session again

Prints the score per module and every survivor with its place; exits 1 when a mutant survives in one of
the modules that decide what the operator disrupts (MUST_KILL), or when a hand-made mutant survives.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
PLAN = Path("operator/ssvm_operator/plan")
CONFIG = REPOSITORY / "tests" / "mutation" / "cosmic-ray.toml"
MUST_KILL = ("budget", "ladder", "health", "replicas")
"""The disruption budget, the remediation ladder, health over time and the replica count: no survivor."""
COPIED = ("operator", "simulator", "tests", "docs", "pyproject.toml")
EQUIVALENT = {
    # (module, the line as the mutant has it): why no test can tell it from the original.
    ("replicas.py", "rank = {Health.UNHEALTHY: -1, Health.HEALTHY: 1, Health.CONVERGING: 2}"): (
        "failed SSVMs still rank first"
    ),
    ("replicas.py", "rank = {Health.UNHEALTHY: 0, Health.HEALTHY: 1, Health.CONVERGING: 3}"): (
        "booting SSVMs still rank last"
    ),
    ("replicas.py", "if toggling is not None and toggling.action == kind:"): "enum members are singletons",
    ("budget.py", "missing: int = -1"): "every ZoneLoad is built with `missing` given",
    ("replicas.py", "if excess < 0:"): "with no excess the slice below is empty",
    ("replicas.py", "if excess <= -1:"): "with no excess the slice below is empty",
    ("budget.py", "if max_unavailable == 0:"): "PoolSpec refuses a negative maxUnavailable",
    ("replicas.py", "if replicas <= 0 and zone.ssvm_enabled:"): "PoolSpec refuses negative replicas",
    ("replicas.py", "if replicas <= 0:"): "PoolSpec refuses negative replicas",
    ("replicas.py", "return 0 if replicas <= 0 else max(replicas, standby_replicas)"): (
        "PoolSpec refuses negative replicas"
    ),
    ("budget.py", "missing: int = 1"): "every ZoneLoad is built with `missing` given",
    ("budget.py", "@dataclass(frozen=False)"): "nothing assigns to or hashes a ZoneLoad once it is built",
    **{
        ("ladder.py", f"unhealthy_for = seconds_between(since, now) if since is not None else {n}"): (
            "climb runs only after remember_health, which starts an unhealthy SSVM's clock"
        )
        for n in ("1.0", "-1.0")
    },
    (
        "health.py",
        "if memory.last_remediation_at is not None and seconds_between(at, memory.last_remediation_at) > 0:",
    ): ("a remembered and an in-flight remediation of the same instant are one action, of one kind"),
    ("ladder.py", "@dataclass(frozen=False)"): "nothing assigns to or hashes a Verdict once it is built",
    ("replicas.py", "if replicas != 1 and standby_replicas < replicas:"): (
        "with replicas 0, standby_replicas < 0 never holds: CloudStack keeps at least one"
    ),
    ("replicas.py", "return max(1, standby_replicas) if recreates_ssvms(zone, replicas) else -1"): (
        "what CloudStack keeps is only compared with counts, which are at least 0"
    ),
    **{
        ("health.py", f'if vm.state {op} "Running" and vm.agent_overdue:'): (
            "agent_overdue is set only on Running SSVMs, and 'Running' equals itself"
        )
        for op in ("<=", ">=")
    },
    ("replicas.py", 'if zone.zone_type >= "Edge":'): "CloudStack's zone types are Core and Edge",
    ("replicas.py", "return -1 if replicas == 0 else max(replicas, standby_replicas)"): (
        "with replicas 0 every SSVM is surplus; a floor of -1 only asks for one more than there is"
    ),
    ("health.py", 'if vm.state is not "Running" and vm.agent_overdue:'): (
        "agent_overdue is set only on Running SSVMs, and a state from CloudStack's JSON is never the literal"
    ),
    ("ladder.py", "return symptom is Symptom.STOPPED and last >= ActionKind.START"): (
        "'Start' sorts after every other action kind"
    ),
    ("ladder.py", "if last is ActionKind.RECREATE or symptom <= Symptom.AGENT_LOST:"): (
        "'AgentLost' sorts before the other symptoms"
    ),
    # Orderings of StrEnum members compare their values as strings: where the member compared with is the
    # first or the last of its enum in that order (or of the values possible there), `<=`/`>=` is `is`.
    ("health.py", "if vm.health < Health.UNHEALTHY:"): "'Unhealthy' sorts after the other healths",
    ("health.py", "if vm.health <= Health.CONVERGING:"): "'Converging' sorts before the other healths",
    ("health.py", "if health >= Health.UNHEALTHY and memory.unhealthy_since is None:"): (
        "'Unhealthy' sorts after the other healths"
    ),
    ("ladder.py", "if symptom >= Symptom.STOPPED:"): "'Stopped' sorts after the other symptoms",
    ("ladder.py", "return symptom >= Symptom.STOPPED and last is ActionKind.START"): (
        "'Stopped' sorts after the other symptoms"
    ),
    ("ladder.py", "if kind >= ActionKind.RECREATE:"): "the kind here is Reboot or Recreate",
    ("ladder.py", "if last >= ActionKind.START and symptom is Symptom.AGENT_LOST"): (
        "'Start' sorts after every other action kind"
    ),
    (
        "ladder.py",
        "done = f\"{'started' if last >= ActionKind.START else 'rebooted'} {_s(elapsed)} ago\"",
    ): "'Start' sorts after every other action kind",
    ("ladder.py", "if last is ActionKind.START and symptom <= Symptom.AGENT_LOST"): (
        "'AgentLost' sorts before the other symptoms"
    ),
    (
        "ladder.py",
        "if policy.remediation <= Remediation.NONE:",
    ): "'None' sorts before 'Reboot' and 'Recreate'",
    ("budget.py", "if spec.mode >= Mode.OBSERVE:"): "of the two modes only 'Observe' >= 'Observe'",
    ("budget.py", "if candidate.purpose <= Purpose.REMEDIATION:"): (
        "zone actions took no budget above, and 'Remediation' sorts before 'Voluntary'"
    ),
    ("budget.py", "if reason is None and candidate.purpose < Purpose.ZONE:"): (
        "'Zone' sorts after every other purpose, so `< ZONE` is `is not ZONE`"
    ),
}
"""Mutants that do not change behaviour; skipped and listed, so that every survivor is worth a test."""
HAND_MADE = (
    # (module, the original text, the mutant's text, the test that must fail): bugs that matter, beyond
    # cosmic-ray's small operators; each once survived the whole suite (tests/mutation/README.md).
    (
        "pool.py",
        "if a.health is not Health.HEALTHY and a.vm.id not in disrupted",
        "if a.health is Health.UNHEALTHY and a.vm.id not in disrupted",
        "tests/unit/test_safety_contract.py::TestDisruptionBudget::test_an_ssvm_within_its_grace_counts_as_unavailable",
    ),
    (
        "offering.py",
        " or vm.id in skip or ",
        " or ",
        "tests/unit/test_safety_contract.py::TestOneActionPerSsvm::test_a_surplus_ssvm_gets_no_offering_change_as_well",
    ),
    (
        "health.py",
        'frozenset({"Stopped", "Shutdown"})',
        'frozenset({"Stopped"})',
        "tests/unit/test_remediation_ladder.py::TestStoppedSsvm::"
        "test_a_shutdown_vm_is_started_like_a_stopped_one_not_recreated",
    ),
    (
        "pool.py",
        "- len(assessed) - gone)",
        "- len(assessed))",
        "tests/unit/test_safety_contract.py::TestDisruptionBudget::"
        "test_an_in_flight_recreate_of_an_ssvm_already_gone_is_counted_once",
    ),
    (
        "budget.py",
        "if spec.paused:\n        return PAUSED\n    if spec.mode is Mode.OBSERVE:\n        return OBSERVE\n",
        "if spec.mode is Mode.OBSERVE:\n        return OBSERVE\n    if spec.paused:\n        return PAUSED\n",
        "tests/unit/test_safety_contract.py::TestPausedAndObserve::test_a_paused_pool_in_observe_mode_says_it_is_paused",
    ),
    (
        "replicas.py",
        "{Health.UNHEALTHY: 0, Health.HEALTHY: 1, Health.CONVERGING: 2}",
        "{Health.UNHEALTHY: 0, Health.HEALTHY: 2, Health.CONVERGING: 1}",
        "tests/unit/test_replicas.py::TestReplacedSSVM::test_a_serving_ssvm_is_given_up_before_one_still_booting",
    ),
    (
        "health.py",
        "if in_flight is None or vm.health is Health.HEALTHY:",
        "if in_flight is None:",
        "tests/unit/test_remediation_ladder.py::TestMemory::"
        "test_an_ssvm_healthy_again_forgets_its_remediation_even_while_the_job_is_in_flight",
    ),
    (
        "ladder.py",
        "if unhealthy_for < grace:",
        "if unhealthy_for <= grace:",
        "tests/unit/test_remediation_ladder.py::TestAgentLost::test_the_grace_ends_at_exactly_unhealthy_after_seconds",
    ),
    (
        "ladder.py",
        "if unhealthy_for < scan_interval:",
        "if unhealthy_for <= scan_interval:",
        "tests/unit/test_remediation_ladder.py::TestStoppedSsvm::test_is_started_once_a_whole_scan_has_passed",
    ),
    (
        "ladder.py",
        'if elapsed < timeout:\n        return Verdict(\n            None, f"{done}; waiting',
        'if elapsed <= timeout:\n        return Verdict(\n            None, f"{done}; waiting',
        "tests/unit/test_remediation_ladder.py::TestClimbing::test_the_next_rung_comes_at_exactly_the_reboot_timeout",
    ),
    (
        "budget.py",
        "if remaining > 0:",
        "if remaining >= 0:",
        "tests/unit/test_safety_contract.py::TestEndpointAndBackoff::test_a_backoff_ending_now_blocks_nothing",
    ),
)
IDENTITY_TO_EQUALITY = {"core/ReplaceComparisonOperator_Is_Eq", "core/ReplaceComparisonOperator_IsNot_NotEq"}
# `x is Health.HEALTHY` -> `x == Health.HEALTHY`, `x is None` -> `x == None`: the same for enum members
# and None.
SINGLETON = re.compile(r"(None|[A-Z][A-Za-z]*\.[A-Z][A-Z_]*)\b")


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's type annotations are: with `from __future__ import annotations` they are never
    evaluated, so a mutant inside one (`str | None` -> `str + None`) cannot change behaviour. The same for
    a `typing.Protocol` class: only the type checker reads it (removing its `@property` changes nothing)."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        notes: list[ast.expr | ast.stmt] = []
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id == "Protocol" for base in node.bases
        ):
            notes.append(node)
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            notes.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            notes.append(node.returns)
        for note in notes:
            assert note.end_lineno is not None and note.end_col_offset is not None
            spans.append(((note.lineno, note.col_offset), (note.end_lineno, note.end_col_offset)))
    return spans


def skip_annotation_mutants(session: Path, tree: Path) -> int:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans: dict[Path, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    skipped = 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            mutation = item.mutations[0]
            path = tree / mutation.module_path
            if path not in spans:
                spans[path] = annotation_spans(path.read_text(encoding="utf-8"))
            start = tuple(mutation.start_pos)
            if any(begin <= start < end for begin, end in spans[path]):
                db.set_result(
                    item.job_id,
                    WorkResult(output="inside a type annotation", worker_outcome=WorkerOutcome.SKIPPED),
                )
                skipped += 1
    return skipped


def skip_equivalent_mutants(session: Path, tree: Path) -> list[str]:
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    modules = {module for module, _ in EQUIVALENT}
    skipped = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            mutation = item.mutations[0]
            module = Path(mutation.module_path).name
            source = (tree / mutation.module_path).read_text(encoding="utf-8")
            if mutation.operator_name in IDENTITY_TO_EQUALITY:
                row, column = mutation.end_pos
                if SINGLETON.match(source.splitlines()[row - 1][column:].lstrip()):
                    db.set_result(
                        item.job_id,
                        WorkResult(output="equivalent: a singleton", worker_outcome=WorkerOutcome.SKIPPED),
                    )
                    skipped.append(f"{PLAN.name}/{module}:{row} `is` -> `==` on an enum member or None")
                    continue
            if module not in modules:
                continue
            operator = get_operator(mutation.operator_name)(**mutation.operator_args)
            mutated = mutate_code(source, operator, mutation.occurrence)
            line = mutated.splitlines()[mutation.start_pos[0] - 1].strip() if mutated else ""
            why = EQUIVALENT.get((module, line))
            if why is not None:
                db.set_result(
                    item.job_id, WorkResult(output=f"equivalent: {why}", worker_outcome=WorkerOutcome.SKIPPED)
                )
                skipped.append(f"{PLAN.name}/{module}:{mutation.start_pos[0]} `{line}`: {why}")
    return skipped


def forget_survivors(session: Path) -> int:
    """Make a kept session's survivors pending again (after tests were added or EQUIVALENT grew)."""
    db = sqlite3.connect(session)
    try:
        with db:
            return db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'").rowcount
    finally:
        db.close()


def report(session: Path) -> tuple[Counter[str], Counter[str], list[str]]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    tried: Counter[str] = Counter()
    killed: Counter[str] = Counter()
    survivors = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome is WorkerOutcome.SKIPPED:
                continue
            mutation = item.mutations[0]
            module = Path(mutation.module_path).stem
            tried[module] += 1
            # A mutant that breaks the module (incompetent) or hangs the tests (abnormal) is caught too.
            if result.test_outcome is not TestOutcome.SURVIVED:
                killed[module] += 1
            else:
                line = mutation.start_pos[0]
                survivors.append(f"{PLAN.name}/{module}.py:{line} {mutation.operator_name}")
    return tried, killed, survivors


def copy_tree(tree: Path) -> dict[str, str]:
    """Copy what the tests need into `tree`; the environment that makes the copy the one imported."""
    for name in COPIED:
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tree / name)
    # The copy is imported, not the editable install of the working tree.
    imported = (tree / "operator", tree / "simulator", tree)
    # The test command's `python` is this one (the project's .venv), whatever PATH holds.
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(str(p) for p in imported),
        PATH=os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", ""))),
    )


def hand_made() -> int:
    """Each HAND_MADE mutant alone on a copy of the tree: its test passes before the edit and fails after."""
    pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    with tempfile.TemporaryDirectory(prefix="ssvm-mutate-") as scratch:
        tree = Path(scratch)
        env = copy_tree(tree)
        tests = sorted({test for *_, test in HAND_MADE})
        if subprocess.run([*pytest, *tests], cwd=tree, env=env, capture_output=True).returncode != 0:
            print("the hand-made mutants' tests fail on the unmutated tree: fix them first", file=sys.stderr)
            return 2
        survivors = 0
        for module, original, mutant, test in HAND_MADE:
            path = tree / PLAN / module
            source = path.read_text(encoding="utf-8")
            if source.count(original) != 1:
                print(
                    f"  MOVED    {PLAN.name}/{module}: `{original.strip()}` not found once; update HAND_MADE"
                )
                survivors += 1
                continue
            path.write_text(source.replace(original, mutant), encoding="utf-8")
            try:
                caught = (
                    subprocess.run([*pytest, test], cwd=tree, env=env, capture_output=True).returncode != 0
                )
            finally:
                path.write_text(source, encoding="utf-8")
            survivors += not caught
            edit = f"`{' '.join(original.split())}` -> `{' '.join(mutant.split())}`"
            print(f"  {'killed' if caught else 'SURVIVED':<8} {PLAN.name}/{module}: {edit}\n{'':11}{test}")
    print(f"{len(HAND_MADE) - survivors} of {len(HAND_MADE)} hand-made mutants killed")
    return 1 if survivors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("modules", nargs="*", help="modules of plan/ to mutate (default: all)")
    parser.add_argument("--keep", type=Path, help="keep the session database here (to read or resume it)")
    parser.add_argument("--hand-made", action="store_true", help="run only the HAND_MADE mutants")
    parser.add_argument("--again", type=Path, help="run the survivors of a session kept with --keep again")
    args = parser.parse_args()
    keep = args.keep or args.again
    if args.hand_made:
        return hand_made()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ssvm-mutate-") as scratch:
        tree = Path(scratch)
        env = copy_tree(tree)
        config = CONFIG.read_text(encoding="utf-8")
        if args.modules:
            paths = ", ".join(f'"{PLAN / (m.removesuffix(".py") + ".py")}"' for m in args.modules)
            config = config.replace(f'module-path = "{PLAN}"', f"module-path = [{paths}]")
        (tree / "cosmic-ray.toml").write_text(config, encoding="utf-8")
        session = tree / "session.sqlite"
        bin_dir = Path(sys.executable).parent

        def run(*command: str) -> None:
            subprocess.run(command, cwd=tree, env=env, check=True)

        # Unmutated, the tests must pass: otherwise every mutant would count as killed.
        baseline = subprocess.run(
            shlex.split(tomllib.loads(config)["cosmic-ray"]["test-command"]), cwd=tree, env=env
        )
        if baseline.returncode != 0:
            print("the planner's tests fail on the unmutated tree: fix them first", file=sys.stderr)
            return 2
        if args.again:
            shutil.copy2(args.again, session)
            print(f"{forget_survivors(session)} survivors of {args.again} to run again", flush=True)
        else:
            run(str(bin_dir / "cosmic-ray"), "init", "cosmic-ray.toml", str(session))
        skipped = skip_annotation_mutants(session, tree)
        print(f"{skipped} mutants in type annotations or Protocols skipped (never evaluated)", flush=True)
        equivalent = skip_equivalent_mutants(session, tree)
        print(f"{len(equivalent)} equivalent mutants skipped:", *equivalent, sep="\n  ", flush=True)
        try:
            run(str(bin_dir / "cosmic-ray"), "exec", "cosmic-ray.toml", str(session))
        finally:
            if keep:
                shutil.copy2(session, keep)
        tried, killed, survivors = report(session)

    minutes = (time.monotonic() - started) / 60
    print(f"\nMutation score of {PLAN}/ ({minutes:.0f} min):")
    for module in sorted(tried):
        print(f"  {module + '.py':<18} {killed[module]:>4} of {tried[module]:>4} killed")
    total, dead = sum(tried.values()), sum(killed.values())
    print(f"  {'all':<18} {dead:>4} of {total:>4} killed ({100 * dead / max(total, 1):.1f}%)")
    if survivors:
        print("\nSurvivors (no test noticed these edits):")
        print("\n".join(f"  {s}" for s in sorted(survivors)))
    blocking = [s for s in survivors if Path(s.split(":")[0]).stem in MUST_KILL]
    if blocking:
        print(f"\n{len(blocking)} survivor(s) in {', '.join(MUST_KILL)}, where every mutant must be killed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
