"""Structural rules, kept by tests: the sans-IO core never imports trio (it is reusable from
asyncio and testable without I/O), the two replays share only :mod:`acp_tap.matching`, and
modules stay small."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import acp_tap

ROOT = Path(__file__).resolve().parent.parent

SHELL = {
    "acp_tap.cli",
    "acp_tap.record",
    "acp_tap.record_faults",
    "acp_tap.stdio",
    "acp_tap.testing",
    "acp_tap.testing_asyncio",
    "acp_tap.golden",
    "acp_tap.pytest_plugin",
    "acp_tap.demo.agent",
    "acp_tap.demo.client",
    "acp_tap.demo.protocol",
    "acp_tap.demo.scenarios",
    "acp_tap.replay.agent",
    "acp_tap.replay.tap",
    "acp_tap.rerun.client",
    "acp_tap.torture.run",
}
"""The trio shell: the only modules allowed to import trio (also enforced by ruff's TID251)."""


def core_modules() -> list[str]:
    """Every acp_tap module that is not part of the trio shell (commands import lazily)."""
    names = [m.name for m in pkgutil.walk_packages(acp_tap.__path__, "acp_tap.")]
    return sorted(n for n in names if n not in SHELL and n != "acp_tap.__main__")


ASYNCIO_SHELL = (
    "acp_tap.asyncio_streams",
    "acp_tap.sdk",
    "acp_tap.replay.asyncio_agent",
    "acp_tap.rerun.asyncio_client",
)
"""The asyncio shell: core modules as far as trio goes (it never imports trio either)."""


def test_core_modules_do_not_import_trio() -> None:
    """Importing every core module (and every subcommand's parser), the asyncio shell
    included, leaves trio unimported, and the optional ACP SDK too."""
    modules = core_modules()
    assert "acp_tap.replay.engine" in modules
    assert "acp_tap.rerun.engine" in modules
    assert "acp_tap.matching.index" in modules
    assert "acp_tap.cassette.recorder" in modules
    assert set(ASYNCIO_SHELL) <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('trio' in sys.modules, 'acp' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False False", done.stderr


MAX_LINES = 400
"""The longest a module under acp_tap/ or tools/ may grow (tests may be longer)."""


def test_modules_stay_under_the_line_limit() -> None:
    """No Python module of the package or of tools/ is over MAX_LINES lines."""
    modules = sorted([*(ROOT / "acp_tap").rglob("*.py"), *(ROOT / "tools").rglob("*.py")])
    assert len(modules) > 50
    sizes = {str(m.relative_to(ROOT)): len(m.read_bytes().splitlines()) for m in modules}
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert too_long == {}, f"split these along a named seam (limit {MAX_LINES} lines)"


def imported(package: str) -> dict[str, set[str]]:
    """The acp_tap modules each module of ``package`` imports, at any depth of its code."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / "acp_tap" / package).glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module is not None:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        out[f"acp_tap.{package}.{path.stem}"] = {n for n in names if n.startswith("acp_tap.")}
    return out


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        pytest.param("replay", ("rerun",), id="replay imports no rerun"),
        pytest.param("rerun", ("replay",), id="rerun imports no replay"),
        pytest.param("matching", ("replay", "rerun"), id="matching imports neither replay"),
    ],
)
def test_the_two_replays_share_only_matching(package: str, forbidden: tuple[str, ...]) -> None:
    """The fake agent (replay/) and the fake client (rerun/) never import each other; what
    both use lives in matching/, which imports neither."""
    modules = imported(package)
    assert len(modules) > 3
    packages = [f"acp_tap.{name}" for name in forbidden]
    crossing = {
        module: sorted(n for n in names for p in packages if n == p or n.startswith(p + "."))
        for module, names in modules.items()
    }
    assert {m: names for m, names in crossing.items() if names} == {}
