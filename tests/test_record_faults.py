"""``acp-tap record --fault``: what a raw client gets from a live agent, byte for byte and on
time, and what the cassette keeps (the agent's frames, and fault records after them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest
import trio

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.model import Direction, Injection
from acp_tap.cassette.reader import load
from tests.helpers import python_agent
from tests.replay_support import prompt, result, update
from tests.test_replay_faults_e2e import assert_took

AGENT = python_agent(
    """
    import json, sys
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        for text in ("one, ", "and two: a longer chunk of streamed agent text, cut in pieces"):
            update = {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}
            print(json.dumps({"jsonrpc": "2.0", "method": "session/update",
                              "params": {"sessionId": "s1", "update": update}}, separators=(",", ":")))
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"stopReason": "end_turn"}},
                         separators=(",", ":")), flush=True)
    """
)
"""An agent that answers each request with two chunks and a result."""

PROMPT = dumps_compact(prompt(1, "s1", "hi")) + b"\n"
ONE = dumps_compact(update("s1", "one, ")) + b"\n"
TWO = (
    dumps_compact(update("s1", "and two: a longer chunk of streamed agent text, cut in pieces"))
    + b"\n"
)
END = dumps_compact(result(1, {"stopReason": "end_turn"})) + b"\n"
AT_TWO = "update=agent_message_chunk,nth=2"
GAPS = (len(TWO) + 15) // 16 - 1


@attrs.frozen
class Case:
    """A fault, what the client must get, and the fault records the cassette must hold."""

    spec: str
    stdout: bytes
    records: tuple[tuple[str, int, dict[str, object]], ...]  # kind, on (seq), detail
    hold: float | None = None  # seconds from ONE to the end of TWO
    ends: str = "eof"  # eof: after stdin closes; early: before; hang: not at all
    status: int = 0
    stderr: bytes = b""


# the cassette's seqs: 1 the prompt, 2 ONE, 3 TWO, 4 END
CASES = [
    Case(f"delay:ms=400,{AT_TWO}", ONE + TWO + END, (("delay", 3, {"hold": 0.4}),), hold=0.4),
    Case(
        f"slice:bytes=16,gap_ms=40,{AT_TWO}",
        ONE + TWO + END,
        (("slice", 3, {"pieces": GAPS + 1, "bytes": 16}),),
        hold=0.04 * GAPS,
    ),
    Case(f"hang:{AT_TWO}", ONE, (("hang", 3, {}),), ends="hang"),
    Case(f"crash:status=7,{AT_TWO}", ONE, (("crash", 3, {"status": 7}),), ends="early", status=7),
    Case(f"close:{AT_TWO}", ONE, (("close", 3, {}),), ends="early"),
    Case(f"drop:{AT_TWO}", ONE + END, (("drop", 3, {}),)),
    Case(f"duplicate:{AT_TWO}", ONE + TWO + TWO + END, (("duplicate", 3, {"copies": 2}),)),
    Case(
        f"garbage:text=WARN x,{AT_TWO}",
        ONE + b"WARN x\n" + TWO + END,
        (("garbage", 3, {"line": "WARN x"}),),
    ),
    Case(
        f"corrupt:{AT_TWO}",
        ONE + TWO[: (len(TWO) - 1) // 2] + b"\n" + END,
        (("corrupt", 3, {"cut": (len(TWO) - 1) // 2}),),
    ),
    Case(
        "error:method=session/prompt,code=-32001,message=busy",
        ONE + TWO + b'{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"busy"}}\n',
        (("error", 4, {"error": {"code": -32001, "message": "busy"}}),),
    ),
    Case(
        f"stderr:text=NOISE,count=2,{AT_TWO}",
        ONE + TWO + END,
        (("stderr", 3, {"lines": 2, "text": "NOISE"}),),
        stderr=b"NOISE\nNOISE\n",
    ),
    Case(f"flood:count=2,{AT_TWO}", ONE + TWO * 3 + END, (("flood", 3, {"copies": 3}),)),
    Case("delay:dir=c2a,ms=300", ONE + TWO + END, (("delay", 1, {"hold": 0.3}),), hold=0.0),
    Case("duplicate:dir=c2a", (ONE + TWO + END) * 2, (("duplicate", 1, {"copies": 2}),)),
    Case("drop:dir=c2a", b"", (("drop", 1, {}),)),
    Case(
        "garbage:dir=c2a,text=hello agent",
        ONE + TWO + END,
        (("garbage", 1, {"line": "hello agent"}),),
    ),
    Case("corrupt:dir=c2a", b"", (("corrupt", 1, {"cut": (len(PROMPT) - 1) // 2}),)),
    Case(
        "slice:dir=c2a,bytes=10,gap_ms=5",
        ONE + TWO + END,
        (("slice", 1, {"pieces": -(-len(PROMPT) // 10), "bytes": 10}),),
    ),
]


async def converse(proc: trio.Process, case: Case) -> tuple[list[tuple[float, bytes]], float]:
    """Send the prompt; read what the case expects, timed; check how stdout ends."""
    assert proc.stdin is not None and proc.stdout is not None
    began = trio.current_time()
    await proc.stdin.send_all(PROMPT)
    arrivals: list[tuple[float, bytes]] = []
    got = b""
    with trio.fail_after(10):
        while len(got) < len(case.stdout):
            chunk = await proc.stdout.receive_some()
            assert chunk, f"stdout ended after {got!r}"
            arrivals.append((trio.current_time(), bytes(chunk)))
            got += chunk
        assert got == case.stdout
        if case.ends == "early":
            assert await proc.stdout.receive_some() == b""  # before stdin closes
        else:
            with trio.move_on_after(0.5) as quiet:
                more = await proc.stdout.receive_some()
                raise AssertionError(f"more than expected: {more!r}")
            assert quiet.cancelled_caught
        await proc.stdin.aclose()
        if case.ends == "eof":
            assert await proc.stdout.receive_some() == b""
    return arrivals, began


def check_hold(case: Case, arrivals: list[tuple[float, bytes]], began: float) -> None:
    """The hold (or a slice's gaps) took as long as the fault says, within +50 % / +200 ms."""
    if case.hold is None:
        return
    if case.spec.startswith("delay:dir=c2a"):
        took = arrivals[0][0] - began  # the prompt reached the agent late
        assert 0.3 <= took <= 0.3 + 2.0, took  # + the agent's own start, on a loaded machine
        return
    assert_took(arrivals, len(ONE), len(TWO), case.hold)


@pytest.mark.parametrize("case", CASES, ids=[c.spec.split(",")[0] for c in CASES])
def test_each_kind_on_a_live_recording(case: Case, tmp_path: Path) -> None:
    """The client gets what the fault says; the cassette keeps what the agent sent and a
    fault record after the frame it hit; acp-tap exits as the client saw the agent do."""
    cassette = tmp_path / "live.ndjson"
    argv = [sys.executable, "-m", "acp_tap", "record", "-q", "--grace", "1", "-o", str(cassette)]
    argv += ["--fault", case.spec, "--", *AGENT]

    async def main() -> tuple[list[tuple[float, bytes]], float, int | None, bytes]:
        proc = await trio.lowlevel.open_process(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stderr is not None
        err = bytearray()

        async def drain() -> None:
            assert proc.stderr is not None
            while chunk := await proc.stderr.receive_some():
                err.extend(chunk)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drain)
                arrivals, began = await converse(proc, case)
                if case.ends == "hang":
                    await trio.sleep(0.3)
                    assert proc.returncode is None  # the client's stdout is still open
                    proc.terminate()  # the client gives up on the hung agent
                with trio.fail_after(10):
                    await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
        return arrivals, began, proc.returncode, bytes(err)

    arrivals, began, status, err = trio.run(main)
    check_hold(case, arrivals, began)
    if case.ends != "hang":
        assert status == case.status, err
    assert err == case.stderr
    recorded = load(cassette)
    assert recorded.header.faults == (case.spec,)
    assert recorded.header.format == 2
    frames = [
        (f.seq, f.dir, f.wire_bytes) for f in recorded.frames if f.dir is not Direction.AGENT_STDERR
    ]
    agent_sent = [] if case.stdout == b"" and "c2a" in case.spec else [ONE, TWO, END]
    if "duplicate:dir=c2a" in case.spec:
        agent_sent = [ONE, TWO, END, ONE, TWO, END]
    assert frames[0] == (1, Direction.CLIENT_TO_AGENT, PROMPT)
    sent = [wire for _, d, wire in frames if d is Direction.AGENT_TO_CLIENT]
    if case.spec.startswith("crash"):  # the agent is ended at once: it may not get to END
        agent_sent = agent_sent[: len(sent)]
    assert sent == agent_sent
    records = [(r.kind, r.on, r.detail) for r in recorded.injections]
    expected = [
        (kind, on, pytest.approx(detail) if kind == "delay" else detail)
        for kind, on, detail in case.records
    ]
    assert records == expected
    assert all(isinstance(r, Injection) and r.fault == 1 for r in recorded.injections)
    if case.status:
        assert recorded.footer is not None
        assert (recorded.footer.status, recorded.footer.closed_first) == (case.status, "agent")


def test_without_faults_the_header_and_routes_are_unchanged(tmp_path: Path) -> None:
    """A recording without --fault is format 1 with no faults member."""
    cassette = tmp_path / "plain.ndjson"
    done = subprocess.run(
        [sys.executable, "-m", "acp_tap", "record", "-q", "-o", str(cassette), "--", *AGENT],
        input=PROMPT,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.stdout == ONE + TWO + END
    head = cassette.read_bytes().split(b"\n", 1)[0]
    assert b'"format":1' in head
    assert b'"faults"' not in head


def test_output_held_when_the_agent_exits_still_reaches_the_client(tmp_path: Path) -> None:
    """An agent that writes its last line and exits: the delayed line still goes out, on
    time, then the client's stdout ends and the cassette is complete."""
    cassette = tmp_path / "last.ndjson"
    agent = python_agent('import sys; sys.stdout.write(\'{"jsonrpc":"2.0","method":"bye"}\\n\')')
    argv = [sys.executable, "-m", "acp_tap", "record", "-q", "-o", str(cassette)]

    async def main() -> tuple[float, bytes, int]:
        proc = await trio.lowlevel.open_process(
            [*argv, "--fault", "delay:ms=2500", "--", *agent], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        began, got = trio.current_time(), b""
        with trio.fail_after(10):
            while chunk := await proc.stdout.receive_some():
                got += chunk
            took = trio.current_time() - began
            return took, got, await proc.wait()

    took, got, status = trio.run(main)
    assert (got, status) == (b'{"jsonrpc":"2.0","method":"bye"}\n', 0)
    assert 2.5 <= took <= 2.5 + 4  # (+ start-up, seconds on a loaded 2-core machine)
    recorded = load(cassette)
    assert recorded.footer is not None
    assert [(r.kind, r.on) for r in recorded.injections] == [("delay", 1)]
