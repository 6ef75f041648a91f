"""``acp-tap redact``: the recording rules applied to a cassette that already exists."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from acp_tap.cassette.reader import load
from tests.helpers import ECHO, run_cli

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
