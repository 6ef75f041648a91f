"""The sans-IO core never imports trio: it is reusable from asyncio and testable without I/O."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import acp_tap

SHELL = {
    "acp_tap.cli",
    "acp_tap.record",
    "acp_tap.stdio",
    "acp_tap.demo.agent",
    "acp_tap.demo.client",
    "acp_tap.demo.protocol",
    "acp_tap.demo.scenarios",
    "acp_tap.testing",
    "acp_tap.pytest_plugin",
    "acp_tap.replay.agent",
    "acp_tap.rerun.client",
    "acp_tap.replay.tap",
}
"""The trio shell: the only modules allowed to import trio (also enforced by ruff's TID251)."""


def core_modules() -> list[str]:
    """Every acp_tap module that is not part of the trio shell (commands import lazily)."""
    names = [m.name for m in pkgutil.walk_packages(acp_tap.__path__, "acp_tap.")]
    return sorted(n for n in names if n not in SHELL and n != "acp_tap.__main__")


def test_core_modules_do_not_import_trio() -> None:
    """Importing every core module (and every subcommand's parser) leaves trio unimported."""
    modules = core_modules()
    assert "acp_tap.replay.engine" in modules
    assert "acp_tap.cassette.recorder" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('trio' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False", done.stderr
