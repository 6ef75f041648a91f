"""Every command that reads cassettes, over the corpus of broken ones (tests/broken_cassettes.py).

One set of rules, the same answer everywhere: a readable cassette is read by all six
commands, a malformed one refused by all with one line naming the file and the line (exit
status 2; ``check``: an ``error[cassette]`` finding and status 1), and a path that is not a
regular file refused before reading (status 2). Never a traceback, never more than 10 s.

The runs are in-process (``acp_tap.cli.main``), which is fast; a representative subset
(huge lines, deep nesting, special files, standard input) runs as real subprocesses too,
where memory is measured: under 300 MB each.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from acp_tap.cassette.reader import load
from acp_tap.cli import main
from acp_tap.matching.loader import load_for_replay
from acp_tap.replay.source import compile_path
from tests.broken_cassettes import CASES, SMALL_MAX_LINE, Case, Verdict
from tests.helpers import ACP_TAP

COMMANDS = ("show", "check", "diff", "redact", "replay", "rerun")
SECONDS = 10.0
RSS_MB = 300
AS_ROOT = os.geteuid() == 0


def argv(case: Case, command: str, path: Path | str, out: Path) -> list[str]:
    """The command line reading ``path`` (``out``: where redact writes)."""
    common = ["--max-line", str(SMALL_MAX_LINE)] if case.name == "line-over-max-line" else []
    if command == "diff":
        return ["diff", *common, str(path), str(path)]
    if command == "redact":
        return ["redact", *common, "-o", str(out), str(path)]
    if command == "rerun":
        return ["rerun", *common, str(path), "--", "true"]
    return [command, *common, str(path)]


def _make(case: Case, directory: Path) -> Path:
    if case.name == "unreadable" and AS_ROOT:
        pytest.skip("root reads a file of mode 000")
    return case.make(directory)


def expected_status(case: Case, command: str) -> set[int]:
    """The documented exit statuses for this case and command."""
    if case.verdict is Verdict.UNREADABLE:
        return {2}
    if case.verdict is Verdict.MALFORMED:
        return {1} if command == "check" else {2}
    if command in ("check", "replay", "rerun"):
        return {0, 1}  # what the traffic holds, or the client that never came
    return {0}


def check_answer(case: Case, command: str, path: Path, answer: tuple[int, str, str]) -> None:
    """The status is documented, errors are one line naming the file (and line)."""
    status, out, err = answer
    assert "Traceback" not in err and "Traceback" not in out
    assert status in expected_status(case, command), (status, out[-500:], err[-500:])
    if case.verdict is Verdict.READABLE:
        assert "error[cassette]" not in out
        return
    if command == "check" and case.verdict is Verdict.MALFORMED:
        (finding,) = [line for line in out.splitlines() if "error[cassette]" in line]
        assert finding.startswith(f"{path}:{case.line}: error[cassette]: ")
        assert case.reason in finding
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"acp-tap {command}: ")
    where = f"{path}:{case.line}: " if case.verdict is Verdict.MALFORMED else str(path)
    assert where in lines[0]
    assert case.reason in lines[0]


IN_PROCESS = [
    pytest.param(case, command, id=f"{case.name}-{command}")
    for case in CASES
    for command in COMMANDS
]


@pytest.mark.parametrize(("case", "command"), IN_PROCESS)
def test_each_reader_answers_the_same(
    case: Case, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command reads a readable case, refuses the others with one line; in-process.

    Once a cassette is read, replay and rerun serve real stdio: for a readable case, their
    loaders are called instead (the subprocess test below runs them whole).
    """
    path = _make(case, tmp_path)
    if case.verdict is Verdict.READABLE and command in ("replay", "rerun"):
        loaded = compile_path(path)[1] if command == "replay" else load_for_replay(path)
        assert loaded.header == load(path).header
        return
    out_file = tmp_path / "out" / "redacted.ndjson"
    start = time.monotonic()
    status = main(argv(case, command, path, out_file))
    assert time.monotonic() - start < SECONDS
    captured = capsys.readouterr()
    check_answer(case, command, path, (status, captured.out, captured.err))
    if command == "redact":  # a whole-file output: all of it, or nothing at all
        assert out_file.exists() == (case.verdict is Verdict.READABLE)
        left = [p.name for p in out_file.parent.iterdir()] if out_file.parent.exists() else []
        assert left == ([out_file.name] if out_file.exists() else [])
    if command == "show" and case.name == "escape-sequences":
        assert "\x1b" not in captured.out and "\r" not in captured.out
        assert "\\x1b]0;pwned\\x07\\x1b[2J\\rhidden\\x08\\u202etxet" in captured.out
        assert "\\x9b1m" in captured.out


def run_measured(
    args: list[str], directory: Path, stdin: Path | None = None
) -> tuple[int, str, str, float]:
    """Run ``acp-tap ARGS`` as a subprocess: its status, output, errors and peak RSS in MB,
    killing it if it outlives the time limit.

    The peak is the child's own VmHWM, sampled while it runs: ``wait4``'s ``ru_maxrss``
    would include what the child inherited from this (big, long-lived) process at fork."""
    out_path, err_path = directory / "stdout", directory / "stderr"
    with (
        open(stdin or os.devnull, "rb") as source,
        out_path.open("wb") as out,
        err_path.open("wb") as err,
    ):
        proc = subprocess.Popen([*ACP_TAP, *args], stdin=source, stdout=out, stderr=err)
    deadline = time.monotonic() + SECONDS * 3  # a loaded 2-core machine: some slack
    peak = 0
    while True:
        peak = max(peak, _hwm(proc.pid))
        pid, wait_status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            pytest.fail(f"acp-tap {' '.join(args)} did not end within {SECONDS * 3} s")
        time.sleep(0.005)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    text = (
        out_path.read_bytes().decode(errors="replace"),
        err_path.read_bytes().decode(errors="replace"),
    )
    return proc.returncode, *text, peak / 1024


def _hwm(pid: int) -> int:
    """The peak resident memory of process ``pid`` so far, in KiB (0 once it has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


SUBPROCESS_CASES = {
    "complete",
    "cut-mid-line",
    "huge-valid-line",
    "line-over-max-line",
    "deep-nesting",
    "fifo",
    "dev-zero",
}
SUBPROCESS = [
    pytest.param(case, command, id=f"{case.name}-{command}")
    for case in CASES
    if case.name in SUBPROCESS_CASES
    for command in COMMANDS
]


@pytest.mark.parametrize(("case", "command"), SUBPROCESS)
def test_each_reader_answers_the_same_as_a_process(
    case: Case, command: str, tmp_path: Path
) -> None:
    """As a real process too: the same answers, under 10 s and 300 MB of memory."""
    path = _make(case, tmp_path)
    start = time.monotonic()
    status, out, err, rss = run_measured(argv(case, command, path, tmp_path / "r.ndjson"), tmp_path)
    elapsed = time.monotonic() - start
    check_answer(case, command, path, (status, out, err))
    assert elapsed < SECONDS, elapsed
    assert rss < RSS_MB, rss


STDIN_CASES = ["complete", "cut-mid-line", "nul-bytes", "format-99"]


@pytest.mark.parametrize("name", STDIN_CASES)
@pytest.mark.parametrize("command", ["show", "check", "redact", "diff"])
def test_standard_input_is_read_by_the_same_rules(name: str, command: str, tmp_path: Path) -> None:
    """'-' reads standard input with the rules of a file, naming it '-'."""
    case = next(c for c in CASES if c.name == name)
    path = _make(case, tmp_path)
    args = {
        "show": ["show", "-"],
        "check": ["check", "-"],
        "redact": ["redact", "-", "-o", "-"],
        "diff": ["diff", "-", str(path)],
    }[command]
    status, out, err, rss = run_measured(args, tmp_path, stdin=path)
    if case.verdict is Verdict.MALFORMED and command != "check":
        assert f"acp-tap {command}: -:{case.line}: " in err
    check_answer(case, command, Path("-"), (status, out, err))
    assert rss < RSS_MB, rss
    if command == "redact" and case.verdict is Verdict.READABLE:
        assert out.startswith('{"type":"header"')


def test_an_endless_standard_input_is_cut_at_max_line(tmp_path: Path) -> None:
    """/dev/zero on standard input is one over-long line: an error, not an out-of-memory."""
    status, _, err, rss = run_measured(
        ["check", "--max-line", "64M", "-"], tmp_path, Path("/dev/zero")
    )
    assert status == 1
    assert "-:1: error[cassette]" not in err
    status, _, err, rss = run_measured(["show", "-"], tmp_path, Path("/dev/zero"))
    assert status == 2
    assert err.startswith("acp-tap show: -:1: line longer than 268435456 bytes")
    assert rss < RSS_MB, rss
