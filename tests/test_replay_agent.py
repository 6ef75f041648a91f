"""The fake agent over trio streams, and ``acp-tap replay`` as a real subprocess."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
import trio
import trio.testing

from acp_tap.cassette.codec import dumps_compact
from acp_tap.replay.actions import (
    Action,
    CloseOutput,
    Exit,
    Pause,
    ReplayOptions,
    Report,
    ReportKind,
    Send,
)
from acp_tap.replay.agent import _Direct, _Hooks, _Shell, _write, serve
from acp_tap.replay.engine import MISMATCH_CODE, ReplayEngine
from tests.helpers import run_cli
from tests.replay_support import CWD, Recording, notification, prompt, request, result, update

INIT = request(0, "initialize", {"protocolVersion": 1})
INIT_RESULT = result(0, {"protocolVersion": 1})


def chat() -> Recording:
    """initialize and one prompt turn with two updates, 0.5 s apart."""
    rec = Recording(step=0.5)
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(prompt(1, "s", "hi"))
    rec.a2c(update("s", "one"))
    rec.a2c(update("s", "two"))
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    return rec


class Client:
    """The test's end of the pipes: write lines, read lines."""

    def __init__(
        self,
        stream: trio.StapledStream[trio.testing.MemorySendStream, trio.testing.MemoryReceiveStream],
    ) -> None:
        self.stream = stream
        self.buffer = b""

    async def send(self, message: Any) -> None:
        """Write one message as a line."""
        data = message if isinstance(message, bytes) else dumps_compact(message) + b"\n"
        await self.stream.send_all(data)

    async def line(self) -> bytes:
        """Read one line (b"" at EOF)."""
        while b"\n" not in self.buffer:
            chunk = await self.stream.receive_some()
            if not chunk:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    async def message(self) -> Any:
        """Read one JSON message."""
        return json.loads(await self.line())


async def start(
    nursery: trio.Nursery, rec: Recording, statuses: list[int], **kwargs: Any
) -> tuple[Client, trio.testing.MemorySendStream]:
    """Serve ``rec`` on memory streams; the exit status lands in ``statuses``."""
    closed_first = kwargs.pop("closed_first", "client")
    status = kwargs.pop("status", 0)
    reports: list[Report] | None = kwargs.pop("reports", None)
    engine = ReplayEngine.from_cassette(rec.cassette(closed_first, status), ReplayOptions(**kwargs))
    client_end, agent_end = trio.testing.memory_stream_pair()
    err = trio.testing.MemorySendStream()

    async def run() -> None:
        statuses.append(
            await serve(
                engine,
                agent_end.receive_stream,
                agent_end.send_stream,
                err,
                on_report=None if reports is None else reports.append,
            )
        )

    nursery.start_soon(run)
    return Client(client_end), err


async def test_initialize_round_trip_and_clean_exit() -> None:
    """The client gets its answer with its own id; at EOF the replay exits 0 and closes."""
    statuses: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            client, _ = await start(nursery, chat(), statuses)
            await client.send(dict(INIT, id="init"))
            assert await client.message() == dict(INIT_RESULT, id="init")
            await client.send(prompt(7, "s", "hi"))
            assert [await client.message() for _ in range(3)] == [
                update("s", "one"),
                update("s", "two"),
                result(7, {"stopReason": "end_turn"}),
            ]
            await client.stream.send_stream.aclose()
            assert await client.line() == b""
    assert statuses == [0]


async def test_lines_split_across_chunks_one_byte_at_a_time() -> None:
    """Input framing does not depend on chunk boundaries; a last line needs no newline."""
    statuses: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            client, _ = await start(nursery, chat(), statuses)
            data = dumps_compact(INIT) + b"\r\n" + dumps_compact(prompt(1, "s", "hi"))
            for i in range(len(data)):
                await client.send(data[i : i + 1])
            await client.stream.send_stream.aclose()
            lines = [await client.line() for _ in range(5)]
    assert json.loads(lines[0]) == INIT_RESULT
    assert lines[-1] == b""
    assert statuses == [0]


async def test_mismatch_goes_to_stderr_and_on_report() -> None:
    """A mismatch is rendered on the stderr stream and handed to on_report; status 1."""
    statuses: list[int] = []
    reports: list[Report] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            client, err = await start(nursery, chat(), statuses, reports=reports)
            await client.send(dict(INIT, params={"protocolVersion": 2}))
            answer = await client.message()
            await client.stream.send_stream.aclose()
            assert await client.line() == b""
    text = err.get_data_nowait()
    assert answer["error"]["code"] == MISMATCH_CODE
    assert [r.kind for r in reports] == [ReportKind.NO_MATCH, ReportKind.UNUSED]
    assert b"params.protocolVersion" in text
    assert statuses == [1]


async def test_crash_replay_closes_the_stream_with_the_recorded_status() -> None:
    """The recorded agent exit ends the replay without waiting for the client's EOF."""
    rec = chat()
    rec.frames.pop()  # the agent died before answering the prompt
    statuses: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            client, _ = await start(nursery, rec, statuses, closed_first="agent", status=139)
            await client.send(INIT)
            await client.send(prompt(1, "s", "hi"))
            lines = [await client.line() for _ in range(4)]
    assert lines[-1] == b""
    assert statuses == [139]


async def test_realtime_reproduces_gaps(autojump_clock: trio.testing.MockClock) -> None:
    """With speed 1 the updates come 0.5 s apart, as recorded."""
    statuses: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            client, _ = await start(nursery, chat(), statuses, speed=1.0)
            await client.send(INIT)
            await client.message()
            await client.send(prompt(1, "s", "hi"))
            sent_at = trio.current_time()
            times = []
            for _ in range(3):
                await client.message()
                times.append(trio.current_time() - sent_at)
            await client.stream.send_stream.aclose()
    assert times == pytest.approx([0.5, 1.0, 1.5])
    assert statuses == [0]


async def test_a_client_that_stops_reading_still_gets_judged() -> None:
    """If the client closes its reading end, the replay keeps matching until EOF."""
    statuses: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            client, _ = await start(nursery, chat(), statuses)
            await client.stream.receive_stream.aclose()
            await client.send(INIT)
            await client.send(prompt(1, "s", "hi"))
            await client.stream.send_stream.aclose()
    assert statuses == [0]


# -- the real command -------------------------------------------------------------------


def replay_cli(cassette: Path, lines: list[Any], *args: str) -> tuple[list[Any], str, int]:
    """Run ``acp-tap replay`` with these client lines; (answers, stderr, status)."""
    data = b"".join(m if isinstance(m, bytes) else dumps_compact(m) + b"\n" for m in lines)
    proc = run_cli(["replay", str(cassette), *args], stdin=data)
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    return answers, proc.stderr.decode(), proc.returncode


def test_cli_answers_with_the_client_id_type(cassette: Path) -> None:
    """initialize with a string id gets a string id back; all used: exit 0."""
    chat().write(cassette)
    answers, stderr, status = replay_cli(cassette, [dict(INIT, id="1"), prompt(2, "s", "hi")])
    assert answers[0] == dict(INIT_RESULT, id="1")
    assert answers[-1] == result(2, {"stopReason": "end_turn"})
    assert (stderr, status) == ("", 0)


def test_cli_mismatch_error_text_and_status(cassette: Path) -> None:
    """A changed prompt gets the documented error; stderr has the diff; exit 1."""
    chat().write(cassette)
    answers, stderr, status = replay_cli(cassette, [INIT, prompt(2, "s", "hello")])
    assert answers[1]["error"]["message"] == (
        "acp-tap replay: no recorded message matches this session/prompt request; closest is "
        'frame #3 session/prompt: params.prompt[0].text: expected "hi", got "hello"'
    )
    assert '  - expected "hi"\n' in stderr
    assert "1 recorded client message never arrived" in stderr
    assert status == 1


def test_cli_on_mismatch_exit(cassette: Path) -> None:
    """--on-mismatch exit stops at the first mismatch with status 1."""
    chat().write(cassette)
    answers, _, status = replay_cli(
        cassette, [INIT, prompt(2, "s", "x"), prompt(1, "s", "hi")], "--on-mismatch", "exit"
    )
    assert len(answers) == 2
    assert answers[1]["error"]["code"] == MISMATCH_CODE
    assert status == 1


def test_cli_missing_request_and_allow_unused(cassette: Path) -> None:
    """A recorded request never sent fails the replay, unless --allow-unused."""
    chat().write(cassette)
    _, stderr, status = replay_cli(cassette, [INIT])
    assert "frame #3 session/prompt" in stderr
    assert status == 1
    assert replay_cli(cassette, [INIT], "--allow-unused")[2] == 0


def test_cli_crash_replay_with_recorded_status_and_stderr(cassette: Path) -> None:
    """A recording ending in an agent crash replays its frames, stderr and exit status."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(prompt(1, "s", "hi"))
    rec.a2c(update("s", "half"))
    rec.err(b"thread 'main' panicked")
    rec.write(cassette, closed_first="agent", status=101)
    answers, stderr, status = replay_cli(cassette, [INIT, prompt(1, "s", "hi")], "--stderr")
    assert answers == [INIT_RESULT, update("s", "half")]
    assert stderr == "thread 'main' panicked\n"
    assert status == 101


def test_cli_relocates_the_working_directory(cassette: Path, tmp_path: Path) -> None:
    """A session/new from another checkout is matched and paths come back rewritten."""
    rec = Recording()
    rec.c2a(request(1, "session/new", {"cwd": CWD, "mcpServers": []}))
    rec.a2c(result(1, {"sessionId": "s", "cwd": CWD}))
    rec.write(cassette)
    live = str(tmp_path)
    answers, _, status = replay_cli(
        cassette, [request(1, "session/new", {"cwd": live, "mcpServers": []})]
    )
    assert answers == [result(1, {"sessionId": "s", "cwd": live})]
    assert status == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["--speed", "0"], "must be a positive number", id="zero-speed"),
        pytest.param(["--speed", "2", "--realtime"], "not allowed with", id="speed-and-realtime"),
        pytest.param(["--ignore", "a..b"], "--ignore 'a..b'", id="bad-ignore"),
        pytest.param(["--on-mismatch", "panic"], "invalid choice", id="bad-policy"),
    ],
)
def test_cli_usage_errors(cassette: Path, args: list[str], expected: str) -> None:
    """Bad options exit 2 with a message saying what is wrong."""
    chat().write(cassette)
    proc = run_cli(["replay", str(cassette), *args])
    assert proc.returncode == 2
    assert expected in proc.stderr.decode()


def test_cli_missing_cassette(tmp_path: Path) -> None:
    """A cassette that does not exist is a usage error naming it."""
    proc = run_cli(["replay", str(tmp_path / "nope.ndjson")])
    assert proc.returncode == 2
    assert "cannot read cassette" in proc.stderr.decode()


def test_cli_serves_a_client_that_talks_incrementally(cassette: Path) -> None:
    """A client that waits for each answer before sending (over pipes) is served promptly."""
    chat().write(cassette)
    with subprocess.Popen(
        [sys.executable, "-m", "acp_tap", "replay", str(cassette)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(dumps_compact(INIT) + b"\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline()) == INIT_RESULT
        proc.stdin.write(dumps_compact(notification("session/cancel", {"sessionId": "s"})) + b"\n")
        proc.stdin.write(dumps_compact(prompt(1, "s", "hi")) + b"\n")
        proc.stdin.close()
        rest = proc.stdout.read().splitlines()
        assert json.loads(rest[-1]) == result(1, {"stopReason": "end_turn"})
        assert proc.wait(timeout=30) == 1  # the cancel was not recorded


def test_cli_report_file(cassette: Path, tmp_path: Path) -> None:
    """--report appends a start event and an end event with status, reports and transcript."""
    chat().write(cassette)
    report = tmp_path / "reports.ndjson"
    _, _, status = replay_cli(cassette, [INIT, prompt(2, "s", "bye")], "--report", str(report))
    start, end = (json.loads(line) for line in report.read_text().splitlines())
    assert start["event"] == "start"
    assert (end["event"], end["pid"], end["status"]) == ("end", start["pid"], status)
    assert status == 1
    assert [r.splitlines()[0] for r in end["reports"]] == [
        "acp-tap replay: mismatch (no-match): no recorded message matches this session/prompt "
        'request; closest is frame #3 session/prompt: params.prompt[0].text: expected "hi", '
        'got "bye"',
        "acp-tap replay: mismatch (unused): 1 recorded client message never arrived "
        "(--allow-unused accepts this)",
    ]
    assert sorted(item[0] for item in end["transcript"]) == ["a2c", "a2c", "c2a", "c2a"]
    assert all(isinstance(item[2], float) for item in end["transcript"])  # seconds since start


async def test_pause_holds_the_stream_and_close_output_ends_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Pause delays what follows, in order; CloseOutput gives the client EOF."""
    send, receive = trio.open_memory_channel[Action](10)
    client_end, agent_end = trio.testing.memory_stream_pair()
    for action in (Send(b"a\n"), Pause(5.0), Send(b"b\n"), CloseOutput(), Send(b"c\n"), Exit(3)):
        send.send_nowait(action)
    began = trio.current_time()
    status = await _write(receive, agent_end.send_stream, None, _Hooks(), _Direct(None))
    got = b""
    while chunk := await client_end.receive_some():
        got += chunk
    assert (status, got) == (3, b"a\nb\n")
    assert trio.current_time() - began == pytest.approx(5.0)


class _NeverWakes:
    """The engine, as far as ``_Shell.deliver`` asks it: the ticker is never woken."""

    def wakes(self, asleep_until: float) -> bool:
        return False


def test_answers_go_out_at_once_while_the_writer_is_idle_and_in_order_otherwise() -> None:
    """A Send is written straight to an idle output pipe; anything queued (a Pause) keeps
    the Sends after it queued behind it; what a full pipe cannot take goes to the writer."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    send, receive = trio.open_memory_channel[Action](math.inf)
    engine = cast(ReplayEngine, _NeverWakes())
    shell = _Shell(engine, lambda: 0.0, send, _Direct(write_end, idle=True))
    try:
        shell.deliver([Send(b"a\n")])
        assert os.read(read_end, 100) == b"a\n"
        assert receive.statistics().current_buffer_used == 0
        shell.deliver([Pause(1.0), Send(b"b\n")])
        assert [receive.receive_nowait(), receive.receive_nowait()] == [Pause(1.0), Send(b"b\n")]
        shell.direct.idle = True
        big = b"x" * (8 << 20)  # more than a pipe holds
        shell.deliver([Send(big), Send(b"c\n")])
        left = receive.receive_nowait()
        assert isinstance(left, Send) and 0 < len(left.data) < len(big)
        assert receive.receive_nowait() == Send(b"c\n")
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_client_gone_from_its_output_leaves_the_answers_to_the_writer() -> None:
    """EPIPE on a direct write: the answer goes to the writer (which handles a broken
    output), and no later answer is written directly."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    os.close(read_end)
    send, receive = trio.open_memory_channel[Action](math.inf)
    engine = cast(ReplayEngine, _NeverWakes())
    shell = _Shell(engine, lambda: 0.0, send, _Direct(write_end, idle=True))
    try:
        shell.deliver([Send(b"a\n")])
        assert receive.receive_nowait() == Send(b"a\n")
        assert shell.direct.fd is None
    finally:
        os.close(write_end)
