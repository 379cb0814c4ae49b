"""Shared test setup: hypothesis profiles, the corpus location, oracle requirements."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def require_oracle(reason: str) -> None:
    """Skip with ``reason`` — unless SEGCHECK_REQUIRE_ORACLES is set (CI), then fail: oracle
    tests that silently skip in CI would prove nothing."""
    if os.environ.get("SEGCHECK_REQUIRE_ORACLES"):
        pytest.fail(f"oracle test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS
