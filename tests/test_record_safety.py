"""`acp-tap record` and `redact` through the real CLI: files it must never touch, truthful
reports under faults, and the agent's processes tied to the session."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ACP_TAP, ECHO, TIMEOUT, python_agent, run_cli


def lines_of(path: Path) -> list[dict[str, Any]]:
    """Every line of a cassette, each of which must be whole JSON."""
    return [json.loads(line) for line in path.read_bytes().splitlines()]


# -- files it must never touch -------------------------------------------------------------


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_record_refuses_a_symlink_output(tmp_path: Path, force: list[str]) -> None:
    """-o LINK is refused (73, naming the path and why); the link's target is untouched."""
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    target.chmod(0o644)
    link = tmp_path / "link.ndjson"
    link.symlink_to(target)

    done = run_cli(["record", *force, "-o", link, "--", *ECHO], b"x\n")

    assert done.returncode == 73
    assert f"cannot write cassette {link}: it is a symbolic link".encode() in done.stderr
    assert target.read_text() == "keep me"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert link.is_symlink()


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_record_refuses_a_fifo_output_without_blocking(tmp_path: Path, force: list[str]) -> None:
    """-o FIFO is refused at once (73) instead of blocking forever in open()."""
    fifo = tmp_path / "fifo.ndjson"
    os.mkfifo(fifo)

    done = run_cli(["record", *force, "-o", fifo, "--", *ECHO], b"x\n", timeout=20)

    assert done.returncode == 73
    assert f"cannot write cassette {fifo}: it is a FIFO, not a regular file".encode() in done.stderr


def test_record_refuses_a_device_output() -> None:
    """-o /dev/null (a device) is refused too: only regular files are written."""
    done = run_cli(["record", "--force", "-o", "/dev/null", "--", *ECHO], b"x\n")

    assert done.returncode == 73
    assert b"is a device or socket, not a regular file" in done.stderr


def test_redact_in_place_refuses_a_symlink(tmp_path: Path) -> None:
    """`redact --in-place LINK` is refused: the link stays a link, the real file unchanged."""
    real = tmp_path / "real.ndjson"
    assert (
        run_cli(
            ["record", "-q", "--no-redact", "-o", real, "--", *ECHO], b"password=hunter2\n"
        ).returncode
        == 0
    )
    before = real.read_bytes()
    link = tmp_path / "link.ndjson"
    link.symlink_to(real)

    done = run_cli(["redact", "--in-place", "--redact", "hunter2", link])

    assert done.returncode == 73
    assert f"acp-tap redact: {link} is a symbolic link".encode() in done.stderr
    assert link.is_symlink()
    assert real.read_bytes() == before


# -- truthful reports -----------------------------------------------------------------------


def test_directory_removed_mid_session_is_reported(tmp_path: Path) -> None:
    """A cassette whose directory was removed is reported lost; the status stays the agent's."""
    directory = tmp_path / "gone"
    cassette = directory / "session.ndjson"
    agent = python_agent(
        """
        import sys
        sys.stdin.readline()
        print('{"jsonrpc":"2.0","method":"ok"}', flush=True)
        sys.exit(3)
        """
    )
    process = subprocess.Popen(
        [*ACP_TAP, "record", "-o", str(cassette), "--", *agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + TIMEOUT
    while not cassette.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    cassette.unlink()
    directory.rmdir()

    out, err = process.communicate(b'{"jsonrpc":"2.0","method":"go"}\n', timeout=TIMEOUT)

    assert process.returncode == 3
    assert out == b'{"jsonrpc":"2.0","method":"ok"}\n'
    assert f"cassette {cassette} was deleted during the session".encode() in err
    assert b"recorded " not in err


def test_full_disk_keeps_whole_records_and_counts_what_reached_it(cassette: Path) -> None:
    """Past RLIMIT_FSIZE the cassette ends with its last whole record; the counts are true."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    data = b"".join(b'{"jsonrpc":"2.0","method":"n","params":{"i":%d}}\n' % i for i in range(3000))
    done = subprocess.run(
        [*ACP_TAP, "record", "-o", str(cassette), "--", *ECHO],
        input=data,
        capture_output=True,
        timeout=TIMEOUT,
        preexec_fn=limit,
        check=False,
    )

    assert done.returncode == 0
    assert done.stdout == data
    records = lines_of(cassette)  # every line whole
    assert cassette.read_bytes().endswith(b"\n")
    frames = len(records) - 1  # the header; no room was left for a footer
    assert all("seq" in record for record in records[1:])
    assert [record["seq"] for record in records[1:]] == list(range(1, frames + 1))
    message = f"{6000 - frames} of 6000 frames were not recorded (see above); {cassette} holds the first {frames}, each whole, and no footer"
    assert message.encode() in done.stderr
    assert done.stderr.count(b"cannot write cassette") == 1


def test_write_error_to_the_client_ends_that_stream_and_is_in_the_footer(cassette: Path) -> None:
    """`record > /dev/full`: no traceback; a2c ends cleanly and the footer says why."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [*ACP_TAP, "record", "-o", str(cassette), "--", *ECHO],
            input=b'{"jsonrpc":"2.0","method":"a"}\n{"jsonrpc":"2.0","method":"b"}\n',
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )

    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    assert b"writing a2c failed: No space left on device; that stream ended there" in done.stderr
    footer = lines_of(cassette)[-1]
    assert footer["type"] == "footer"
    assert footer["stream_errors"] == {"a2c": "No space left on device"}
    assert footer["frames"] == {"c2a": 2, "a2c": 2, "err": 0}


# -- processes ------------------------------------------------------------------------------

STUBBORN = python_agent(
    """
    import signal, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    while True:
        time.sleep(0.1)  # ignores EOF on stdin, and SIGTERM
    """
)


def test_client_gone_and_agent_ignoring_eof_follows_the_ladder(cassette: Path) -> None:
    """Client closes stdin and stdout; the agent ignores EOF and SIGTERM: killed after 2 graces."""
    process = subprocess.Popen(
        [*ACP_TAP, "record", "--grace", "0.5", "-o", str(cassette), "--", *STUBBORN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline() == b"ready\n"
    began = time.monotonic()
    process.stdin.close()
    process.stdout.close()

    process.wait(timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    assert process.stderr is not None
    process.stderr.close()

    assert process.returncode == 128 + signal.SIGKILL
    assert 0.9 < elapsed < 10
    footer = lines_of(cassette)[-1]
    assert (footer["signal"], footer["closed_first"]) == (signal.SIGKILL, "client")


FORKING = python_agent(
    """
    import os, sys, time
    child = os.fork()
    if child == 0:
        while True:
            time.sleep(0.1)  # a helper in the agent's process group
    with open(sys.argv[1], "w") as out:
        out.write(f"{os.getpid()} {child}")
    sys.stdin.read()  # until the client closes stdin
    """
)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The pids still alive after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def start_forking(tmp_path: Path, cassette: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    pids = tmp_path / "pids"
    process = subprocess.Popen(
        [*ACP_TAP, "record", "-q", "--grace", "1", "-o", str(cassette), "--", *FORKING, str(pids)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + TIMEOUT
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return process, [int(pid) for pid in pids.read_text().split()]


def test_the_agents_process_group_ends_with_the_session(tmp_path: Path, cassette: Path) -> None:
    """A helper the agent forked (same process group) does not outlive the session."""
    process, (agent, helper) = start_forking(tmp_path, cassette)

    process.communicate(b"", timeout=TIMEOUT)

    assert process.returncode == 0
    assert wait_gone([agent, helper], 10) == []


@pytest.mark.timeout(90)
def test_record_killed_after_a_long_session_takes_the_agent_group_along(
    tmp_path: Path, cassette: Path
) -> None:
    """SIGKILL of `record` 16 s in (trio's spawning thread has retired): agent and helper die."""
    process, (agent, helper) = start_forking(tmp_path, cassette)
    time.sleep(16)
    assert alive(agent) and alive(helper)

    process.kill()
    process.wait(timeout=TIMEOUT)
    assert process.stdin is not None
    process.stdin.close()

    assert wait_gone([agent, helper], 15) == []


# -- secrets in every usual place, through the real proxy -------------------------------------

ANTHROPIC = "sk-ant-api03-" + "Ab3_x-9" * 13 + "zz" + "AA"
GITHUB = "ghp_" + "a1B2c3D4e5" * 3 + "F6g7H8"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
CLIENT_LINES = [
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": 1, "_meta": {"authorization": "Bearer init-secret-1"}},
    },
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "authenticate",
        "params": {"methodId": "key", "_meta": {"apiKey": "meta-secret-2"}},
    },
    {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "session/new",
        "params": {
            "cwd": "/w",
            "mcpServers": [
                {
                    "type": "http",
                    "name": "m",
                    "url": "https://mcp.example/sse?access_token=url-secret-3",
                    "headers": [],
                }
            ],
        },
    },
    {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "session/prompt",
        "params": {
            "sessionId": "s",
            "prompt": [{"type": "text", "text": f"use {ANTHROPIC} please"}],
        },
    },
    {
        "jsonrpc": "2.0",
        "id": 4,
        "method": "_vendor.dev/login",
        "params": {
            "password": "ext-secret-4",
            "api_key": "ext-secret-5",
            "token": "ext-secret-6",
            "inputTokens": 12,
            "maxTokens": 99,
            "tokenizer": "bpe",
        },
    },
]
AGENT_LINES = [
    {
        "jsonrpc": "2.0",
        "method": "session/update",
        "params": {
            "sessionId": "s",
            "update": {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": f"token {GITHUB}."},
            },
        },
    },
    {
        "jsonrpc": "2.0",
        "id": "t-1",
        "method": "terminal/create",
        "params": {
            "sessionId": "s",
            "command": "curl",
            "args": ["-H", "Authorization: Bearer term-secret-7", "https://x"],
        },
    },
    {"jsonrpc": "2.0", "method": "_kiro.dev/metadata", "params": {"jwt": JWT}},
]
SECRETS = [
    "init-secret-1",
    "meta-secret-2",
    "url-secret-3",
    ANTHROPIC,
    "ext-secret-4",
    "ext-secret-5",
    "ext-secret-6",
    GITHUB,
    "term-secret-7",
    JWT,
    "stderr-secret-8",
    "argv-secret-9",
    "REALKEY",
]


def test_secrets_in_every_usual_place_stay_out_of_the_cassette(cassette: Path) -> None:
    """Defaults hide each secret; relayed bytes are unchanged; --redact's text is not published."""
    agent_out = b"".join(json.dumps(m).encode() + b"\n" for m in AGENT_LINES)
    agent = python_agent(
        f"""
        import sys
        sys.stderr.write("GET /v1 Authorization: Bearer stderr-secret-8\\n"); sys.stderr.flush()
        sys.stdout.buffer.write({agent_out!r}); sys.stdout.flush()
        sys.stdin.read()
        """
    )
    sent = b"".join(json.dumps(m).encode() + b"\n" for m in CLIENT_LINES)
    done = run_cli(
        [
            "record",
            "-q",
            "--redact",
            "sk-REALKEY",
            "-o",
            cassette,
            "--",
            *agent,
            "--token=ghp_argvsecret",
            "Bearer argv-secret-9",
        ],
        sent + b"my key is sk-REALKEY\n",
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == agent_out  # relayed unchanged
    text = cassette.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in text, secret
    records = lines_of(cassette)
    header = records[0]
    assert "regex#1" in header["redaction"] and "Bearer [REDACTED]" in header["argv"]
    login = next(r for r in records if r.get("msg", {}).get("method") == "_vendor.dev/login")
    assert login["msg"]["params"]["inputTokens"] == 12
    assert login["msg"]["params"]["tokenizer"] == "bpe"
    assert login["msg"]["params"]["maxTokens"] == 99


def test_redact_applies_the_new_defaults_to_an_old_cassette(cassette: Path, tmp_path: Path) -> None:
    """A cassette recorded without redaction, with an old header, is cleaned by `redact`."""
    assert (
        run_cli(
            ["record", "-q", "--no-redact", "-o", cassette, "--", *ECHO],
            b"".join(json.dumps(m).encode() + b"\n" for m in CLIENT_LINES),
        ).returncode
        == 0
    )
    lines = cassette.read_bytes().splitlines()
    old_header = json.loads(lines[0]) | {
        "redaction": ["defaults", "regex:hunter2"],
        "argv": ["agent", "--key", GITHUB],
    }
    cassette.write_bytes(b"\n".join([json.dumps(old_header).encode(), *lines[1:]]) + b"\n")
    out = tmp_path / "clean.ndjson"

    done = run_cli(["redact", "-o", out, cassette])

    assert done.returncode == 0, done.stderr
    text = out.read_bytes()
    for secret in [
        "init-secret-1",
        "meta-secret-2",
        "url-secret-3",
        ANTHROPIC,
        "ext-secret-4",
        GITHUB,
        "hunter2",
    ]:
        assert secret.encode() not in text, secret
    header = lines_of(out)[0]
    assert header["redaction"][:2] == ["default-places", "regex#1"]


def test_a_catastrophic_pattern_does_not_delay_the_session(cassette: Path) -> None:
    """`--redact '(a+)+$'` against a run of `a`s (18 s per line with backtracking) is instant."""
    line = b'{"jsonrpc":"2.0","method":"x","params":{"t":"' + b"a" * 28 + b'!"}}\n'
    began = time.monotonic()
    done = run_cli(["record", "-q", "--redact", "(a+)+$", "-o", cassette, "--", *ECHO], line * 2)
    assert done.returncode == 0
    assert done.stdout == line * 2
    assert time.monotonic() - began < 10


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [(r"(\w+)\1", r"back-reference \1"), ("(?<=key=)\\w+", "look-behind (?<=...)")],
)
def test_pattern_re2_cannot_run_is_refused_before_the_session(pattern: str, construct: str) -> None:
    """A --redact pattern that needs backtracking: exit 2 naming the construct; no agent runs."""
    done = run_cli(["record", "--redact", pattern, "--", *ECHO], b"x\n")
    assert done.returncode == 2
    assert construct.encode() in done.stderr
    assert done.stderr.count(b"\n") == 1
