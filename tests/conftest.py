"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester", "tests.browser_support"]  # browser: headless Chromium


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    """A path for a cassette that does not exist yet."""
    return tmp_path / "session.ndjson"
