"""The fake agent over asyncio streams (acp_tap.replay.asyncio_agent): the trio shell's twin."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from acp_tap.asyncio_streams import memory_connection
from acp_tap.cassette.model import Direction
from acp_tap.cassette.reader import load
from acp_tap.errors import UsageError
from acp_tap.replay import agent as trio_agent
from acp_tap.replay.actions import (
    Action,
    CloseOutput,
    Exit,
    Mismatch,
    Pause,
    ReplayOptions,
    Report,
    ReportKind,
    Send,
    Stderr,
)
from acp_tap.replay.asyncio_agent import _Hooks, _write, in_memory, serve
from acp_tap.replay.engine import MISMATCH_CODE, ReplayEngine
from acp_tap.testing import FakeAgent, ReplayMismatchError
from tests.asyncio_support import run

FIXTURES = Path(__file__).parent.parent / "fixtures"
SHIPPED = sorted(path.stem for path in FIXTURES.glob("*.ndjson"))


def client_script(name: str) -> list[tuple[bytes, int]]:
    """Each recorded client line, with how many agent lines were recorded before it."""
    script, seen = [], 0
    for frame in load(FIXTURES / f"{name}.ndjson").frames:
        if frame.dir is Direction.CLIENT_TO_AGENT:
            script.append((bytes(frame.raw) + frame.eol.bytes, seen))
        elif frame.dir is Direction.AGENT_TO_CLIENT:
            seen += 1
    return script


def recorded_output(name: str) -> bytes:
    """What the recorded agent wrote on stdout."""
    frames = load(FIXTURES / f"{name}.ndjson").frames
    return b"".join(
        bytes(f.raw) + f.eol.bytes for f in frames if f.dir is Direction.AGENT_TO_CLIENT
    )


async def play(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, script: list[tuple[bytes, int]]
) -> bytes:
    """Send each line once the agent lines recorded before it arrived; what arrived."""
    got = b""
    for line, after in script:
        while got.count(b"\n") < after:
            chunk = await reader.readline()
            assert chunk, f"EOF after {got!r}"
            got += chunk
        writer.write(line)
    return got


async def replay_on_asyncio(name: str) -> tuple[bytes, int]:
    """Play the recorded client causally to the asyncio shell; what it got, the status."""
    engine = ReplayEngine.from_path(FIXTURES / f"{name}.ndjson")
    (reader, writer), (agent_reader, agent_writer) = memory_connection()
    served = asyncio.create_task(serve(engine, agent_reader, agent_writer))
    got = await play(reader, writer, client_script(name))
    writer.write_eof()
    got += await reader.read()
    writer.close()
    return got, await served


async def replay_on_trio(name: str) -> tuple[bytes, int]:
    """The same through the trio shell."""
    engine = ReplayEngine.from_path(FIXTURES / f"{name}.ndjson")
    client, agent_end = trio.testing.memory_stream_pair()
    statuses: list[int] = []
    got = b""
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def serving() -> None:
                statuses.append(
                    await trio_agent.serve(engine, agent_end.receive_stream, agent_end.send_stream)
                )

            nursery.start_soon(serving)
            for line, after in client_script(name):
                while got.count(b"\n") < after:
                    got += await client.receive_some()
                await client.send_all(line)
            await client.send_eof()
            while chunk := await client.receive_some():
                got += chunk
    return got, statuses[0]


@pytest.mark.parametrize("name", SHIPPED)
def test_a_causal_client_gets_what_the_trio_shell_sends(name: str) -> None:
    """Every shipped fixture: the recorded client gets, byte for byte, what the recorded
    agent wrote, and the exit status the trio shell gives."""
    expected = 3 if name == "agent-crash" else 0
    got = run(lambda: replay_on_asyncio(name))
    assert got == (recorded_output(name), expected)
    assert got == trio.run(replay_on_trio, name)


def test_a_mismatch_is_answered_reported_and_rendered_to_stderr() -> None:
    """The -32099 answer reaches the client; the report goes to on_report and stderr."""
    reports: list[Report] = []

    async def main() -> tuple[Any, bytes, int]:
        engine = ReplayEngine.from_path(FIXTURES / "handshake.ndjson")
        (reader, writer), (agent_reader, agent_writer) = memory_connection()
        (err_reader, err_end), (_, err_writer) = memory_connection()
        served = asyncio.create_task(
            serve(engine, agent_reader, agent_writer, err_writer, on_report=reports.append)
        )
        writer.write(b'{"jsonrpc":"2.0","id":9,"method":"session/list","params":{}}\n')
        answer = json.loads(await reader.readline())
        writer.write_eof()
        status = await served
        err_writer.close()
        writer.close()
        stderr = await err_reader.read()
        err_end.close()
        return answer, stderr, status

    answer, stderr, status = run(main)
    assert (answer["id"], answer["error"]["code"], status) == (9, MISMATCH_CODE, 1)
    assert [r.kind for r in reports] == [ReportKind.NO_MATCH, ReportKind.UNUSED]
    assert stderr.decode().startswith(
        "acp-tap replay: mismatch (no-match): this session/list request matches nothing"
    )


def test_a_stalled_client_gets_an_error_within_the_stall_timeout() -> None:
    """A prompt whose answer waits for a cancel that never comes is answered with an
    error naming the cancel, about one stall timeout after the client fell silent."""

    async def main() -> tuple[Any, float]:
        engine = ReplayEngine.from_path(
            FIXTURES / "cancelled-turn.ndjson", ReplayOptions(stall_timeout=0.3)
        )
        async with in_memory(engine) as client:
            script = client_script("cancelled-turn")[:3]  # initialize, session/new, prompt
            await play(client.reader, client.writer, script)
            began = time.monotonic()
            while "error" not in (message := json.loads(await client.reader.readline())):
                pass
            waited = time.monotonic() - began
        assert client.status == 1
        return message, waited

    message, waited = run(main)
    assert message["id"] == 2
    assert "session/cancel" in message["error"]["message"]
    assert 0.25 < waited < 2.0


def test_realtime_reproduces_the_recorded_gaps_on_the_loop_clock() -> None:
    """With speed 2, the initialize answer comes half its recorded gap after the request."""
    frames = load(FIXTURES / "handshake.ndjson").frames
    request, answer = (
        next(f for f in frames if f.dir is d)
        for d in (Direction.CLIENT_TO_AGENT, Direction.AGENT_TO_CLIENT)
    )
    gap = (answer.t - request.t) / 2

    async def main() -> float:
        engine = ReplayEngine.from_path(
            FIXTURES / "handshake.ndjson", ReplayOptions(speed=2.0, allow_unused=True)
        )
        async with in_memory(engine) as client:
            line, _ = client_script("handshake")[0]
            began = time.monotonic()
            client.writer.write(line)
            await client.reader.readline()
            return time.monotonic() - began

    assert gap > 0.05
    assert gap * 0.9 < run(main) < gap + 0.5


def test_pause_holds_the_stream_close_output_ends_it_and_exit_closes() -> None:
    """Pause delays what follows, in order; CloseOutput gives the client EOF while the
    agent side still reads; Exit returns its status."""

    async def main() -> tuple[int, bytes, float, bytes]:
        (reader, writer), (agent_reader, agent_writer) = memory_connection()
        queue: asyncio.Queue[Action] = asyncio.Queue()
        (err_reader, err_end), (_, err_writer) = memory_connection()
        report = Report(ReportKind.STALL, "held")
        for action in (
            Send(b"a\n"),
            Pause(0.2),
            Send(b"b\n"),
            Stderr(b"log\n"),
            CloseOutput(),
            Send(b"c\n"),
            Mismatch(report),
            Exit(3),
        ):
            queue.put_nowait(action)
        began = time.monotonic()
        writer.write(b"still read\n")
        status = await _write(queue, agent_writer, err_writer, _Hooks())
        elapsed = time.monotonic() - began
        err_writer.close()
        got = await reader.read()
        assert await agent_reader.readline() == b"still read\n"
        writer.close()
        stderr = await err_reader.read()
        err_end.close()
        return status, got, elapsed, stderr

    status, got, elapsed, stderr = run(main)
    assert (status, got) == (3, b"a\nb\n")
    assert 0.18 < elapsed < 2.0
    assert stderr == b"log\nacp-tap replay: mismatch (stall): held\n"


def test_in_memory_reports_a_replay_that_does_not_end_in_time() -> None:
    """A replay that does not end after the client closed (here, one that never exits) is
    stopped at the timeout, and the problem says so."""

    class Stuck(ReplayEngine):
        def close(self, now: float) -> list[Action]:
            return []

    async def main() -> tuple[int | None, str | None]:
        engine = Stuck.from_path(FIXTURES / "handshake.ndjson", ReplayOptions(allow_unused=True))
        async with in_memory(engine, timeout=0.2) as client:
            pass
        return client.status, client.problem

    assert run(main) == (None, "the replay did not end within 0.2 s after the client closed")


def test_a_replay_that_fails_ends_the_clients_input_and_raises_on_exit() -> None:
    """A bug in the replay is not a silent hang: the client reads EOF, the error surfaces."""

    class Broken(ReplayEngine):
        def receive_lines(self, lines: Any, now: float) -> list[Action]:
            raise RuntimeError("engine bug")

    async def main() -> bytes:
        engine = Broken.from_path(FIXTURES / "handshake.ndjson")
        async with in_memory(engine) as client:
            client.writer.write(b"{}\n")
            return await client.reader.read()

    with pytest.raises(ExceptionGroup) as raised:
        run(main)
    assert raised.group_contains(RuntimeError, match="engine bug")


def test_fake_agent_outside_pytest_judges_an_asyncio_client(tmp_path: Path) -> None:
    """FakeAgent.asyncio_streams without pytest: the run, its report and transcript."""
    agent = FakeAgent(FIXTURES / "handshake.ndjson", tmp_path, ReplayOptions(ignore=("params",)))

    async def main() -> Any:
        async with agent.asyncio_streams() as (reader, writer):
            writer.write(b'{"jsonrpc":"2.0","id":"a","method":"initialize","params":{}}\n')
            return json.loads(await reader.readline())

    assert run(main)["id"] == "a"
    (only,) = agent.runs()
    assert only.status == 1
    assert "frame #5 session/new" in only.reports[0]  # the fixture's session/new
    assert [d.value for d, _ in agent.transcript.lines] == ["c2a", "a2c"]
    with pytest.raises(ReplayMismatchError, match="never arrived"):
        agent.verify()


def test_fake_agent_records_the_real_agent_for_an_asyncio_client(tmp_path: Path) -> None:
    """In a recording mode, the pair reaches the real agent behind ``acp-tap record``."""
    cassette = tmp_path / "new.ndjson"
    real = (sys.executable, "-m", "acp_tap.demo.agent")
    agent = FakeAgent(cassette, tmp_path, real_agent=real)

    async def main() -> Any:
        async with agent.asyncio_streams() as (reader, writer):
            writer.write(b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}\n')
            return json.loads(await reader.readline())

    assert "result" in run(main)
    assert [each.status for each in agent.runs()] == [0]
    assert [d.value for d, _ in agent.transcript.lines] == ["c2a", "a2c"]


async def test_asyncio_streams_under_trio_says_what_to_use() -> None:
    """Under trio, asyncio_streams() is refused with the trio way to do it."""
    agent = FakeAgent(FIXTURES / "handshake.ndjson", Path("."))
    with pytest.raises(UsageError, match=r"under trio; in a trio test use `async with acp_agent"):
        async with agent.asyncio_streams():
            pass
