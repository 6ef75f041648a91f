"""Shared fixtures, and the hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["pytester", "tests.browser_support"]  # browser: headless Chromium

settings.register_profile("ci", deadline=None, print_blob=True)
"""No per-example deadline: a loaded CI machine must not fail a property test on time."""
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than there are CPUs. Most tests wait on subprocesses
    (a client, a replay, a browser), so a third worker on a 2-core machine uses the time
    two leave idle (the suite: 3.0 min instead of 3.8-4.2)."""
    return (os.cpu_count() or 1) + 1


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    """A path for a cassette that does not exist yet."""
    return tmp_path / "session.ndjson"
