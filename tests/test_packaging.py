"""Packaging: what the package imports is declared, with floors that can be installed, and
the README's set-up line is the one CI runs."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

PLUGIN_ONLY = {"pytest"}
"""Imported only by the pytest plugin, which pytest itself loads (so it is there)."""

YANKED = {"cattrs": {"23.2.0"}}
"""Releases withdrawn from PyPI: a floor must not admit them as its lowest version."""


def _requirement(text: str) -> tuple[str, str | None]:
    """A requirement's normalised name and its ``>=`` floor (if any)."""
    m = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[[^]]*\])?\s*(?:>=\s*([0-9.]+))?.*", text)
    assert m is not None, text
    return m.group(1).lower().replace("_", "-"), m.group(2)


def _version(text: str) -> tuple[int, ...]:
    """A release number as a tuple, without trailing zeros (23.2 == 23.2.0)."""
    parts = [int(part) for part in text.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


DECLARED = dict(_requirement(r) for r in PROJECT["dependencies"])
OPTIONAL = dict(_requirement(r) for r in PROJECT["optional-dependencies"]["sdk"])
"""The extra for in-process agents of the official SDK (imported only to serve one)."""


def _imported_distributions() -> set[str]:
    """The distributions providing the third-party modules that acp_tap imports."""
    modules: set[str] = set()
    for path in (ROOT / "acp_tap").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"acp_tap"} - PLUGIN_ONLY
    providers = importlib.metadata.packages_distributions()
    return {providers[m][0].lower().replace("_", "-") for m in third_party}


def test_every_imported_distribution_is_declared() -> None:
    """Each third-party module the package imports comes from a declared dependency."""
    imported = _imported_distributions()
    assert "referencing" in imported
    assert imported - set(DECLARED) - set(OPTIONAL) == set()
    assert set(OPTIONAL) == {"agent-client-protocol"}


def test_attrs_floor_is_installable_with_trio() -> None:
    """The attrs floor is at least what trio requires (else the floor cannot be installed)."""
    needed = [
        _requirement(r)[1]
        for r in importlib.metadata.requires("trio") or ()
        if r.startswith("attrs")
    ]
    floor = DECLARED["attrs"]
    assert floor is not None
    assert all(_version(floor) >= _version(n) for n in needed if n is not None), needed


def test_floors_are_not_yanked_releases() -> None:
    """No floor's lowest admitted version is a yanked release."""
    for dist, yanked in YANKED.items():
        floor = DECLARED[dist]
        assert floor is not None
        assert not any(_version(floor) <= _version(y) for y in yanked), (dist, floor)


def test_tools_for_linting_are_in_the_dev_extra() -> None:
    """ruff, mypy and the type stubs are development tools, not test dependencies."""
    extras = PROJECT["optional-dependencies"]
    dev = {_requirement(r)[0] for r in extras["dev"]}
    test = {_requirement(r)[0] for r in extras["test"]}
    assert {"ruff", "mypy", "types-jsonschema"} <= dev
    assert not dev & test


def test_readme_setup_line_is_the_one_ci_runs() -> None:
    """README.md's set-up command and .ci/run's install line are the same line."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    setup = next(line for line in ci.splitlines() if "pip install" in line)
    assert "'.[test,dev]'" in setup
    assert f"\n{setup}\n" in readme


def test_ci_runs_property_tests_without_a_deadline() -> None:
    """With CI set, tests/conftest.py loads the 'ci' hypothesis profile: no deadline, so a
    loaded CI machine cannot fail a property test on time."""
    code = (
        "import tests.conftest; from hypothesis import settings; print(settings.default.deadline)"
    )
    env = {**os.environ, "CI": "true"}
    env.pop("HYPOTHESIS_PROFILE", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "None", done.stderr
