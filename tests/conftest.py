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


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    """A path for a cassette that does not exist yet."""
    return tmp_path / "session.ndjson"
