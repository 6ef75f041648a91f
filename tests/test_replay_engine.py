"""The replay engine, fed client lines by hand (pure, no I/O)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.model import Direction, Eol
from acp_tap.cassette.reader import load
from acp_tap.replay.actions import (
    Action,
    Exit,
    Mismatch,
    OnMismatch,
    ReplayOptions,
    Report,
    ReportKind,
    Send,
    Stderr,
)
from acp_tap.replay.engine import MISMATCH_CODE, ReplayEngine
from acp_tap.replay.inorder import InOrder
from tests.replay_support import (
    CWD,
    Recording,
    notification,
    prompt,
    request,
    result,
    update,
)

INIT = request(0, "initialize", {"protocolVersion": 1, "clientInfo": {"name": "t", "version": "1"}})
INIT_RESULT = result(0, {"protocolVersion": 1, "agentCapabilities": {}})
PERMISSION = request(
    0,
    "session/request_permission",
    {
        "sessionId": "s1",
        "toolCall": {"toolCallId": "call-1", "title": "edit"},
        "options": [
            {"optionId": "allow", "name": "Allow", "kind": "allow_once"},
            {"optionId": "reject", "name": "Reject", "kind": "reject_once"},
        ],
    },
)
ALLOW = result(0, {"outcome": {"outcome": "selected", "optionId": "allow"}})


def line(message: Any) -> bytes:
    """A client line (without terminator)."""
    return dumps_compact(message)


def sent(actions: list[Action]) -> list[Any]:
    """The messages sent to the client, decoded (non-JSON lines as bytes)."""
    out: list[Any] = []
    for action in actions:
        if isinstance(action, Send):
            for raw in action.data.splitlines():
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    out.append(raw)
    return out


def reports(actions: list[Action]) -> list[Report]:
    """The mismatch reports among ``actions``."""
    return [a.report for a in actions if isinstance(a, Mismatch)]


def exits(actions: list[Action]) -> list[int]:
    """The exit statuses among ``actions``."""
    return [a.status for a in actions if isinstance(a, Exit)]


def basic_recording() -> Recording:
    """initialize, session/new, a prompt turn with a permission request and a file read."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(request(1, "session/new", {"cwd": CWD, "mcpServers": []}))
    rec.a2c(result(1, {"sessionId": "s1"}))
    rec.c2a(prompt(2, "s1", "edit the notes"))
    rec.a2c(update("s1", "Sure."))
    rec.a2c(PERMISSION)
    rec.c2a(ALLOW)
    rec.a2c(request(1, "fs/read_text_file", {"sessionId": "s1", "path": f"{CWD}/notes.txt"}))
    rec.c2a(result(1, {"content": "notes"}))
    rec.a2c(update("s1", "Done."))
    rec.a2c(result(2, {"stopReason": "end_turn"}))
    return rec


def engine_for(rec: Recording, **options: Any) -> ReplayEngine:
    """An engine replaying ``rec`` (a client-closed recording unless ``closed_first``)."""
    closed_first = options.pop("closed_first", "client")
    status = options.pop("status", 0)
    return ReplayEngine.from_cassette(rec.cassette(closed_first, status), ReplayOptions(**options))


def feed(engine: ReplayEngine, *messages: Any, now: float = 0.0) -> list[Action]:
    """Start the engine and feed client messages; return all actions."""
    out = engine.start(now)
    for message in messages:
        out += engine.receive(message if isinstance(message, bytes) else line(message), now)
    return out


def test_initialize_is_answered_with_the_live_id_keeping_its_type() -> None:
    """The response carries the client's own id: a string stays a string, a number a number."""
    for live_id in ("req-7", 42):
        engine = engine_for(basic_recording())
        out = feed(engine, dict(INIT, id=live_id))
        assert sent(out) == [dict(INIT_RESULT, id=live_id)]


def test_response_bytes_are_the_recorded_ones_but_the_id() -> None:
    """Only the id's bytes change; the agent's own serialisation is kept, even id-last."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(b'{"result" : {"b":1, "a":[1, 2]},  "id":0, "jsonrpc":"2.0"}')
    engine = engine_for(rec)
    out = feed(engine, dict(INIT, id="x"))
    assert out == [Send(b'{"result" : {"b":1, "a":[1, 2]},  "id":"x", "jsonrpc":"2.0"}\n')]


def test_full_turn_replays_with_agent_requests_keeping_recorded_ids() -> None:
    """A prompt turn plays in order; agent requests wait for nothing but keep their ids."""
    engine = engine_for(basic_recording())
    out = feed(
        engine,
        dict(INIT, id=10),
        request(11, "session/new", {"cwd": CWD, "mcpServers": []}),
        prompt(12, "s1", "edit the notes"),
    )
    assert sent(out) == [
        dict(INIT_RESULT, id=10),
        result(11, {"sessionId": "s1"}),
        update("s1", "Sure."),
        PERMISSION,
    ]
    out = engine.receive(line(ALLOW), 1.0)
    assert sent(out) == [
        request(1, "fs/read_text_file", {"sessionId": "s1", "path": f"{CWD}/notes.txt"})
    ]
    out = engine.receive(line(result(1, {"content": "notes"})), 2.0)
    assert sent(out) == [update("s1", "Done."), result(12, {"stopReason": "end_turn"})]
    assert engine.close(3.0) == [Exit(0)]


def test_updates_wait_for_their_prompt() -> None:
    """Nothing of a turn is sent before its prompt arrives."""
    engine = engine_for(basic_recording())
    out = feed(engine, INIT, request(1, "session/new", {"cwd": CWD, "mcpServers": []}))
    assert sent(out) == [INIT_RESULT, result(1, {"sessionId": "s1"})]
    assert engine.poll(0.5) == []  # within the stall timeout


def test_frames_before_any_client_message_are_sent_at_start() -> None:
    """What the agent printed before the client said anything comes first, unasked."""
    rec = Recording()
    rec.a2c(b"agent banner")
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    engine = engine_for(rec)
    assert engine.start(0.0) == [Send(b"agent banner\n")]
    assert sent(engine.receive(line(INIT), 0.0)) == [INIT_RESULT]


def test_changed_permission_answer_fails_the_turn() -> None:
    """A different permission answer is a mismatch; the prompt gets an error naming it."""
    engine = engine_for(basic_recording())
    feed(
        engine,
        INIT,
        request(1, "session/new", {"cwd": CWD, "mcpServers": []}),
        prompt(7, "s1", "edit the notes"),
    )
    out = engine.receive(
        line(result(0, {"outcome": {"outcome": "selected", "optionId": "reject"}})), 1
    )
    expected_message = (
        "acp-tap replay: the client's answer to session/request_permission (frame #7) differs "
        'from the recording: result.outcome.optionId: expected "allow", got "reject"'
    )
    [report, skipped] = reports(out)
    assert report.kind is ReportKind.ANSWER
    assert report.closest == "frame #8 (a response)"
    assert skipped.kind is ReportKind.SKIPPED
    assert skipped.summary.startswith("recorded agent frames #9, #11, #12 not sent")
    [error] = sent(out)
    assert error["id"] == 7
    assert error["error"]["code"] == MISMATCH_CODE
    assert error["error"]["message"] == expected_message
    assert engine.close(2) == [Exit(1)]


def test_changed_prompt_gets_an_error_naming_the_closest_and_the_difference() -> None:
    """An unmatched request is answered with -32099 naming frame, method and differing field."""
    engine = engine_for(basic_recording())
    out = feed(
        engine,
        INIT,
        request(1, "session/new", {"cwd": CWD, "mcpServers": []}),
        prompt("p", "s1", "edit the notes!"),
    )
    error = sent(out)[-1]
    assert error == {
        "jsonrpc": "2.0",
        "id": "p",
        "error": {
            "code": MISMATCH_CODE,
            "message": "acp-tap replay: no recorded message matches this session/prompt request; "
            'closest is frame #5 session/prompt: params.prompt[0].text: expected "edit the '
            'notes", got "edit the notes!"',
            "data": {
                "acpTap": {
                    "closest": {"seq": 5, "method": "session/prompt", "used": False},
                    "differences": [
                        {
                            "path": "params.prompt[0].text",
                            "expected": "edit the notes",
                            "got": "edit the notes!",
                        }
                    ],
                }
            },
        },
    }
    [report] = reports(out)
    assert '- expected "edit the notes"\n' in report.render()
    out = engine.close(1)
    [unused] = reports(out)
    assert unused.kind is ReportKind.UNUSED
    assert unused.details[0].startswith("frame #5 session/prompt: ")
    assert exits(out) == [1]


def test_repeated_request_is_an_error_naming_the_used_frame() -> None:
    """A request sent twice is answered once; the repeat names the frame and the option."""
    engine = engine_for(basic_recording())
    out = feed(engine, INIT, dict(INIT, id=5))
    assert sent(out)[0] == INIT_RESULT
    error = sent(out)[1]
    assert error["id"] == 5
    assert error["error"]["message"] == (
        "acp-tap replay: this initialize request repeats frame #1 initialize, which was "
        "already used; pass --allow-repeats to answer it again"
    )
    assert [r.kind for r in reports(out)] == [ReportKind.REPEAT]
    assert exits(engine.close(1)) == [1]


def test_allow_repeats_answers_again_with_the_new_id() -> None:
    """With allow_repeats a repeated request gets the recorded response again."""
    engine = engine_for(basic_recording(), allow_repeats=True, allow_unused=True)
    out = feed(engine, INIT, dict(INIT, id=5))
    assert sent(out) == [INIT_RESULT, dict(INIT_RESULT, id=5)]
    assert engine.close(1)[-1] == Exit(0)


def test_extra_request_of_an_unrecorded_method() -> None:
    """A method the recording never saw is answered with an error; the status is 1."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    engine = engine_for(rec)
    out = feed(engine, INIT, request(9, "session/set_mode", {"sessionId": "s", "modeId": "x"}))
    assert sent(out)[1]["error"]["message"] == (
        "acp-tap replay: this session/set_mode request matches nothing: no session/set_mode "
        "was recorded from the client; recorded methods: initialize"
    )
    assert engine.close(1)[-1] == Exit(1)


def test_missing_request_is_reported_at_eof() -> None:
    """Recorded client messages that never arrive are listed at EOF; status 1."""
    engine = engine_for(basic_recording())
    feed(engine, INIT)
    out = engine.close(1.0)
    [report] = reports(out)
    assert report.summary == (
        "2 recorded client messages never arrived (--allow-unused accepts this)"
    )
    assert [d.split(":")[0] for d in report.details] == [
        "frame #3 session/new",
        "frame #5 session/prompt",
        "(and 2 recorded answers to agent requests that were never sent, because of the above)",
    ]
    assert exits(out) == [1]


def test_allow_unused_exits_zero_but_still_reports() -> None:
    """allow_unused keeps the report but exits 0."""
    engine = engine_for(basic_recording(), allow_unused=True)
    feed(engine, INIT)
    out = engine.close(1.0)
    assert [r.kind for r in reports(out)] == [ReportKind.UNUSED]
    assert exits(out) == [0]


def test_on_mismatch_exit_stops_after_the_error() -> None:
    """With on_mismatch=exit the error answer is followed by Exit(1); later input is ignored."""
    engine = engine_for(basic_recording(), on_mismatch=OnMismatch.EXIT)
    out = feed(engine, INIT, request(1, "session/new", {"cwd": "/x", "mcpServers": [1]}))
    assert isinstance(out[-1], Exit)
    assert out[-1].status == 1
    assert sent(out)[-1]["error"]["code"] == MISMATCH_CODE
    assert engine.done
    assert engine.receive(line(INIT), 1) == []
    assert engine.close(1) == []


def test_unmatched_notification_is_only_reported() -> None:
    """A notification that matches nothing gets no answer, only a report."""
    engine = engine_for(basic_recording())
    out = feed(engine, INIT, notification("session/cancel", {"sessionId": "nope"}))
    assert sent(out) == [INIT_RESULT]
    assert [r.kind for r in reports(out)] == [ReportKind.NO_MATCH]


def test_answer_to_unknown_agent_request() -> None:
    """An answer to an id no agent request is waiting on is a mismatch."""
    engine = engine_for(basic_recording())
    out = feed(engine, INIT, result(99, {}))
    [report] = reports(out)
    assert report.kind is ReportKind.UNEXPECTED_ANSWER
    assert "id 99" in report.summary


def two_sessions() -> Recording:
    """Two sessions created and prompted in turn, A first."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    for n, sid in ((1, "A"), (2, "B")):
        rec.c2a(request(n, "session/new", {"cwd": f"/w/{sid}", "mcpServers": []}))
        rec.a2c(result(n, {"sessionId": sid}))
    rec.c2a(prompt(3, "A", "a?"))
    rec.a2c(update("A", "a1"))
    rec.c2a(prompt(4, "B", "b?"))
    rec.a2c(update("B", "b1"))
    rec.a2c(update("A", "a2"))
    rec.a2c(result(3, {"stopReason": "end_turn"}))
    rec.a2c(result(4, {"stopReason": "end_turn"}))
    return rec


def test_independent_sessions_may_be_reordered() -> None:
    """B's prompt first releases B's turn only; A's follows when A's prompt arrives."""
    engine = engine_for(two_sessions())
    feed(
        engine,
        INIT,
        request(1, "session/new", {"cwd": "/w/A", "mcpServers": []}),
        request(2, "session/new", {"cwd": "/w/B", "mcpServers": []}),
    )
    out = engine.receive(line(prompt(40, "B", "b?")), 1)
    assert sent(out) == [update("B", "b1"), result(40, {"stopReason": "end_turn"})]
    out = engine.receive(line(prompt(30, "A", "a?")), 2)
    assert sent(out) == [
        update("A", "a1"),
        update("A", "a2"),
        result(30, {"stopReason": "end_turn"}),
    ]
    assert engine.close(3) == [Exit(0)]


def test_concurrent_requests_may_arrive_in_any_order() -> None:
    """Two session/new in flight are answered in whichever order they arrive."""
    engine = engine_for(two_sessions())
    out = feed(
        engine,
        INIT,
        request("b", "session/new", {"cwd": "/w/B", "mcpServers": []}),
        request("a", "session/new", {"cwd": "/w/A", "mcpServers": []}),
    )
    assert sent(out)[1:] == [result("b", {"sessionId": "B"}), result("a", {"sessionId": "A"})]


def test_identical_requests_are_consumed_fifo() -> None:
    """Identical recorded requests answer in recorded order, whatever the live ids."""
    rec = Recording()
    for n, sid in ((1, "first"), (2, "second")):
        rec.c2a(request(n, "session/new", {"cwd": CWD, "mcpServers": []}))
        rec.a2c(result(n, {"sessionId": sid}))
    engine = engine_for(rec)
    out = feed(
        engine,
        request(9, "session/new", {"cwd": CWD, "mcpServers": []}),
        request(8, "session/new", {"cwd": CWD, "mcpServers": []}),
    )
    assert sent(out) == [result(9, {"sessionId": "first"}), result(8, {"sessionId": "second"})]


def test_frames_after_a_cancel_wait_for_it() -> None:
    """Frames recorded after session/cancel are sent only once the cancel arrives."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.a2c(update("s", "one"))
    rec.c2a(notification("session/cancel", {"sessionId": "s"}))
    rec.a2c(update("s", "stopping"))
    rec.a2c(result(1, {"stopReason": "cancelled"}))
    engine = engine_for(rec)
    assert sent(feed(engine, prompt(5, "s", "go"))) == [update("s", "one")]
    out = engine.receive(line(notification("session/cancel", {"sessionId": "s"})), 1)
    assert sent(out) == [update("s", "stopping"), result(5, {"stopReason": "cancelled"})]


def test_session_load_replays_history_after_the_load() -> None:
    """History updates of session/load wait for the load and precede its response."""
    rec = Recording()
    load = request(1, "session/load", {"sessionId": "old", "cwd": CWD, "mcpServers": []})
    rec.c2a(load)
    rec.a2c(update("old", "history 1"))
    rec.a2c(update("old", "history 2"))
    rec.a2c(result(1, None))
    engine = engine_for(rec)
    assert engine.start(0) == []
    out = engine.receive(line(dict(load, id="L")), 0)
    assert sent(out) == [update("old", "history 1"), update("old", "history 2"), result("L", None)]


def test_session_notifications_before_any_session_message_wait_for_session_new() -> None:
    """An update for a new session (e.g. available commands) waits for its session/new."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(request(1, "session/new", {"cwd": CWD, "mcpServers": []}))
    rec.a2c(result(1, {"sessionId": "s1"}))
    rec.a2c(notification("_kiro.dev/commands/available", {"sessionId": "s1", "commands": []}))
    engine = engine_for(rec)
    assert sent(feed(engine, INIT)) == [INIT_RESULT]
    out = engine.receive(line(request(1, "session/new", {"cwd": CWD, "mcpServers": []})), 1)
    assert len(sent(out)) == 2


def test_crash_is_replayed_with_the_recorded_status() -> None:
    """A recording ending with the agent exiting on its own ends the same way."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.a2c(update("s", "partial"))
    rec.err(b"panic: boom")
    engine = engine_for(rec, closed_first="agent", status=3, stderr=True)
    out = feed(engine, prompt(1, "s", "go"))
    assert out == [Send(line(update("s", "partial")) + b"\n"), Stderr(b"panic: boom\n"), Exit(3)]


def test_crash_with_a_mismatch_exits_one() -> None:
    """A mismatch wins over the recorded exit status."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(prompt(1, "s", "go"))
    engine = engine_for(rec, closed_first="agent", status=3)
    out = feed(engine, notification("nope"), INIT)
    assert exits(out) == [1]


def test_client_messages_recorded_after_the_agent_died_are_not_required() -> None:
    """At an agent exit, client messages recorded after its last frame are not unused."""
    rec = Recording()
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    rec.c2a(notification("session/cancel", {"sessionId": "s"}))
    engine = engine_for(rec, closed_first="agent", status=2)
    assert exits(feed(engine, INIT)) == [2]


def test_stderr_lines_only_on_request() -> None:
    """Recorded stderr is replayed only with the stderr option."""
    rec = Recording()
    rec.err(b"starting")
    rec.c2a(INIT)
    rec.a2c(INIT_RESULT)
    assert engine_for(rec).start(0) == []
    assert engine_for(rec, stderr=True).start(0) == [Stderr(b"starting\n")]


def test_non_json_agent_frames_are_byte_exact() -> None:
    """Lines that were not JSON go out exactly, terminators included."""
    rec = Recording()
    rec.c2a(INIT)
    rec.add(rec.frames[0].dir.AGENT_TO_CLIENT, b"\xff\xfebinary", Eol.CRLF)
    rec.add(rec.frames[0].dir.AGENT_TO_CLIENT, b"  ", Eol.LF)
    rec.add(rec.frames[0].dir.AGENT_TO_CLIENT, b'{"half":', Eol.NONE)
    engine = engine_for(rec)
    out = feed(engine, INIT)
    assert out == [Send(b'\xff\xfebinary\r\n  \n{"half":')]


def test_non_json_client_line_matches_only_identically() -> None:
    """A recorded non-JSON client line matches the same bytes; other garbage is a mismatch."""
    rec = Recording()
    rec.c2a(b"hello?")
    rec.a2c(b"what?")
    engine = engine_for(rec)
    out = feed(engine, b"hullo?")
    assert [r.kind for r in reports(out)] == [ReportKind.NO_MATCH]
    assert sent(feed(engine, b"hello?")) == [b"what?"]


def test_working_directory_is_relocated_both_ways() -> None:
    """A session/new from another checkout matches; paths go out and come in rewritten."""
    rec = Recording()
    rec.c2a(request(1, "session/new", {"cwd": CWD, "mcpServers": []}))
    rec.a2c(result(1, {"sessionId": "s1"}))
    rec.c2a(prompt(2, "s1", f"look at {CWD}/src/main.py"))
    rec.a2c(request(0, "fs/read_text_file", {"sessionId": "s1", "path": f"{CWD}/src/main.py"}))
    live = "/tmp/other checkout"
    engine = engine_for(rec)
    out = feed(
        engine,
        request(1, "session/new", {"cwd": live, "mcpServers": []}),
        prompt(2, "s1", f"look at {live}/src/main.py"),
    )
    assert reports(out) == []
    assert sent(out)[-1]["params"]["path"] == f"{live}/src/main.py"


def test_trace_context_and_ignore_paths_do_not_count() -> None:
    """traceparent in _meta and --ignore paths may differ from the recording."""
    engine = engine_for(basic_recording(), ignore=("params.clientInfo.version",))
    live = json.loads(json.dumps(INIT))
    live["params"]["clientInfo"]["version"] = "9.9"
    live["params"]["_meta"] = {"traceparent": "00-abc-def-01"}
    assert sent(feed(engine, live)) == [INIT_RESULT]


def test_redacted_recorded_fields_are_not_compared() -> None:
    """Values redacted in the cassette match whatever the live client sends."""
    rec = Recording()
    frame = rec.c2a(request(0, "authenticate", {"methodId": "key", "apiKey": "[REDACTED]"}))
    rec.frames[-1] = type(frame)(
        frame.seq, frame.t, frame.dir, frame.raw, frame.payload, frame.eol, ("params.apiKey",)
    )
    rec.a2c(result(0, {}))
    engine = engine_for(rec)
    out = feed(engine, request(3, "authenticate", {"methodId": "key", "apiKey": "secret"}))
    assert sent(out) == [result(3, {})]


def test_cancel_request_names_the_live_id() -> None:
    """$/cancel_request from the client names its live id; it matches the recorded one."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.c2a(notification("$/cancel_request", {"requestId": 1}))
    rec.a2c(result(1, {"stopReason": "cancelled"}))
    engine = engine_for(rec)
    out = feed(
        engine, prompt("p9", "s", "go"), notification("$/cancel_request", {"requestId": "p9"})
    )
    assert sent(out) == [result("p9", {"stopReason": "cancelled"})]


def test_realtime_reproduces_recorded_gaps() -> None:
    """With a speed, frames are due at the recorded gaps after what they wait for."""
    rec = Recording(step=1.0)
    rec.c2a(prompt(1, "s", "go"))  # t=1
    rec.a2c(update("s", "one"))  # t=2
    rec.a2c(update("s", "two"))  # t=3
    engine = engine_for(rec, speed=2.0, stall_timeout=0)
    assert engine.start(10.0) == []
    assert engine.receive(line(prompt(1, "s", "go")), 10.0) == []
    assert engine.next_deadline() == 10.5
    assert sent(engine.poll(10.4)) == []
    assert sent(engine.poll(10.5)) == [update("s", "one")]
    assert engine.next_deadline() == 11.0
    assert sent(engine.poll(11.0)) == [update("s", "two")]
    assert engine.next_deadline() is None


def test_statistics_count_the_replay() -> None:
    """Counters reflect received, matched, sent and unused."""
    engine = engine_for(basic_recording())
    feed(engine, INIT, notification("x"))
    stats = engine.statistics()
    assert (stats.received, stats.matched, stats.mismatches, stats.sent, stats.unused) == (
        2,
        1,
        1,
        1,
        4,
    )
    assert stats.pending == 6


@pytest.mark.parametrize("bad", [b"", b"{", b"[1,2]", b"null"])
def test_odd_client_lines_never_crash_the_engine(bad: bytes) -> None:
    """Empty, cut, non-object and null lines are reported, never raised."""
    engine = engine_for(basic_recording())
    out = feed(engine, bad)
    assert [r.kind for r in reports(out)] == [ReportKind.NO_MATCH]


def test_turn_response_waits_for_the_answer_to_the_last_agent_request() -> None:
    """A prompt's response recorded right after a permission answer waits for that answer."""
    rec = Recording()
    rec.c2a(prompt(1, "s1", "go"))
    rec.a2c(PERMISSION)
    rec.c2a(ALLOW)
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    engine = engine_for(rec)
    assert sent(feed(engine, prompt(1, "s1", "go"))) == [PERMISSION]
    assert sent(engine.receive(line(ALLOW), 1)) == [result(1, {"stopReason": "end_turn"})]


def test_core_modules_never_import_trio() -> None:
    """The sans-IO replay core loads without trio (the shell alone uses it)."""
    code = (
        "import sys; import acp_tap.replay, acp_tap.replay.engine, acp_tap.replay.source; "
        "assert 'trio' not in sys.modules, 'trio imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_agent_cancel_request_names_the_live_id() -> None:
    """An agent's $/cancel_request for a client request carries the client's live id."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.a2c(notification("$/cancel_request", {"requestId": 1}))
    rec.a2c(result(1, {"stopReason": "cancelled"}))
    engine = engine_for(rec)
    out = feed(engine, prompt("mine", "s", "go"))
    assert sent(out) == [
        notification("$/cancel_request", {"requestId": "mine"}),
        result("mine", {"stopReason": "cancelled"}),
    ]


def test_allow_repeats_accepts_a_repeated_notification() -> None:
    """With allow_repeats a notification sent again is accepted silently."""
    rec = Recording()
    rec.c2a(notification("session/cancel", {"sessionId": "s"}))
    engine = engine_for(rec, allow_repeats=True)
    cancel = notification("session/cancel", {"sessionId": "s"})
    assert feed(engine, cancel, cancel) == []
    assert engine.close(1) == [Exit(0)]


def test_repeat_before_the_response_is_answered_with_it() -> None:
    """A repeat arriving before the recorded response was due gets it too, when it is sent."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.c2a(notification("session/cancel", {"sessionId": "s"}))
    rec.a2c(result(1, {"stopReason": "cancelled"}))
    engine = engine_for(rec, allow_repeats=True)
    assert sent(feed(engine, prompt(1, "s", "go"), prompt(2, "s", "go"))) == []
    out = engine.receive(line(notification("session/cancel", {"sessionId": "s"})), 1)
    assert sent(out) == [
        result(1, {"stopReason": "cancelled"}),
        result(2, {"stopReason": "cancelled"}),
    ]


def test_redacted_recorded_answer_is_not_compared() -> None:
    """An answer whose result was redacted (a credential) matches whatever the client answers."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.a2c(request(0, "_kiro.dev/auth/token", {"sessionId": "s"}))
    frame = rec.c2a(result(0, {"token": "[REDACTED]"}))
    rec.frames[-1] = type(frame)(
        frame.seq, frame.t, frame.dir, frame.raw, frame.payload, frame.eol, ("result",)
    )
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    engine = engine_for(rec)
    feed(engine, prompt(1, "s", "go"))
    out = engine.receive(line(result(0, {"token": "the real one"})), 1)
    assert sent(out) == [result(1, {"stopReason": "end_turn"})]
    assert engine.close(2) == [Exit(0)]


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parent.parent / "fixtures").glob("*.ndjson")), ids=str
)
def test_closing_in_order_leaves_the_match_index_alone_and_ends_the_same(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's input ends after k of its recorded messages, in order: close() skips
    bringing the match index up to date (nothing more will be matched) and says and sends
    exactly what it did when it brought it up to date."""
    cassette = load(path)
    clients = [f.raw for f in cassette.frames if f.dir is Direction.CLIENT_TO_AGENT]

    def run(k: int) -> list[str]:
        engine = ReplayEngine.from_cassette(cassette, ReplayOptions())
        out = engine.start(0.0)
        for raw in clients[:k]:
            out += engine.receive(bytes(raw), 0.0)
        return [repr(action) for action in out + engine.close(0.0)]

    fast = [run(k) for k in range(len(clients) + 1)]
    restore = InOrder.restore
    monkeypatch.setattr(
        InOrder, "restore", lambda self, *a, **kw: restore(self, *a, **{**kw, "closing": False})
    )
    assert fast == [run(k) for k in range(len(clients) + 1)]
