"""Fuzzing with hypothesis: a short, seeded run in CI; `WHARF_FUZZ_EXAMPLES=N` for a longer one."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "wharf",
    max_examples=int(os.environ.get("WHARF_FUZZ_EXAMPLES", "200")),
    derandomize=os.environ.get("WHARF_FUZZ_EXAMPLES") is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("wharf")
