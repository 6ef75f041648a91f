"""``acp-tap record`` with the client on things other than pipes, and clients that leave early."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from acp_tap.cassette.model import Direction
from acp_tap.cassette.reader import load
from tests.helpers import ACP_TAP, ECHO, TIMEOUT, python_agent

LINE = b'{"jsonrpc":"2.0","method":"x"}\n'


def wire(path: Path, direction: Direction) -> bytes:
    return b"".join(f.wire_bytes for f in load(path).frames if f.dir is direction)


def test_a_terminal_client_is_relayed_and_left_blocking(cassette: Path) -> None:
    """stdin and stdout on a terminal: lines go both ways, and the terminal is not made non-blocking."""
    controller, terminal = pty.openpty()
    os.set_blocking(terminal, True)
    try:
        with subprocess.Popen(
            [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *ECHO],
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
        ) as proc:
            os.write(controller, b"hello\n")
            echoed = read_until(controller, b"hello\r\n", count=2)  # the tty's echo, then ECHO's
            assert echoed.count(b"hello") == 2
            os.write(controller, b"\x04")  # ^D: end of file on the terminal
            proc.wait(timeout=TIMEOUT)
            assert proc.stderr is not None
            assert proc.returncode == 0, proc.stderr.read()
        assert os.get_blocking(terminal)
    finally:
        os.close(controller)
        os.close(terminal)
    assert wire(cassette, Direction.CLIENT_TO_AGENT) == b"hello\n"
    assert wire(cassette, Direction.AGENT_TO_CLIENT) == b"hello\n"


def read_until(fd: int, marker: bytes, count: int) -> bytes:
    """Read ``fd`` until ``marker`` was seen ``count`` times (within TIMEOUT)."""
    got = b""
    deadline = time.monotonic() + TIMEOUT
    while got.count(marker) < count:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"got only {got!r}"
        got += os.read(fd, 4096)
    return got


def test_files_and_dev_null_as_the_client(cassette: Path, tmp_path: Path) -> None:
    """stdin from a file, stdout to a file, stderr to /dev/null: all relayed, all recorded."""
    given, taken = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    given.write_bytes(LINE * 1000)
    with given.open("rb") as stdin, taken.open("wb") as stdout:
        done = subprocess.run(
            [*ACP_TAP, "record", "-o", str(cassette), "--", *ECHO],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT,
            check=False,
        )
    assert done.returncode == 0
    assert taken.read_bytes() == LINE * 1000
    assert wire(cassette, Direction.AGENT_TO_CLIENT) == LINE * 1000


def test_stdin_from_dev_null_ends_the_session_at_once(cassette: Path) -> None:
    """An empty client: the agent sees end of file, exits, and the cassette says the client closed."""
    done = subprocess.run(
        [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *ECHO],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    footer = load(cassette).footer
    assert footer is not None
    assert footer.closed_first == "client"


def test_a_client_that_stops_reading_its_stdout_still_gets_its_requests_through(
    cassette: Path,
) -> None:
    """The agent's output backs up (client not reading) while client lines still reach the agent.

    The agent writes 8 MiB to stdout and logs each stdin line to stderr: the client reads
    those log lines first, and only then its stdout.
    """
    agent = python_agent(
        """
        import os, sys, threading
        def flood():
            os.write(1, b"y" * (8 << 20) + b"\\n")
        threading.Thread(target=flood).start()
        for line in sys.stdin.buffer:
            os.write(2, b"got " + line)
        """
    )
    with subprocess.Popen(
        [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        time.sleep(0.3)  # the flood has filled every pipe on the way to the client by now
        for n in range(5):
            proc.stdin.write(f'{{"n":{n}}}\n'.encode())
            proc.stdin.flush()
            line = read_until(proc.stderr.fileno(), b"\n", count=1)
            assert line == f'got {{"n":{n}}}\n'.encode()
        proc.stdin.close()
        out = proc.stdout.read()
        proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert out == b"y" * (8 << 20) + b"\n"


def test_a_client_that_closes_its_stdout_early_leaves_the_session_recorded(
    cassette: Path,
) -> None:
    """The client's stdout reader leaves: the agent's output is still recorded to the end."""
    agent = python_agent(
        """
        import sys, time
        for n in range(200):
            try:
                sys.stdout.write('{"n":%d}\\n' % n)
                sys.stdout.flush()
            except BrokenPipeError:
                break
            time.sleep(0.001)
        """
    )
    with subprocess.Popen(
        [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(5)
        proc.stdout.close()
        proc.wait(timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stderr.read()
    recorded = wire(cassette, Direction.AGENT_TO_CLIENT)
    assert recorded == b"".join(b'{"n":%d}\n' % n for n in range(200))
