"""``acp_tap.record.record`` in process, on real pipes: what the CLI cannot provoke."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import trio

from acp_tap import record_framing
from acp_tap.cassette.model import Direction
from acp_tap.cassette.reader import load
from acp_tap.cassette.recorder import Batch, Recorder
from acp_tap.record import RecordConfig, RecordResult, record
from tests.helpers import ECHO, TIMEOUT


async def receive_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = await stream.receive_some(size - len(got))
        assert chunk, f"end of file after {got!r}"
        got += chunk
    return got


async def exchange(tmp_path: Path, lines: list[bytes]) -> tuple[RecordResult, str, float]:
    """Record ECHO while a client sends ``lines`` one at a time, each echoed before the
    next (so each is one chunk, one feed() call): the result, what was said on stderr, and
    the slowest round trip in seconds."""
    cassette = tmp_path / "session.ndjson"
    config = RecordConfig(argv=tuple(ECHO), cassette=cassette, quiet=True, handle_signals=False)
    proxy_in, client_writes = os.pipe()
    client_reads, proxy_out = os.pipe()
    log_reads, log = os.pipe()
    results: list[RecordResult] = []
    slowest = 0.0

    async def run() -> None:
        results.append(await record(config, proxy_in, proxy_out, log))

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            to_agent = trio.lowlevel.FdStream(client_writes)
            from_agent = trio.lowlevel.FdStream(client_reads)
            for line in lines:
                began = trio.current_time()
                await to_agent.send_all(line)
                assert await receive_exactly(from_agent, len(line)) == line
                slowest = max(slowest, trio.current_time() - began)
            await to_agent.aclose()
            assert await from_agent.receive_some() == b""
            await from_agent.aclose()
    os.close(log)
    said = os.read(log_reads, 1 << 16).decode()
    os.close(log_reads)
    return results[0], said, slowest


@pytest.mark.parametrize("inline", [record_framing.INLINE, 0])
async def test_a_recording_bug_costs_the_recording_never_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: int
) -> None:
    """The recorder raising mid-session: every byte is still relayed, the failure is said once
    on stderr (frame, error, file:line), and the cassette stops there, valid and without footer.
    (Small chunks, one at a time: framed in the relay's thread; and in the framing thread.)"""
    feed, calls = Recorder.feed, 0

    def failing_feed(self: Recorder, direction: Direction, chunk: bytes, now: float) -> Batch:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("boom")
        return feed(self, direction, chunk, now)

    monkeypatch.setattr(Recorder, "feed", failing_feed)
    monkeypatch.setattr(record_framing, "INLINE", inline)
    lines = [f'{{"jsonrpc":"2.0","method":"n","params":{n}}}\n'.encode() for n in range(6)]
    result, said, _ = await exchange(tmp_path, lines)
    assert result.status == 0
    assert said.count("acp-tap record: recording stopped") == 1, said
    assert "near frame 3 (c2a): RuntimeError: boom at " in said
    assert "test_record_session.py:" in said
    recorded = load(tmp_path / "session.ndjson")
    assert [f.wire_bytes for f in recorded.frames] == [lines[0], lines[0]]
    assert recorded.footer is None


async def test_framing_that_makes_no_progress_is_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The framing thread stuck (here in a feed() that takes 3 s) while the relay waits for
    room: after FRAMING_STALL seconds the relay stops waiting and the session goes on at full
    speed; the recording stops there, said once, and the cassette keeps what was framed."""
    feed, calls = Recorder.feed, 0

    def stuck_feed(self: Recorder, direction: Direction, chunk: bytes, now: float) -> Batch:
        nonlocal calls
        calls += 1
        if calls == 3:
            time.sleep(3.0)
        return feed(self, direction, chunk, now)

    monkeypatch.setattr(Recorder, "feed", stuck_feed)
    monkeypatch.setattr(record_framing, "INLINE", 0)  # every chunk goes to the framing thread
    monkeypatch.setattr(record_framing, "FRAMING_BUDGET", 1)  # the relay waits for each chunk
    monkeypatch.setattr(record_framing, "FRAMING_STALL", 0.3)
    lines = [f'{{"jsonrpc":"2.0","method":"n","params":{n}}}\n'.encode() for n in range(6)]
    began = time.monotonic()
    result, said, slowest = await exchange(tmp_path, lines)
    assert result.status == 0
    assert slowest < 2.0, slowest  # not the 3 s the framing took
    assert time.monotonic() - began < 15.0
    assert said.count("acp-tap record: recording stopped") == 1, said
    assert "framing made no progress for 0.3 s" in said
    recorded = load(tmp_path / "session.ndjson")
    assert [f.wire_bytes for f in recorded.frames] == [lines[0], lines[0]]
    assert recorded.footer is None
