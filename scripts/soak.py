"""`make soak`: the fault soak at length. The real operator runs against the CloudStack simulator and the
emulated Kubernetes API while a seeded schedule injects faults; the safety invariants are checked every
100 ms and a table of faults, actions, violations and convergence time is printed. Exits 1 on any violation.

    python scripts/soak.py --seed 7 --fault-seconds 300

Everything listens on 127.0.0.1 and stops at the end; the same seed draws the same fault schedule.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from tests.reliability.fault_soak import SoakConfig, run_soak  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault schedule (default 1)")
    parser.add_argument("--fault-seconds", type=float, default=180.0, help="how long faults are injected")
    parser.add_argument(
        "--converge-bound", type=float, default=120.0, help="seconds every acting pool may take to be Ready"
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the operator log here")
    args = parser.parse_args(argv)
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    report = run_soak(
        SoakConfig(
            seed=args.seed,
            fault_seconds=args.fault_seconds,
            converge_bound_seconds=args.converge_bound,
            work_dir=args.work_dir,
        ),
        log=lambda line: print(f"[{time.monotonic() - started:6.1f}s] {line}", flush=True),
    )
    print()
    print(report.table())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
