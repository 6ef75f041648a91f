"""Helpers for tests: run the real CLI as a subprocess with bounded time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

PYTHON = sys.executable
ACP_TAP = (PYTHON, "-m", "acp_tap")
TIMEOUT = 30


def python_agent(code: str) -> list[str]:
    """An argv running a tiny purpose-built agent written inline."""
    return [PYTHON, "-c", textwrap.dedent(code)]


def run_cli(
    args: Sequence[str | os.PathLike[str]],
    stdin: bytes = b"",
    *,
    timeout: float = TIMEOUT,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``acp-tap ARGS`` to completion, feeding ``stdin``."""
    return subprocess.run(
        [*ACP_TAP, *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        check=False,
    )


ECHO = python_agent(
    """
    import os
    while chunk := os.read(0, 65536):
        os.write(1, chunk)
    """
)
"""An agent that writes back every byte it reads: both directions carry the same stream."""
