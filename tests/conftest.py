"""Shared fixtures and settings."""

import os

from hypothesis import HealthCheck, settings

# CI machines are small and shared: fewer, deterministic examples keep the suite steady.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
