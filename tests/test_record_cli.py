"""``acp-tap record`` as a real subprocess: relaying, recording, lifecycle, failures."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from acp_tap.cassette.model import Direction, Eol, Payload
from acp_tap.cassette.reader import load
from tests.helpers import ACP_TAP, ECHO, PYTHON, TIMEOUT, python_agent, run_cli


def wire(path: Path, direction: Direction) -> bytes:
    """The bytes a cassette says travelled on one stream."""
    return b"".join(f.wire_bytes for f in load(path).frames if f.dir is direction)


def test_relays_and_records_both_directions(cassette: Path) -> None:
    """Client bytes reach the agent and its answers reach the client, unchanged and recorded."""
    lines = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n{"jsonrpc":"2.0","method":"x"}\n'
    done = run_cli(["record", "-q", "-o", cassette, "--", *ECHO], lines)
    assert done.returncode == 0, done.stderr
    assert done.stdout == lines
    assert done.stderr == b""
    recorded = load(cassette)
    assert recorded.footer is not None
    assert recorded.footer.closed_first == "client"
    assert recorded.footer.frames == {"c2a": 2, "a2c": 2, "err": 0}
    assert [f.seq for f in recorded.frames] == [1, 2, 3, 4] or sorted(
        f.seq for f in recorded.frames
    ) == [1, 2, 3, 4]
    first = next(f for f in recorded.frames if f.dir is Direction.CLIENT_TO_AGENT)
    assert first.message() == {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    assert wire(cassette, Direction.CLIENT_TO_AGENT) == lines
    assert wire(cassette, Direction.AGENT_TO_CLIENT) == lines
    assert recorded.header.argv == tuple(ECHO)
    assert recorded.header.cwd == os.getcwd()


def test_cassette_embeds_json_readably(cassette: Path) -> None:
    """A JSON line is embedded as JSON (not an escaped string) and keeps its exact bytes."""
    line = b'{"id": 1,  "method":"x", "params":{"t":"\\u00e9"}}\n'
    run_cli(["record", "-q", "-o", cassette, "--", *ECHO], line)
    text = cassette.read_bytes().split(b"\n")[1]
    assert text.endswith(b',"msg":{"id": 1,  "method":"x", "params":{"t":"\\u00e9"}}}')


def test_hostile_lines_are_carried_and_flagged(cassette: Path) -> None:
    """Non-JSON, invalid UTF-8, blank, CRLF, BOM and an unterminated last line survive exactly."""
    data = (
        b"log line on stdout\n\xff\xfe binary\n\n"
        b'{"a":1}\r\n\xef\xbb\xbf{"bom":true}\n{"nan": NaN}\n[1,2]\n"str"\nlast without newline'
    )
    done = run_cli(["record", "-q", "-o", cassette, "--", *ECHO], data)
    assert done.stdout == data
    frames = [f for f in load(cassette).frames if f.dir is Direction.CLIENT_TO_AGENT]
    assert [f.payload for f in frames] == [
        Payload.TEXT,
        Payload.BINARY,
        Payload.TEXT,
        Payload.JSON,
        Payload.TEXT,
        Payload.TEXT,
        Payload.JSON,
        Payload.JSON,
        Payload.TEXT,
    ]
    assert frames[3].eol is Eol.CRLF
    assert frames[-1].eol is Eol.NONE
    assert b"".join(f.wire_bytes for f in frames) == data


def test_stderr_is_passed_through_and_recorded(cassette: Path) -> None:
    """The agent's stderr reaches our stderr and is recorded as its own stream."""
    agent = python_agent(
        """
        import sys
        sys.stderr.write("starting up\\n"); sys.stderr.flush()
        sys.stdin.read()
        sys.stderr.write("bye\\n")
        """
    )
    done = run_cli(["record", "-q", "-o", cassette, "--", *agent], b"")
    assert done.stderr == b"starting up\nbye\n"
    assert wire(cassette, Direction.AGENT_STDERR) == b"starting up\nbye\n"
    assert all(f.payload is Payload.TEXT for f in load(cassette).frames)


def test_exit_status_of_the_agent_is_the_proxys(cassette: Path) -> None:
    """When the client closes stdin the agent's stdin closes; its exit status becomes ours."""
    agent = python_agent("import sys; sys.stdin.read(); print('done'); sys.exit(7)")
    done = run_cli(["record", "-q", "-o", cassette, "--", *agent], b"x\n")
    assert done.returncode == 7
    assert done.stdout == b"done\n"
    footer = load(cassette).footer
    assert footer is not None
    assert (footer.status, footer.exit_code, footer.signal, footer.closed_first) == (
        7,
        7,
        None,
        "client",
    )


def test_agent_exit_first_drains_output(cassette: Path) -> None:
    """An agent that exits on its own (client still connected) has all its output relayed."""
    agent = python_agent("import sys; sys.stdout.write('x' * 300000 + '\\n'); sys.exit(3)")
    with subprocess.Popen(
        [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        out = proc.stdout.read()  # stdin stays open: the agent ends the session
        proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 3
    assert out == b"x" * 300000 + b"\n"
    footer = load(cassette).footer
    assert footer is not None
    assert footer.closed_first == "agent"


def test_agent_killed_by_signal_gives_128_plus_n(cassette: Path) -> None:
    """An agent killed by signal N makes the proxy exit 128+N."""
    agent = python_agent("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    done = run_cli(["record", "-q", "-o", cassette, "--", *agent])
    assert done.returncode == 128 + 9
    footer = load(cassette).footer
    assert footer is not None
    assert (footer.status, footer.signal, footer.exit_code) == (137, 9, None)


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name
)
def test_signals_are_forwarded_to_the_agent(cassette: Path, tmp_path: Path, signum: int) -> None:
    """SIGINT/SIGTERM/SIGHUP sent to the proxy reach the agent, which may exit as it likes."""
    marker = tmp_path / "got"
    agent = python_agent(
        f"""
        import signal, sys, time
        def handler(n, frame):
            open({str(marker)!r}, "w").write(str(n)); sys.exit(5)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, handler)
        print("ready", flush=True)
        time.sleep(30)
        """
    )
    with subprocess.Popen(
        [*ACP_TAP, "record", "-q", "--grace", "20", "-o", str(cassette), "--", *agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signum)
        proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 5
    assert marker.read_text() == str(int(signum))
    footer = load(cassette).footer
    assert footer is not None
    assert footer.closed_first == "signal"


def test_agent_ignoring_sigterm_is_killed_after_grace(cassette: Path) -> None:
    """An agent that ignores the forwarded signal is killed after --grace; status 137."""
    agent = python_agent(
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(30)
        """
    )
    with subprocess.Popen(
        [*ACP_TAP, "record", "-q", "--grace", "0.3", "-o", str(cassette), "--", *agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        started = time.monotonic()
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 137
    assert time.monotonic() - started < 10


def test_sigkilled_proxy_leaves_a_valid_cassette_and_no_orphan(cassette: Path) -> None:
    """After SIGKILL the cassette is readable up to its last frame and the agent exits on EOF."""
    with subprocess.Popen(
        [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *ECHO],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"initialize"}\n')
        proc.stdin.flush()
        assert proc.stdout.readline().startswith(b'{"jsonrpc"')
        deadline = time.monotonic() + 5
        while len(cassette.read_bytes().splitlines()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        agent_pids = _children(proc.pid)
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    recorded = load(cassette)
    assert recorded.footer is None
    assert [f.dir for f in recorded.frames] == [
        Direction.CLIENT_TO_AGENT,
        Direction.AGENT_TO_CLIENT,
    ]
    assert any("cut short" in w for w in recorded.warnings)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in agent_pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(_alive(pid) for pid in agent_pids)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_agent_not_found_exits_127_without_cassette(cassette: Path) -> None:
    """A missing agent is named in a one-line error, exit 127, and no cassette is left."""
    done = run_cli(["record", "-o", cassette, "--", "no-such-agent-xyz", "acp"], b"never read\n")
    assert done.returncode == 127
    assert done.stderr.decode().strip().splitlines()[-1] == (
        "acp-tap record: agent command not found: 'no-such-agent-xyz'; check PATH or give a full path"
    )
    assert done.stdout == b""
    assert not cassette.exists()


def test_agent_not_executable_exits_126(cassette: Path, tmp_path: Path) -> None:
    """An agent file without execute permission is reported with exit 126."""
    script = tmp_path / "agent.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    done = run_cli(["record", "-q", "-o", cassette, "--", script])
    assert done.returncode == 126
    assert b"cannot be executed" in done.stderr
    assert not cassette.exists()


def test_existing_cassette_is_not_overwritten_without_force(cassette: Path) -> None:
    """An existing file is kept (exit 73) unless --force, and the agent is never started."""
    cassette.write_text("precious")
    done = run_cli(["record", "-o", cassette, "--", *ECHO], b"x\n")
    assert done.returncode == 73
    assert b"already exists" in done.stderr
    assert b"--force" in done.stderr
    assert cassette.read_text() == "precious"
    forced = run_cli(["record", "-q", "--force", "-o", cassette, "--", *ECHO], b"x\n")
    assert forced.returncode == 0
    assert load(cassette).frames[0].raw == b"x"


def test_cassette_is_created_with_mode_0600(cassette: Path) -> None:
    """Cassettes may hold secrets: only the owner can read them."""
    run_cli(["record", "-q", "-o", cassette, "--", *ECHO], b"x\n")
    assert stat.S_IMODE(cassette.stat().st_mode) == 0o600


def test_uncreatable_cassette_fails_fast(tmp_path: Path) -> None:
    """A cassette path that cannot be created fails before the agent starts, exit 73."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run_cli(["record", "-o", blocker / "sub" / "c.ndjson", "--", *ECHO], b"x\n")
    assert done.returncode == 73
    assert b"cannot create cassette" in done.stderr
    assert done.stdout == b""


def test_timestamped_name_in_dir_and_env(tmp_path: Path) -> None:
    """--dir (or $ACP_TAP_DIR) gets a timestamped, agent-named cassette."""
    env = {**os.environ, "ACP_TAP_DIR": str(tmp_path / "from-env")}
    run_cli(["record", "-q", "--", *ECHO], b"x\n", env=env)
    (made,) = (tmp_path / "from-env").iterdir()
    stamp, rest = made.name.split("-", 1)
    assert len(stamp) == 16 and stamp.endswith("Z") and stamp[8] == "T"
    assert rest.startswith(Path(PYTHON).name + "-") and rest.endswith(".ndjson")
    run_cli(["record", "-q", "--dir", tmp_path / "d", "--", *ECHO], b"x\n")
    assert len(list((tmp_path / "d").iterdir())) == 1


def test_usage_errors_exit_2() -> None:
    """A missing agent command is a usage error."""
    done = run_cli(["record"])
    assert done.returncode == 2
    assert b"needs an agent command" in done.stderr


def test_help_documents_exit_codes() -> None:
    """--help lists every exit code."""
    done = run_cli(["record", "--help"])
    text = done.stdout.decode()
    for code in ("126", "127", "73", "128+N"):
        assert code in text


def test_default_redaction_changes_only_the_cassette(cassette: Path) -> None:
    """Secrets are redacted in the cassette while the agent receives them intact."""
    request = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "session/new",
        "params": {
            "cwd": "/w",
            "mcpServers": [
                {
                    "name": "db",
                    "command": "db",
                    "args": [],
                    "env": [{"name": "TOKEN", "value": "s3cret"}],
                }
            ],
        },
    }
    line = json.dumps(request).encode() + b"\n"
    done = run_cli(["record", "-q", "-o", cassette, "--", *ECHO], line)
    assert done.stdout == line
    text = cassette.read_text()
    assert "s3cret" not in text
    frame = load(cassette).frames[0]
    assert frame.redacted == ("params.mcpServers[0].env[0].value",)
    assert frame.message()["params"]["mcpServers"][0]["env"][0]["value"] == "[REDACTED]"
    plain = run_cli(["record", "-q", "--force", "--no-redact", "-o", cassette, "--", *ECHO], line)
    assert plain.stdout == line
    assert "s3cret" in cassette.read_text()


def test_redact_options_reach_text_and_stderr(cassette: Path) -> None:
    """--redact REGEX applies to log lines and stderr; --redact-key to any key."""
    agent = python_agent(
        """
        import sys
        for line in sys.stdin:
            sys.stdout.write(line)
            if not line.startswith("{"):
                sys.stderr.write("log " + line)
        """
    )
    data = b'{"params":{"apiKey":"k-1"}}\nplain sk-abc123 text\n'
    done = run_cli(
        [
            "record",
            "-q",
            "-o",
            cassette,
            "--redact-key",
            "APIKEY",
            "--redact",
            "sk-[a-z0-9]+",
            "--",
            *agent,
        ],
        data,
    )
    assert done.stdout == data
    text = cassette.read_text()
    assert "k-1" not in text and "sk-abc123" not in text
    assert text.count("[REDACTED]") == 5  # key: c2a + a2c; regex: c2a + a2c + stderr


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"[" * 3000 + b"]" * 3000, id="deep-short"),
        pytest.param(b'{"a":' * 40000 + b"1" + b"}" * 40000, id="deep-long"),
    ],
)
def test_deeply_nested_json_is_carried_and_the_cassette_stays_readable(
    cassette: Path, line: bytes
) -> None:
    """JSON nested deeper than readers go is relayed and kept exactly, as text, readable."""
    data = line + b"\n"
    done = run_cli(["record", "-q", "-o", cassette, "--", *ECHO], data)
    assert done.returncode == 0
    assert done.stdout == data
    frames = load(cassette).frames
    assert [f.payload for f in frames] == [Payload.TEXT, Payload.TEXT]
    assert wire(cassette, Direction.CLIENT_TO_AGENT) == data


def test_request_with_an_invalid_id_is_still_redacted(cassette: Path) -> None:
    """A session/new whose id is not a valid JSON-RPC id still has its secrets redacted."""
    request = {
        "jsonrpc": "2.0",
        "id": False,
        "method": "session/new",
        "params": {
            "cwd": "/w",
            "mcpServers": [
                {"name": "x", "command": "x", "args": [], "env": [{"name": "K", "value": "s3cret"}]}
            ],
        },
    }
    line = json.dumps(request).encode() + b"\n"
    done = run_cli(["record", "-q", "-o", cassette, "--", *ECHO], line)
    assert done.stdout == line
    assert "s3cret" not in cassette.read_text()
