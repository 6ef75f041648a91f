"""README.md's examples run as written, in a fresh project with only what the README installs.

A wheel of this checkout is built once and installed (not editable) into a new virtual
environment; the code blocks then run in order in a scratch project holding a copy of
``fixtures/``: each line of a ``sh`` block as a shell command (exit status 0, or the one its
comment documents as "exit status N"), and a block preceded by
``<!-- readme-test: file NAME -->`` written to NAME. A block that cannot run unattended
(a real agent, a client on stdin) is preceded by ``<!-- readme-test: skip (why) -->``.

Building and installing takes tens of seconds, so outside CI the run is skipped unless
``ACP_TAP_README_TEST=1``; CI (``CI=true``) always runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

_BLOCK = re.compile(
    r"^(?:<!-- readme-test: (?P<how>skip|file) (?P<arg>[^\n]*?) -->\n)?"
    r"```(?P<lang>\w*)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
_STATUS = re.compile(r"#.*\bexit status (\d+)")
RUNNABLE = {"sh"}
LANGUAGES = {"sh", "python", "toml", "ini", "json", "text"}


@attrs.frozen
class Block:
    """One fenced code block of the README, with what the test does with it."""

    line: int
    lang: str
    how: str  # "run", "file" or "skip"
    arg: str  # the file name, or why it is skipped
    body: str


def readme_blocks() -> list[Block]:
    """Every fenced code block of README.md, in order."""
    text = README.read_text()
    return [
        Block(
            text.count("\n", 0, m.start("lang")) + 1,
            m.group("lang"),
            m.group("how") or "run",
            m.group("arg") or "",
            m.group("body"),
        )
        for m in _BLOCK.finditer(text)
    ]


def test_every_readme_block_is_run_written_or_skipped_with_a_reason() -> None:
    """Each block is a shell example that runs, a file the examples use, or is skipped with a
    reason; nothing is silently left out."""
    blocks = readme_blocks()
    assert len(blocks) >= 10
    for block in blocks:
        assert block.lang in LANGUAGES, block
        if block.how == "run":
            assert block.lang in RUNNABLE, f"README.md:{block.line}: mark it file or skip"
        elif block.how == "skip":
            assert re.fullmatch(r"\(.+\)", block.arg), f"README.md:{block.line}: say why"
        else:
            assert re.fullmatch(r"[\w.-]+(/[\w.-]+)*", block.arg), block
    ran = [b for b in blocks if b.how == "run"]
    assert any("acp-tap demo" in b.body for b in ran)
    assert any("pytest test_example.py" in b.body for b in ran)


def _commands(block: Block) -> list[tuple[str, int]]:
    """The shell commands of a block, each with the exit status its comment documents."""
    commands = []
    for line in block.body.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            status = _STATUS.search(line)
            commands.append((line, int(status.group(1)) if status else 0))
    return commands


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A virtual environment with this checkout installed from a wheel (not editable), and
    the environment to run commands in it."""
    base = tmp_path_factory.mktemp("readme")
    wheels = base / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        timeout=300,
    )
    (wheel,) = wheels.glob("acp_tap-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], timeout=300)
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "TERM")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PIP_")}
    env |= {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    return base, env


@pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("ACP_TAP_README_TEST")),
    reason="slow (builds a wheel and a virtual environment): runs in CI, or with "
    "ACP_TAP_README_TEST=1",
)
@pytest.mark.timeout(900)
def test_readme_examples_run_verbatim(fresh_install: tuple[Path, dict[str, str]]) -> None:
    """Every runnable README example succeeds, in order, in a fresh non-editable install."""
    base, env = fresh_install
    project = base / "project"
    shutil.copytree(ROOT / "fixtures", project / "fixtures")
    failures, ran = [], 0
    for block in readme_blocks():
        if block.how == "file":
            (project / block.arg).parent.mkdir(parents=True, exist_ok=True)
            (project / block.arg).write_text(block.body)
            continue
        if block.how == "skip":
            continue
        for command, expected in _commands(block):
            ran += 1
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", command],
                cwd=project,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != expected or "Traceback" in done.stderr:
                failures.append(
                    f"README.md:{block.line}: {command!r} exited {done.returncode} "
                    f"(expected {expected})\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
                )
    assert failures == []
    assert ran >= 10  # acp-tap demo, the pytest example, rerun, show, check, diff, redact...
    assert (project / "shared.ndjson").is_file()  # the redact example wrote its output
