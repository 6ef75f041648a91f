"""acp-tap: record and replay Agent Client Protocol sessions."""

from __future__ import annotations

__version__ = "0.1.0"
"""The package version (pyproject reads it from here; importlib.metadata costs ~25 ms)."""

__all__ = ["__version__"]
