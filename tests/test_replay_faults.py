"""Faults in the replay engine (pure): what the client is sent, stalls, unused messages, exits."""

from __future__ import annotations

from typing import Any

from acp_tap.faults.spec import parse_faults
from acp_tap.replay.actions import (
    Action,
    CloseOutput,
    Exit,
    Injected,
    Mismatch,
    Pause,
    ReplayOptions,
    ReportKind,
    Send,
    Stderr,
)
from acp_tap.replay.engine import ReplayEngine
from tests.replay_support import Recording, prompt, request, result, update
from tests.test_replay_engine import (
    ALLOW,
    INIT,
    INIT_RESULT,
    PERMISSION,
    basic_recording,
    exits,
    feed,
    line,
    reports,
    sent,
)


def faulty(rec: Recording, *specs: str, **options: Any) -> ReplayEngine:
    """An engine replaying ``rec`` with the faults ``specs``."""
    faults = parse_faults(list(specs))
    return ReplayEngine.from_cassette(rec.cassette(), ReplayOptions(faults=faults, **options))


CLIENT = [
    INIT,
    request(1, "session/new", {"cwd": "/home/rec/project", "mcpServers": []}),
    prompt(2, "s1", "edit the notes"),
    ALLOW,
    result(1, {"content": "notes"}),
]


def test_faults_that_hit_nothing_change_nothing() -> None:
    """With faults that select no frame (so without the in-order path), the client is sent
    exactly what it is sent without faults."""
    plain = feed(ReplayEngine.from_cassette(basic_recording().cassette()), *CLIENT)
    engine = faulty(basic_recording(), "crash:method=nothing/*", "drop:update=none")
    assert feed(engine, *CLIENT) == plain
    assert exits(engine.close(1.0)) == [0]


def test_delay_holds_the_stream_and_the_stall_clock() -> None:
    """A delay pauses the stream at the frame; the stall timeout counts from when it ends."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(prompt(2, "s1", "one"))
    rec.a2c(result(2, {"stopReason": "end_turn"}))
    engine = faulty(rec, "delay:ms=2500,method=initialize")
    actions = feed(engine, INIT, now=10.0)
    assert actions[1:] == [Pause(2.5), Send(line(INIT_RESULT) + b"\n")]
    assert engine.next_deadline() == 10.0 + 2.5 + 1.0  # then the prompt is awaited
    assert [a.text for a in actions if isinstance(a, Injected)] == [
        "fault 1 (delay:ms=2500,method=initialize) at frame #2 the answer to initialize: "
        "the stream held 2500 ms"
    ]


def test_hang_sends_nothing_more_never_stalls_and_expects_nothing_more() -> None:
    """After hang: no frame, no error answer, no stall; at the end no unused report, and the
    exit says the agent hung."""
    engine = faulty(basic_recording(), "hang:update=agent_message_chunk")
    actions = feed(engine, *CLIENT[:3])
    assert sent(actions) == [INIT_RESULT, result(1, {"sessionId": "s1"})]
    assert engine.next_deadline() is None
    later = engine.receive(line(prompt(9, "s1", "anyone there?")), 5.0)
    assert [a for a in later if isinstance(a, Send)] == []
    assert [r.kind for r in reports(later)] == [ReportKind.NO_MATCH]
    end = engine.close(6.0)
    assert reports(end) == []
    assert end[-1] == Exit(1, hung=True)  # the mismatch still counts


def test_crash_exits_with_its_status_at_once() -> None:
    """crash: the frames before it, then Exit(status); nothing after, whatever arrives."""
    engine = faulty(basic_recording(), "crash:status=7,method=session/request_permission")
    actions = feed(engine, *CLIENT[:3])
    assert sent(actions) == [INIT_RESULT, result(1, {"sessionId": "s1"}), update("s1", "Sure.")]
    assert actions[-1] == Exit(7)
    assert engine.done
    assert engine.receive(line(ALLOW), 1.0) == []


def test_close_ends_the_output_but_keeps_judging_the_input() -> None:
    """close: CloseOutput at the frame, nothing after it; client messages are still matched."""
    engine = faulty(basic_recording(), "close:update=agent_message_chunk")
    actions = feed(engine, *CLIENT[:3])
    assert actions[-1] == CloseOutput()
    assert sent(actions) == [INIT_RESULT, result(1, {"sessionId": "s1"})]
    assert exits(engine.close(1.0)) == [0]
    engine = faulty(basic_recording(), "close:update=agent_message_chunk")
    feed(engine, *CLIENT[:3])
    later = engine.receive(line(prompt(9, "s1", "hello?")), 2.0)
    assert [a for a in later if isinstance(a, Send | Stderr)] == []
    assert [r.kind for r in reports(later)] == [ReportKind.NO_MATCH]
    assert exits(engine.close(3.0)) == [1]


def test_a_dropped_agent_request_holds_its_lane_without_a_stall() -> None:
    """The client never saw the permission request: nothing waits for its answer as a
    stall would, and the answers it could not give are not unused."""
    engine = faulty(basic_recording(), "drop:method=session/request_permission")
    actions = feed(engine, *CLIENT[:3])
    assert sent(actions)[-1] == update("s1", "Sure.")
    assert engine.next_deadline() is None
    end = engine.close(30.0)
    assert [a for a in end if isinstance(a, Mismatch)] == []
    assert exits(end) == [0]


def test_a_dropped_notification_keeps_the_stall_rule() -> None:
    """Dropping an update withholds nothing the client waits for... but the client cannot
    know that: its silence is not a stall either."""
    engine = faulty(basic_recording(), "drop:update=agent_message_chunk,nth=2")
    feed(engine, *CLIENT)
    assert exits(engine.close(1.0)) == [0]


def test_error_answers_the_live_id_with_the_fault_code() -> None:
    """error: the response becomes a JSON-RPC error carrying the client's own id."""
    engine = faulty(basic_recording(), "error:method=session/new,code=-32000,message=no room")
    actions = feed(engine, INIT, dict(CLIENT[1], id="new-1"))
    assert sent(actions)[-1] == {
        "jsonrpc": "2.0",
        "id": "new-1",
        "error": {"code": -32000, "message": "no room"},
    }
    assert exits(engine.close(1.0)) == [0]  # the prompt made impossible is not unused


def test_stderr_noise_garbage_and_flood() -> None:
    """stderr writes noise, garbage a line before the frame, flood extra copies."""
    engine = faulty(
        basic_recording(),
        "stderr:text=warn,count=2,update=agent_message_chunk,nth=1",
        "garbage:text=INFO tool,update=agent_message_chunk,nth=1",
        "flood:count=2,update=agent_message_chunk,nth=2",
    )
    actions = feed(engine, *CLIENT)
    assert Stderr(b"warn\nwarn\n") in actions
    assert b"INFO tool" in sent(actions)
    assert sent(actions).count(update("s1", "Done.")) == 3
    assert exits(engine.close(1.0)) == [0]


def test_unused_messages_before_a_withheld_frame_still_count() -> None:
    """A drop excuses only client messages recorded after the dropped frame."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(prompt(2, "s1", "one"))
    rec.a2c(update("s1", "x"))
    rec.a2c(result(2, {"stopReason": "end_turn"}))
    rec.c2a(prompt(3, "s1", "two"))
    rec.a2c(result(3, {"stopReason": "end_turn"}))
    engine = faulty(rec, "drop:method=session/prompt,nth=2")
    feed(engine, INIT)
    end = engine.close(1.0)
    assert [r.summary.split(" (")[0] for r in reports(end)] == [
        "2 recorded client messages never arrived"
    ]
    engine = faulty(rec, "drop:method=session/prompt,nth=1")
    feed(engine, INIT, prompt(2, "s1", "one"))
    assert exits(engine.close(1.0)) == [0]


def test_faulted_requests_are_not_registered_as_asked() -> None:
    """A corrupted agent request cannot be answered: the client's answer is unexpected."""
    engine = faulty(basic_recording(), "corrupt:method=session/request_permission")
    actions: list[Action] = feed(engine, *CLIENT[:3])
    assert sent(actions)[-1] == line(PERMISSION)[: len(line(PERMISSION)) // 2]
    answer = engine.receive(line(ALLOW), 1.0)
    assert [r.kind for r in reports(answer)] == [ReportKind.UNEXPECTED_ANSWER]
