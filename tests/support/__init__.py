"""What every test directory shares, in one place: the repository's path (`paths`), waiting for a condition
(`waiting`), finding the external tools some tests run (`tools`) and a free local port (`network`).

Helpers that belong to one kind of test stay beside those tests: planner builders in tests/unit, the
simulator's in tests/sim, the emulated cluster's in tests/e2e, helm's in tests/chart.
"""
