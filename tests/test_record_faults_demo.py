"""Record-mode faults between a real client (the demo client) and the demo agent, and what
every reader makes of the cassette: show marks the faults, check and replay read on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from acp_tap.cassette.codec import decode_line, encode_record
from acp_tap.cassette.model import Direction, Injection
from acp_tap.cassette.reader import load
from tests.helpers import ACP_TAP, run_cli


def record(tmp_path: Path, *faults: str) -> tuple[subprocess.CompletedProcess[bytes], Path]:
    """``acp-tap demo-client -- acp-tap record --fault ... -- acp-tap demo-agent``."""
    cassette = tmp_path / "demo.ndjson"
    specs = [arg for spec in faults for arg in ("--fault", spec)]
    agent = [*ACP_TAP, "record", "-q", "--grace", "1", "-o", str(cassette), *specs, "--"]
    done = subprocess.run(
        [*ACP_TAP, "demo-client", "--timeout", "3", "--", *agent, *ACP_TAP, "demo-agent"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done, cassette


def test_a_client_that_survives_garbage_duplicates_and_late_prompts(tmp_path: Path) -> None:
    """The demo client finishes its conversation through garbage lines, duplicated chunks
    and a prompt held 300 ms on its way to the agent; the cassette keeps the agent's own
    frames, the fault records after the frames they hit, and the faults in its header."""
    faults = (
        "garbage:update=agent_message_chunk,nth=2",
        "duplicate:update=agent_message_chunk",
        "delay:dir=c2a,ms=300,method=session/prompt",
    )
    done, cassette = record(tmp_path, *faults)
    assert done.returncode == 0, done.stderr
    assert "acp-tap demo agent" in done.stdout.decode()
    recorded = load(cassette)
    assert recorded.header.faults == faults
    kinds = [(r.fault, r.kind, r.dir) for r in recorded.injections]
    assert kinds.count((1, "garbage", Direction.AGENT_TO_CLIENT)) == 1
    assert kinds.count((3, "delay", Direction.CLIENT_TO_AGENT)) == 2  # both prompts
    chunks = kinds.count((2, "duplicate", Direction.AGENT_TO_CLIENT))
    assert chunks > 5
    updates = [f for f in recorded.frames if b'"agent_message_chunk"' in f.raw]
    assert len(updates) == chunks  # recorded once each: what the agent sent
    by_seq = {f.seq: f for f in recorded.frames}
    assert all(
        b"agent_message_chunk" in by_seq[r.on].raw for r in recorded.injections if r.fault < 3
    )
    assert all(b'"session/prompt"' in by_seq[r.on].raw for r in recorded.injections if r.fault == 3)

    shown = run_cli(["show", "--color", "never", cassette]).stdout.decode()
    assert "fault 1: garbage:update=agent_message_chunk,nth=2" in shown  # the header
    assert "⚡ injected  fault 3 (delay) on frame #" in shown
    assert "a line that is not JSON sent before it: 'acp-tap: injected log line" in shown
    events = [
        json.loads(line) for line in run_cli(["show", "--json", cassette]).stdout.splitlines()
    ]
    faulted = [e for e in events if e["kind"] == "fault"]
    assert len(faulted) == len(recorded.injections)
    assert {e["injected"] for e in faulted} == {"garbage", "duplicate", "delay"}

    checked = run_cli(["check", cassette])
    assert checked.returncode == 0, checked.stdout
    replayed = run_cli(
        ["demo-client", "--timeout", "3", "--", *ACP_TAP, "replay", cassette], cwd=tmp_path
    )
    assert replayed.returncode == 0, replayed.stderr
    client = b"".join(f.wire_bytes for f in recorded.frames if f.dir is Direction.CLIENT_TO_AGENT)
    warned = run_cli(["replay", cassette], stdin=client)
    assert warned.returncode == 0, warned.stderr
    assert warned.stderr.decode().splitlines() == [
        f"acp-tap replay: warning: {cassette} was recorded with faults; the replay sends what "
        "the agent sent (to show the client those again: --fault "
        "garbage:update=agent_message_chunk,nth=2 --fault duplicate:update=agent_message_chunk)"
    ]


def test_a_crash_ends_the_client_side_and_the_agent(tmp_path: Path) -> None:
    """crash: the client sees its agent's output end and its exit status; the real agent is
    ended; the footer says what the client saw."""
    done, cassette = record(tmp_path, "crash:status=5,update=agent_message_chunk,nth=3")
    assert done.returncode == 1
    assert done.stderr.decode().endswith(
        "the agent closed its output before answering session/prompt (agent status 5)\n"
    )
    recorded = load(cassette)
    assert recorded.footer is not None
    assert (recorded.footer.status, recorded.footer.closed_first) == (5, "agent")
    assert [(r.kind, r.detail) for r in recorded.injections] == [("crash", {"status": 5})]


def test_fault_records_round_trip_and_old_readers_are_told() -> None:
    """A fault record encodes and decodes as itself; format 2 is named in the refusal a
    reader of another format gives."""
    record_ = Injection(t=1.5, on=7, dir=Direction.AGENT_TO_CLIENT, fault=2, kind="delay",
                        detail={"hold": 0.25})  # fmt: skip
    line = encode_record(record_)
    assert line == (
        b'{"type":"fault","t":1.5,"on":7,"dir":"a2c","fault":2,"kind":"delay","hold":0.25}\n'
    )
    assert decode_line(line) == record_
