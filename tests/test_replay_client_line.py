"""The fake agent holds an unterminated client line only up to --max-line (never less than the
longest recorded client line): a longer one is a mismatch that ends the replay."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import trio
import trio.testing

from acp_tap.cassette.codec import dumps_compact
from acp_tap.replay.actions import ReplayOptions, Report, ReportKind
from acp_tap.replay.agent import CHUNK, serve
from acp_tap.replay.engine import ReplayEngine
from tests.helpers import ACP_TAP
from tests.replay_support import Recording, prompt, request, result

INIT = request(0, "initialize", {"protocolVersion": 1, "clientInfo": {"name": "x" * 300}})


def recording() -> Recording:
    """initialize (a 300-byte client line) and one prompt turn."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(result(0, {"protocolVersion": 1}))
    rec.c2a(prompt(1, "s", "hi"))
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    return rec


async def replay(lines: list[bytes], max_line: int) -> tuple[int, list[Report], bytes]:
    """Serve the recording to a client sending ``lines``: the status, reports and output."""
    engine = ReplayEngine.from_cassette(recording().cassette(), ReplayOptions())
    client_end, agent_end = trio.testing.memory_stream_pair()
    reports: list[Report] = []
    statuses: list[int] = []
    received = b""
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def run() -> None:
                statuses.append(
                    await serve(
                        engine,
                        agent_end.receive_stream,
                        agent_end.send_stream,
                        on_report=reports.append,
                        max_line=max_line,
                    )
                )

            nursery.start_soon(run)
            for line in lines:
                await client_end.send_all(line)
            await client_end.send_stream.aclose()
            while chunk := await client_end.receive_some():
                received += chunk
    return statuses[0], reports, received


async def test_recorded_lines_longer_than_max_line_are_still_taken() -> None:
    """The limit is never below the longest recorded client line: the session replays."""
    lines = [dumps_compact(INIT) + b"\n", dumps_compact(prompt(1, "s", "hi")) + b"\n"]
    assert len(lines[0]) > 300
    status, reports, received = await replay(lines, max_line=100)
    assert (status, reports) == (0, [])
    assert b'"stopReason":"end_turn"' in received


async def test_a_line_beyond_the_limit_is_a_mismatch_that_ends_the_replay() -> None:
    """Bytes without a newline past the limit: one no-match report naming the limit, the
    client's stream closed, exit status 1; reading stops there."""
    chunk = b"y" * CHUNK
    flood = [dumps_compact(INIT) + b"\n", *[chunk] * 40]  # 2.5 MiB, never a newline
    status, reports, received = await replay(flood, max_line=1 << 20)
    assert status == 1
    assert [r.kind for r in reports][:1] == [ReportKind.NO_MATCH]
    assert "longer than 1048576 bytes (--max-line)" in reports[0].summary
    assert b'"id":0,"result"' in received  # what came before was answered


def test_replay_process_stops_a_flooding_client(tmp_path: Path) -> None:
    """`acp-tap replay --max-line 1M` fed 8 MiB without a newline says so and exits 1, quickly."""
    cassette = tmp_path / "c.ndjson"
    recording().write(cassette)
    proc = subprocess.Popen(
        [*ACP_TAP, "replay", "--max-line", "1M", str(cassette)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    start = time.monotonic()
    try:
        _, err = proc.communicate(b"z" * (8 << 20), timeout=30)
    except BrokenPipeError:  # it stopped reading, as it should
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert b"the client sent a line longer than 1048576 bytes (--max-line)" in err
    assert b"Traceback" not in err
    assert time.monotonic() - start < 30
