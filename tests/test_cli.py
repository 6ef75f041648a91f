"""The command line as a whole: one error prefix, each command's own usage, help with examples,
the version and the native fast path, and the demo's whole-file output."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest

from acp_tap.cli import SUBCOMMANDS, build_parser, main
from tests.helpers import PYTHON, run_cli


def _commands() -> list[str]:
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(action.choices)


COMMANDS = _commands()


def test_every_command_is_listed() -> None:
    """The commands the tests walk through are all the CLI has."""
    assert len(COMMANDS) == len(SUBCOMMANDS) == 11


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_page_has_examples_and_no_markup(
    command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each --help shows at least one example command line, and no reStructuredText."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"] if command else ["--help"])
    assert info.value.code == 0
    page = capsys.readouterr().out
    assert re.search(r"^examples?:$", page, re.MULTILINE), page
    example = f"acp-tap {command or ''}".rstrip()
    assert re.search(rf"^  (\S+=\S+ )?{re.escape(example)}\b", page, re.MULTILINE), page
    assert "``" not in page
    assert "exit status" in page or command in ("demo-agent",)


def test_errors_carry_the_command_name(tmp_path: Path) -> None:
    """An error is one line, `acp-tap COMMAND: ...`, whichever command raised it."""
    missing = tmp_path / "nope.ndjson"
    for command in ("replay", "show", "redact"):
        done = run_cli([command, missing])
        assert done.returncode == 2
        lines = done.stderr.decode().splitlines()
        assert lines == [
            f"acp-tap {command}: cannot read cassette {missing}: No such file or directory; "
            "record one with 'acp-tap record -o FILE -- AGENT...'"
        ]


def test_an_unknown_option_shows_the_commands_own_usage() -> None:
    """`record --bogus -- cat` is record's usage error, not the top-level one."""
    done = run_cli(["record", "--bogus", "--", "cat"])
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith("usage: acp-tap record [options] -- CMD [ARGS...]\n")
    assert err.endswith("acp-tap record: error: unrecognized arguments: --bogus\n")


def test_a_missing_agent_is_not_announced_as_being_recorded(tmp_path: Path) -> None:
    """No 'recording ... to FILE' for an agent that cannot start; no cassette either."""
    done = run_cli(["record", "-o", tmp_path / "c.ndjson", "--", "no-such-agent-here"])
    assert done.returncode == 127
    assert done.stderr.decode() == (
        "acp-tap record: agent command not found: 'no-such-agent-here'; "
        "check PATH or give a full path\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("pure", "words"),
    [
        pytest.param("", "native fast path: active", id="native"),
        pytest.param("1", "native fast path: not active (ACP_TAP_PURE_PYTHON is set)", id="pure"),
    ],
)
def test_version_says_whether_the_native_path_is_active(pure: str, words: str) -> None:
    """`acp-tap --version` names the version and whether the C fast path is in use."""
    env = {**os.environ, "ACP_TAP_PURE_PYTHON": pure}
    done = run_cli(["--version"], env=env)
    assert done.returncode == 0
    if not pure and b"not built" in done.stdout:
        pytest.skip("the C extensions are not built here")
    assert done.stdout.decode().startswith(f"acp-tap 0.1.0 ({words}")


def test_record_says_once_when_the_native_path_is_not_active(tmp_path: Path) -> None:
    """Without the fast path, record says so once on stderr (never with -q)."""
    env = {**os.environ, "ACP_TAP_PURE_PYTHON": "1"}
    agent = [PYTHON, "-c", "pass"]
    done = run_cli(["record", "-o", tmp_path / "a.ndjson", "--", *agent], env=env)
    notes = [line for line in done.stderr.decode().splitlines() if "native fast path" in line]
    assert notes == [
        "acp-tap record: note: native fast path: not active (ACP_TAP_PURE_PYTHON is set); pure "
        "Python, so recording small lines is several times slower; see README.md, Performance"
    ]
    quiet = run_cli(["record", "-q", "-o", tmp_path / "b.ndjson", "--", *agent], env=env)
    assert quiet.stderr == b""


def test_demo_never_replaces_a_file_without_force(tmp_path: Path) -> None:
    """`acp-tap demo -o FILE` refuses an existing FILE (73) and a symlink; with --force it
    replaces FILE with a complete cassette."""
    target = tmp_path / "demo.ndjson"
    target.write_bytes(b"keep")
    done = run_cli(["demo", "-o", target], cwd=tmp_path)
    assert done.returncode == 73
    assert done.stderr.decode().startswith(f"acp-tap demo: {target} already exists")
    assert target.read_bytes() == b"keep"
    link = tmp_path / "link.ndjson"
    link.symlink_to(target)
    assert run_cli(["demo", "-o", link, "--force"], cwd=tmp_path).returncode == 73
    assert target.read_bytes() == b"keep"
    forced = run_cli(["demo", "-o", target, "--force"], cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert target.read_bytes().startswith(b'{"type":"header"')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.ndjson", "link.ndjson"]
