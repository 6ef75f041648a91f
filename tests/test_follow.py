"""``acp-tap show --follow``: a cassette printed while a real ``acp-tap record`` writes it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from acp_tap.cassette.reader import iter_records
from acp_tap.inspect.follow import Tail
from tests.helpers import ACP_TAP, TIMEOUT, python_agent, run_cli
from tests.inspect_support import cassette_lines, chunk, done, prelude, prompt

CHATTY = python_agent(
    """
    import json, sys
    for line in sys.stdin:
        message = json.loads(line)
        for text in ("Hel", "lo ", "world"):
            update = {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}
            note = {"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s1", "update": update}}
            print(json.dumps(note), flush=True)
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"stopReason": "end_turn"}}), flush=True)
    """
)
"""Answers each prompt with three chunks of text, then end_turn."""

PROMPT = b'{"jsonrpc":"2.0","id":1,"method":"session/prompt","params":{"sessionId":"s1","prompt":[{"type":"text","text":"hi"}]}}\n'


def test_tail_gives_the_same_records_however_the_bytes_arrive(tmp_path: Path) -> None:
    """Fed one byte at a time, the tail yields exactly the reader's records, and holds a
    partial line until its newline arrives."""
    path = Path(__file__).parent.parent / "fixtures" / "permission-allowed.ndjson"
    data = path.read_bytes()
    tail = Tail(str(path))
    got = [r for i in range(len(data)) for r in tail.feed(data[i : i + 1])]
    assert got == list(iter_records(path))
    assert tail.feed(b'{"seq":99,') == []
    assert tail.pending == len(b'{"seq":99,')


class Follower:
    """``acp-tap show --follow ARGS`` as a subprocess whose output is read as it comes."""

    def __init__(self, *args: str | Path, env: dict[str, str] | None = None) -> None:
        argv = [*ACP_TAP, "show", "--follow", "--color", "never", *map(str, args)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.output = b""

    def read_until(self, needle: bytes, timeout: float = TIMEOUT) -> bytes:
        """Everything printed so far, once ``needle`` is among it."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"waited {timeout}s for {needle!r}; got {self.output!r}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError(f"follow ended before {needle!r}; got {self.output!r}")
                self.output += data
        return self.output

    def finish(self, timeout: float = TIMEOUT) -> tuple[int, str, str]:
        """Wait for the end: exit status, all of stdout, stderr."""
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, (self.output + out).decode(), err.decode()


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``acp-tap record`` of the chatty agent into ``tmp_path/live.ndjson``, stdin open."""
    proc = subprocess.Popen(
        [*ACP_TAP, "record", "-q", "-o", tmp_path / "live.ndjson", "--", *CHATTY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + TIMEOUT
    while not (tmp_path / "live.ndjson").exists():
        assert time.monotonic() < deadline, "the recorder did not create its cassette"
        time.sleep(0.02)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=TIMEOUT)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def test_frames_are_printed_while_the_recording_goes_on(
    tmp_path: Path, recorder: subprocess.Popen[bytes]
) -> None:
    """Each frame appears while the recorder still runs; streamed chunks join on one line;
    the footer ends following with status 0."""
    follower = Follower(tmp_path / "live.ndjson")
    follower.read_until(b"recording")
    assert recorder.stdin is not None
    recorder.stdin.write(PROMPT)
    recorder.stdin.flush()
    seen = follower.read_until(b"stopReason end_turn").decode()
    assert recorder.poll() is None  # printed live, not after the fact
    lines = seen.splitlines()
    assert any(" → session/prompt id=1 [s1]  hi" in line for line in lines)
    assert any(" ← agent [s1]  Hello world" in line for line in lines)
    recorder.stdin.close()
    status, out, err = follower.finish()
    assert status == 0, err
    assert " ■ exit  status 0 (exit code 0), client closed first" in out.splitlines()[-1]
    assert err == ""


def test_a_directory_follows_its_newest_cassette(tmp_path: Path) -> None:
    """Given a directory (or $ACP_TAP_DIR), the newest cassette by name is followed."""
    directory = tmp_path / "cassettes"
    directory.mkdir()
    (directory / "20000101T000000Z-old-1.ndjson").write_bytes(
        b"".join(cassette_lines([*prelude()]))
    )
    newest = directory / "20991231T000000Z-new-2.ndjson"
    newest.write_bytes(b"".join(cassette_lines([*prelude(), prompt(), chunk("newest"), done()])))
    status, out, _ = Follower(directory).finish()
    assert status == 0
    assert "agent [s1]  newest" in out
    env = {**os.environ, "ACP_TAP_DIR": str(directory)}
    status, out, _ = Follower(env=env).finish()
    assert (status, "agent [s1]  newest" in out) == (0, True)


def test_a_killed_recorder_ends_the_follow_as_cut_short(
    tmp_path: Path, recorder: subprocess.Popen[bytes]
) -> None:
    """When the recorder dies without a footer, following ends 2 s later with status 1."""
    follower = Follower(tmp_path / "live.ndjson")
    assert recorder.stdin is not None
    recorder.stdin.write(PROMPT)
    recorder.stdin.flush()
    follower.read_until(b"stopReason end_turn")
    recorder.send_signal(signal.SIGKILL)  # left unreaped: a zombie is not a live recorder
    started = time.monotonic()
    status, _, err = follower.finish()
    assert status == 1
    assert 1.9 < time.monotonic() - started < 10
    assert f"the recorder (pid {recorder.pid}) is gone" in err
    assert "the recording was cut short" in err


def test_interrupt_stops_following(tmp_path: Path, recorder: subprocess.Popen[bytes]) -> None:
    """^C while waiting for more ends at once with status 130 and no traceback."""
    follower = Follower(tmp_path / "live.ndjson")
    follower.read_until(b"recording")
    follower.proc.send_signal(signal.SIGINT)
    status, _, err = follower.finish()
    assert status == 130
    assert "Traceback" not in err


def test_nothing_to_follow_is_one_line_and_status_2(tmp_path: Path) -> None:
    """An empty directory or a missing cassette: one line saying what to do, status 2."""
    done_ = run_cli(["show", "--follow", tmp_path])
    assert done_.returncode == 2
    assert done_.stderr.decode() == (
        f"acp-tap show: no cassette (*.ndjson) in {tmp_path}; start 'acp-tap record' first, "
        "or give the cassette's path\n"
    )
    done_ = run_cli(["show", "--follow", tmp_path / "missing.ndjson"])
    assert done_.returncode == 2
    assert b"cannot read" in done_.stderr
