"""Every fault kind through the real ``acp-tap replay`` and in-process, seen by a raw client.

The client writes its three requests at once and asserts exactly which bytes arrive, and
when: a hold or a slice's gaps within +50 % / +200 ms of what the fault says.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from acp_tap.cassette.codec import dumps_compact
from acp_tap.faults.spec import parse_faults
from acp_tap.replay.actions import ReplayOptions
from acp_tap.replay.agent import serve
from acp_tap.replay.engine import ReplayEngine
from tests.replay_support import Recording, prompt, request, result, update

INIT = request(0, "initialize", {"protocolVersion": 1})
NEW = request(1, "session/new", {"cwd": "/home/rec/project", "mcpServers": []})
PROMPT = prompt(2, "s1", "hi")
ANSWERS = [
    result(0, {"protocolVersion": 1}),
    result(1, {"sessionId": "s1"}),
    update("s1", "one, "),
    update("s1", "and two: a longer chunk of streamed agent text, to be cut in pieces"),
    result(2, {"stopReason": "end_turn"}),
]
LINES = [dumps_compact(m) + b"\n" for m in ANSWERS]
INIT_L, NEW_L, ONE, TWO, END = LINES
CLIENT = b"".join(dumps_compact(m) + b"\n" for m in (INIT, NEW, PROMPT))
AT_TWO = "update=agent_message_chunk,nth=2"


def recording() -> Recording:
    """A handshake and a prompt turn with two chunks."""
    rec = Recording()
    for client, answers in ((INIT, ANSWERS[:1]), (NEW, ANSWERS[1:2]), (PROMPT, ANSWERS[2:])):
        rec.c2a(client)
        for answer in answers:
            rec.a2c(answer)
    return rec


@attrs.frozen
class Case:
    """A fault, and what the client must get."""

    spec: str
    stdout: bytes
    status: int = 0
    hold: tuple[float, float] | None = None  # (seconds, from the end of ONE to the end of TWO)
    stderr: bytes = b""
    ends: str = "eof"  # eof: after stdin closes; early: stdout ends first; hang: never


HEAD = INIT_L + NEW_L + ONE
PIECE_GAPS = (len(TWO) + 15) // 16 - 1
CASES = [
    Case("delay:ms=400," + AT_TWO, b"".join(LINES), hold=(0.4, 0.0)),
    Case("slice:bytes=16,gap_ms=40," + AT_TWO, b"".join(LINES), hold=(0.0, 0.04 * PIECE_GAPS)),
    Case("hang:" + AT_TWO, HEAD, ends="hang"),
    Case("crash:status=3," + AT_TWO, HEAD, status=3, ends="early"),
    Case("close:" + AT_TWO, HEAD, ends="early"),
    Case("drop:" + AT_TWO, HEAD + END),
    Case("duplicate:" + AT_TWO, HEAD + TWO + TWO + END),
    Case("garbage:text=INFO tool running," + AT_TWO, HEAD + b"INFO tool running\n" + TWO + END),
    Case("corrupt:" + AT_TWO, HEAD + TWO[: (len(TWO) - 1) // 2] + b"\n" + END),
    Case(
        "error:method=session/prompt,code=-32000,message=overloaded",
        HEAD + TWO + b'{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"overloaded"}}\n',
    ),
    Case("stderr:text=WARN noisy,count=3," + AT_TWO, b"".join(LINES), stderr=b"WARN noisy\n" * 3),
    Case("flood:count=3," + AT_TWO, HEAD + TWO * 4 + END),
]
IDS = [case.spec.partition(":")[0] for case in CASES]


async def converse(
    send: trio.abc.SendStream, receive: trio.abc.ReceiveStream, case: Case
) -> list[tuple[float, bytes]]:
    """Send the requests; read what the case expects (with arrival times), and check how the
    stream ends; stdin is closed unless the case ends early."""
    await send.send_all(CLIENT)
    arrivals: list[tuple[float, bytes]] = []
    got = b""
    with trio.fail_after(10):
        while len(got) < len(case.stdout):
            chunk = await receive.receive_some()
            if not chunk:
                break
            arrivals.append((trio.current_time(), bytes(chunk)))
            got += chunk
        assert got == case.stdout
        if case.ends == "hang":
            with trio.move_on_after(0.5) as quiet:
                more = await receive.receive_some()
                raise AssertionError(f"a hung agent sent {more!r}")
            assert quiet.cancelled_caught
            await send.aclose()
            return arrivals
        if case.ends == "early":
            assert await receive.receive_some() == b""  # while stdin is still open
        await send.aclose()
        assert await receive.receive_some() == b""
    return arrivals


def assert_took(
    arrivals: list[tuple[float, bytes]], before: int, size: int, expected: float
) -> None:
    """From the arrival of the first ``before`` bytes to that of the ``size`` after them took
    ``expected`` seconds, within +50 % / +200 ms."""
    done, start = 0, None
    for at, chunk in arrivals:
        done += len(chunk)
        if start is None and done >= before:
            start = at
        if done >= before + size:
            took = at - (start or at)
            assert expected - 0.01 <= took <= expected * 1.5 + 0.2, (took, expected)
            return
    raise AssertionError(f"only {done} bytes arrived")


def check_timing(case: Case, arrivals: list[tuple[float, bytes]]) -> None:
    """The hold (delay) or the pieces' gaps (slice) took as long as the fault says."""
    if case.hold is None:
        return
    seconds, gaps = case.hold
    assert_took(arrivals, len(HEAD), len(TWO), seconds + gaps)
    if gaps:
        assert len(arrivals) >= 5  # the pieces came apart


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_kind_through_the_cli(case: Case, cassette: Path) -> None:
    """``acp-tap replay --fault SPEC``: the bytes, their timing, the end and the status."""
    recording().write(cassette)
    argv = [sys.executable, "-m", "acp_tap", "replay", "--fault", case.spec, str(cassette)]

    async def main() -> tuple[list[tuple[float, bytes]], int | None, bytes]:
        proc = await trio.lowlevel.open_process(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        err = bytearray()

        async def drain(stream: trio.abc.ReceiveStream) -> None:
            while chunk := await stream.receive_some():
                err.extend(chunk)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drain, proc.stderr)
                arrivals = await converse(proc.stdin, proc.stdout, case)
                if case.ends == "hang":
                    await trio.sleep(0.3)
                    assert proc.returncode is None  # hung: it lingers with stdout open
                    proc.kill()
                with trio.fail_after(10):
                    await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
        return arrivals, proc.returncode, bytes(err)

    arrivals, status, err = trio.run(main)
    check_timing(case, arrivals)
    if case.ends != "hang":
        assert status == case.status, err
    noise = err.replace(b"acp-tap replay: fault 1", b"").split(b"\n", 1)[-1]
    assert noise == case.stderr
    assert err.startswith(f"acp-tap replay: fault 1 ({case.spec}) at frame #".encode())


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_each_kind_in_process(case: Case) -> None:
    """The same over trio memory streams: the shell carries out the engine's actions."""
    faults = parse_faults([case.spec])
    engine = ReplayEngine.from_cassette(recording().cassette(), ReplayOptions(faults=faults))
    client_end, agent_end = trio.testing.memory_stream_pair()
    err = trio.testing.MemorySendStream()
    statuses: list[int] = []
    fired: list[str] = []

    async def agent() -> None:
        status = await serve(
            engine, agent_end.receive_stream, agent_end.send_stream, err, on_fault=fired.append
        )
        statuses.append(status)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(agent)
        arrivals = await converse(client_end.send_stream, client_end.receive_stream, case)
    check_timing(case, arrivals)
    assert statuses == [case.status]
    assert [f.split(" at ")[0] for f in fired] == [f"fault 1 ({case.spec})"]
    stderr: Any = err.get_data_nowait()
    assert stderr.split(b"\n", 1)[1] == case.stderr


def long_recording() -> Recording:
    """Two prompt turns of 30 chunks each."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(ANSWERS[0])
    rec.c2a(NEW)
    rec.a2c(ANSWERS[1])
    for turn in (2, 3):
        rec.c2a(prompt(turn, "s1", f"turn {turn}"))
        for n in range(30):
            rec.a2c(update("s1", f"chunk {turn}.{n} "))
        rec.a2c(result(turn, {"stopReason": "end_turn"}))
    return rec


SEEDED = ["drop:p=0.3", "duplicate:p=0.3", "delay:ms=20,jitter=20,p=0.2", "crash:p=0.02"]


def seeded_run(cassette: Path, seed: int, *, trickle: bool) -> tuple[bytes, bytes, int]:
    """The replay's stdout, stderr and status for a client that writes everything at once,
    or one byte at a time with pauses (``trickle``)."""
    faults = [arg for spec in SEEDED for arg in ("--fault", spec)]
    argv = [sys.executable, "-m", "acp_tap", "replay", *faults, "--fault-seed", str(seed)]
    client = CLIENT.replace(dumps_compact(PROMPT), dumps_compact(prompt(2, "s1", "turn 2")))
    client += dumps_compact(prompt(3, "s1", "turn 3")) + b"\n"

    async def main() -> tuple[bytes, bytes, int]:
        proc = await trio.lowlevel.open_process(
            [*argv, str(cassette)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        out, err = bytearray(), bytearray()

        async def drain(stream: trio.abc.ReceiveStream, into: bytearray) -> None:
            while chunk := await stream.receive_some():
                into.extend(chunk)

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drain, proc.stdout, out)
                nursery.start_soon(drain, proc.stderr, err)
                with contextlib.suppress(trio.BrokenResourceError):  # after a crash
                    if trickle:
                        for i in range(len(client)):
                            await proc.stdin.send_all(client[i : i + 1])
                            await trio.sleep(0.002 if i % 7 else 0.02)
                    else:
                        await proc.stdin.send_all(client)
                await proc.stdin.aclose()
            status = await proc.wait()
        return bytes(out), bytes(err), status

    return trio.run(main)


def test_a_fault_seed_repeats_exactly_whatever_the_client_timing(cassette: Path) -> None:
    """The same --fault-seed sends the same bytes and fires the same faults, whether the
    client writes at once or trickles; another seed hits other frames."""
    long_recording().write(cassette)
    fast = seeded_run(cassette, 11, trickle=False)
    slow = seeded_run(cassette, 11, trickle=True)
    assert fast == slow
    assert fast[1].count(b"acp-tap replay: fault ") > 10
    assert fast[2] == 1  # with this seed, crash:p=0.02 fires (at frame #40)
    assert b"fault 4 (crash:p=0.02) at frame #40 " in fast[1]
    other = seeded_run(cassette, 12, trickle=False)
    assert other[0] != fast[0]
