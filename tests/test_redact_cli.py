"""``acp-tap redact``: the recording rules applied to a cassette that already exists."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

from acp_tap.cassette.reader import load
from tests.helpers import ACP_TAP, ECHO, TIMEOUT, run_cli
from tests.inspect_support import Item, cassette_lines, prelude

SECRET_SESSION = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "session/new",
            "params": {
                "cwd": "/w",
                "mcpServers": [
                    {
                        "name": "gh",
                        "command": "gh-mcp",
                        "args": [],
                        "env": [{"name": "GH_TOKEN", "value": "ghp_x"}],
                    }
                ],
            },
        }
    ).encode()
    + b"\n"
    + b"log: password=hunter2\n"
)


def recorded_without_redaction(path: Path) -> None:
    """A cassette whose secrets were kept (--no-redact)."""
    done = run_cli(["record", "-q", "--no-redact", "-o", path, "--", *ECHO], SECRET_SESSION)
    assert done.returncode == 0
    assert "ghp_x" in path.read_text()


def test_redact_to_stdout_applies_defaults_and_patterns(cassette: Path) -> None:
    """Defaults and --redact patterns are applied; the header says which rules now hold."""
    recorded_without_redaction(cassette)
    done = run_cli(["redact", cassette, "--redact", "hunter[0-9]"])
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "ghp_x" not in text
    assert "hunter2" not in text
    header = json.loads(text.splitlines()[0])
    assert header["redaction"][:2] == ["default-places", "credential-keys"]
    assert header["redaction"][-1] == "regex#1"
    assert "hunter" not in text.splitlines()[0]
    frames = [json.loads(line) for line in text.splitlines()[1:-1]]
    assert frames[0]["redacted"] == ["params.mcpServers[0].env[0].value"]
    assert frames[1]["redacted"] == ["text"]
    assert frames[1]["text"] == "log: password=[REDACTED]"


def test_redact_in_place_is_atomic_and_private(cassette: Path) -> None:
    """--in-place replaces the cassette with a redacted one of mode 0600, same frame count."""
    recorded_without_redaction(cassette)
    before = load(cassette)
    done = run_cli(["redact", "--in-place", cassette])
    assert done.returncode == 0, done.stderr
    after = load(cassette)
    assert "ghp_x" not in cassette.read_text()
    assert len(after.frames) == len(before.frames)
    assert after.footer == before.footer
    assert stat.S_IMODE(cassette.stat().st_mode) == 0o600
    assert [p.name for p in cassette.parent.iterdir()] == [cassette.name]


def test_redact_to_new_file_refuses_to_overwrite(cassette: Path, tmp_path: Path) -> None:
    """-o FILE is never overwritten without --force (exit 73)."""
    recorded_without_redaction(cassette)
    target = tmp_path / "out.ndjson"
    target.write_text("keep")
    done = run_cli(["redact", cassette, "-o", target])
    assert done.returncode == 73
    assert target.read_text() == "keep"
    assert run_cli(["redact", cassette, "-o", target, "--force"]).returncode == 0
    assert "ghp_x" not in target.read_text()


def test_redact_with_no_rule_is_a_usage_error(cassette: Path) -> None:
    """--no-redact without other rules would do nothing: refused with exit 2."""
    recorded_without_redaction(cassette)
    done = run_cli(["redact", "--no-redact", cassette])
    assert done.returncode == 2
    assert b"no redaction rule" in done.stderr


def test_redact_reports_a_broken_cassette_with_its_line(tmp_path: Path) -> None:
    """A malformed cassette is named with file:line and nothing is replaced."""
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"type":"header"}\nnot json\n')
    done = run_cli(["redact", "--in-place", bad])
    assert done.returncode == 2
    assert f"{bad}:".encode() in done.stderr
    assert bad.read_text() == '{"type":"header"}\nnot json\n'


def long_cassette(path: Path, lines: int = 3000) -> Path:
    """A valid cassette far bigger than a pipe's buffer."""
    logs: list[Item] = [("err", f"log line {n} " + "x" * 60) for n in range(lines)]
    path.write_bytes(b"".join(cassette_lines([*prelude(), *logs])))
    return path


def test_redact_to_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """`acp-tap redact X | head -c 100` ends without a traceback when the pipe closes."""
    path = long_cassette(tmp_path / "long.ndjson")
    proc = subprocess.Popen(
        [*ACP_TAP, "redact", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()
    _, err = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, err) == (0, b"")


def test_a_failed_redaction_leaves_no_output_and_the_retry_works(tmp_path: Path) -> None:
    """A cassette broken half-way leaves no partial -o FILE behind: once it is fixed, the same
    command succeeds (no 'already exists')."""
    path = long_cassette(tmp_path / "c.ndjson")
    good = path.read_bytes()
    lines = good.splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:2000], b"garbage\n", *lines[2000:]]))
    out = tmp_path / "shared.ndjson"
    failed = run_cli(["redact", path, "-o", out])
    assert failed.returncode == 2
    assert (
        failed.stderr.decode()
        == f"acp-tap redact: {path}:2001: not a JSON line (Expecting value: line 1 column 1 (char 0))\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.ndjson"]
    path.write_bytes(good)
    assert run_cli(["redact", path, "-o", out]).returncode == 0
    assert load(out).frames == load(path).frames


def test_outputs_are_never_written_through_a_symlink(tmp_path: Path, cassette: Path) -> None:
    """-o LINK and --in-place LINK are refused (73), whatever --force says; the file the link
    points to is untouched."""
    recorded_without_redaction(cassette)
    before = cassette.read_bytes()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.ndjson"
    link.symlink_to(victim)
    for args in (["-o", str(link)], ["-o", str(link), "--force"]):
        done = run_cli(["redact", cassette, *args])
        assert done.returncode == 73
        assert b"symbolic link" in done.stderr
    assert victim.read_bytes() == b"precious"
    alias = tmp_path / "alias.ndjson"
    alias.symlink_to(cassette)
    done = run_cli(["redact", "--in-place", alias])
    assert done.returncode == 73
    assert done.stderr.startswith(b"acp-tap redact: ") and b"symbolic link" in done.stderr
    assert cassette.read_bytes() == before and alias.is_symlink()


def test_redact_reads_standard_input_and_writes_standard_output(cassette: Path) -> None:
    """`acp-tap redact - -o -` is a filter; --in-place needs a file."""
    recorded_without_redaction(cassette)
    done = run_cli(["redact", "-", "-o", "-"], cassette.read_bytes())
    assert done.returncode == 0, done.stderr
    assert b"ghp_x" not in done.stdout
    assert done.stdout.startswith(b'{"type":"header"')
    refused = run_cli(["redact", "--in-place", "-"])
    assert refused.returncode == 2
    assert b"--in-place needs a cassette file" in refused.stderr


def test_a_cassette_cut_short_is_redacted_up_to_the_cut(cassette: Path, tmp_path: Path) -> None:
    """The half-written last line a crash leaves is dropped with a warning; the rest is kept."""
    recorded_without_redaction(cassette)
    lines = cassette.read_bytes().splitlines(keepends=True)
    cut = tmp_path / "cut.ndjson"
    cut.write_bytes(b"".join(lines[:-2]) + lines[-2][:20])
    out = tmp_path / "out.ndjson"
    done = run_cli(["redact", cut, "-o", out])
    assert done.returncode == 0
    assert f"{cut}:{len(lines) - 1}: last line cut short".encode() in done.stderr
    assert len(load(out).frames) == len(lines) - 3
