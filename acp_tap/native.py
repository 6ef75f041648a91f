"""The optional C extensions: used when they were built, unless ``ACP_TAP_PURE_PYTHON`` is set.

Each one has a pure-Python reference next to the code that uses it, which gives the same
results (the tests check that they agree); without a C compiler, or with
``ACP_TAP_PURE_PYTHON=1``, acp-tap runs on the references alone, only slower.
"""

from __future__ import annotations

import importlib
import os
from typing import Any


def native(module: str, name: str) -> Any:
    """``module.name`` if the extension ``module`` is built and allowed, else None."""
    if os.environ.get("ACP_TAP_PURE_PYTHON"):
        return None
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None
