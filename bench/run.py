"""`make bench`: every measurement in one run, side by side; prints the tables and writes bench/results.md.

python -m bench.run                      # everything (a few minutes on 2 cores)
python -m bench.run --only api_calls     # one measurement (repeatable)
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import api_calls, convergence, idle, machine, planner, reaction
from bench.report import Section, table

MEASUREMENTS: dict[str, Callable[[], Section]] = {
    "api_calls": api_calls.measure,
    "planner": planner.measure,
    "reaction": reaction.measure,
    "idle": idle.measure,
    "convergence": convergence.measure,
}
RESULTS = Path(__file__).resolve().parent / "results.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(MEASUREMENTS), help="run only this one")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the Markdown results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    started = time.monotonic()
    loads = [machine.load()]
    sections = []
    for name in args.only or MEASUREMENTS:
        print(f"== {name} ...", file=sys.stderr, flush=True)
        section = MEASUREMENTS[name]()
        sections.append(section)
        print(section.markdown(), flush=True)
        loads.append(machine.load())
    document = render(sections, time.monotonic() - started, loads)
    args.output.write_text(document)
    print(f"== written to {args.output} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


def render(sections: list[Section], total_seconds: float, loads: list[str]) -> str:
    host = machine.describe()
    host["load average (1 min) at start, after each measurement"] = " / ".join(loads)
    summary = [row for section in sections for row in section.headlines]
    shared = (
        [
            "The load average was above the number of CPUs: other work shared the machine, so wall times "
            "(planner, reaction, convergence, time to Ready) are noisy; counts and CPU seconds much less so.",
            "",
        ]
        if any(machine.busy(load) for load in loads)
        else []
    )
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench.run`) against the CloudStack simulator and the Kubernetes "
        "emulator. Counts and ratios carry over to other machines; absolute times are this machine's.",
        "",
        table(["machine", ""], list(host.items())),
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {total_seconds:.0f} s.",
        "",
        *shared,
        "## Summary",
        "",
        table(["measure", "result", "goal"], summary),
        "",
        *(section.markdown() for section in sections),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
