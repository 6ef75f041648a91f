"""The optional C extensions: used when they were built, unless ``ACP_TAP_PURE_PYTHON`` is set.

Each one has a pure-Python reference next to the code that uses it, which gives the same
results (the tests check that they agree); without a C compiler, or with
``ACP_TAP_PURE_PYTHON=1``, acp-tap runs on the references alone, only slower.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

EXTENSIONS = ("acp_tap._plainlines", "acp_tap._framelines")
"""The C extensions the install tries to build."""


def native(module: str, name: str) -> Any:
    """``module.name`` if the extension ``module`` is built and allowed, else None."""
    if os.environ.get("ACP_TAP_PURE_PYTHON"):
        return None
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None


def fast_path() -> str | None:
    """None when the native fast path is active; else why not, in a few words."""
    if os.environ.get("ACP_TAP_PURE_PYTHON"):
        return "ACP_TAP_PURE_PYTHON is set"
    missing = []
    for module in EXTENSIONS:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        return f"{', '.join(missing)} not built (no C compiler when acp-tap was installed)"
    return None


def describe() -> str:
    """Whether the native fast path is active, for ``acp-tap --version`` and ``record``."""
    why = fast_path()
    if why is None:
        return "native fast path: active"
    return (
        f"native fast path: not active ({why}); pure Python, so recording small lines is "
        "several times slower"
    )
