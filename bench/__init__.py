"""`make bench`: what the operator costs CloudStack and the machine it runs on, against the simulator.

Run with `python -m bench.run` from the repository root; it writes bench/results.md.
"""
