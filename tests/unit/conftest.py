"""Hypothesis profiles for the unit tests.

`default` is derandomized, so CI and every developer see the same examples and a red build is reproducible;
`explore` (HYPOTHESIS_PROFILE=explore) searches far more, randomly, for local bug hunting.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=5000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
