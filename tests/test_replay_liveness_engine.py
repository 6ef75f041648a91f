"""Replay liveness in the pure engine: stalls, failure propagation, cycling repeats,
redactions in their own place, live id types, sharper misses, and the in-order path."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.model import Frame
from acp_tap.replay.actions import Exit, ReportKind, Send
from acp_tap.replay.engine import MISMATCH_CODE
from tests.replay_support import Recording, notification, prompt, request, result, update
from tests.test_replay_engine import engine_for, exits, feed, line, reports, sent

SET_MODE = request(2, "session/set_mode", {"sessionId": "s", "modeId": "plan"})
MODE_UPDATE = notification(
    "session/update",
    {"sessionId": "s", "update": {"sessionUpdate": "current_mode_update", "currentModeId": "plan"}},
)
CANCEL = notification("session/cancel", {"sessionId": "s"})


def turn_then_mode() -> Recording:
    """A prompt turn, then a set_mode with its mode update."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))  # 1
    rec.a2c(update("s", "a"))  # 2
    rec.a2c(result(1, {"stopReason": "end_turn"}))  # 3
    rec.c2a(SET_MODE)  # 4
    rec.a2c(MODE_UPDATE)  # 5
    rec.a2c(result(2, {}))  # 6
    return rec


def cancelled_turn() -> Recording:
    """A prompt turn the client cancelled."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))  # 1
    rec.a2c(update("s", "a"))  # 2
    rec.c2a(CANCEL)  # 3
    rec.a2c(result(1, {"stopReason": "cancelled"}))  # 4
    return rec


def redacted(frame: Frame, *paths: str) -> Frame:
    """``frame`` as the recorder writes it when it redacted ``paths``."""
    return type(frame)(frame.seq, frame.t, frame.dir, frame.raw, frame.payload, frame.eol, paths)


# -- activities ----------------------------------------------------------------------------


def test_set_mode_first_is_answered_at_once_with_its_mode_update() -> None:
    """The answer and the notifications that followed it go out at once; the turn waits."""
    engine = engine_for(turn_then_mode())
    assert sent(feed(engine, SET_MODE)) == [MODE_UPDATE, result(2, {})]
    assert sent(engine.receive(line(prompt(1, "s", "go")), 0.1)) == [
        update("s", "a"),
        result(1, {"stopReason": "end_turn"}),
    ]
    assert engine.close(0.2) == [Exit(0)]


# -- stalls -------------------------------------------------------------------------------


def test_a_held_answer_is_an_error_after_the_stall_timeout() -> None:
    """A request whose answer waits for a message never sent gets -32099 naming both."""
    engine = engine_for(cancelled_turn(), stall_timeout=0.5)
    assert sent(feed(engine, prompt(7, "s", "go"), now=10.0)) == [update("s", "a")]
    assert engine.next_deadline() == 10.5
    assert engine.poll(10.4) == []
    out = engine.poll(10.5)
    [error] = sent(out)
    assert error["id"] == 7
    assert error["error"]["code"] == MISMATCH_CODE
    assert error["error"]["message"] == (
        "acp-tap replay: stall: the answer to session/prompt (frame #4) is recorded after "
        "session/cancel (frame #3), which has not arrived"
    )
    [report] = reports(out)
    assert report.kind is ReportKind.STALL
    assert "1 waiting request(s) answered with an error" in report.summary
    assert exits(out) == []  # a request was waiting: the replay goes on
    assert engine.next_deadline() is None  # one stall until the client speaks again
    assert sent(engine.receive(line(CANCEL), 11.0)) == []  # answered already: not twice
    assert engine.close(11.0)[-1] == Exit(1)


def test_a_stall_with_no_request_waiting_ends_the_replay() -> None:
    """A client waiting for a notification that waits for it: the replay ends (EOF)."""
    engine = engine_for(turn_then_mode())
    engine.start(5.0)
    assert engine.receive_lines([], 5.0) == []  # bytes but no line: not silent
    assert engine.next_deadline() == 6.0
    out = engine.poll(6.0)
    [stall, unused] = reports(out)
    assert stall.kind is ReportKind.STALL
    assert "update (frame #2) is recorded after session/prompt (frame #1)" in stall.summary
    assert "the replay ends" in stall.summary
    assert unused.kind is ReportKind.UNUSED
    assert out[-1] == Exit(1)


def test_the_ticker_is_woken_only_for_an_earlier_deadline_or_the_end() -> None:
    """A shell's ticker sleeps until the deadline it saw: it is woken for an earlier one and
    at the end, never for a later one or none (one task switch less per message)."""
    engine = engine_for(cancelled_turn(), stall_timeout=0.5)
    assert engine.next_deadline() is None
    assert not engine.wakes(math.inf)  # no deadline: nothing to wake for
    feed(engine, prompt(7, "s", "go"), now=10.0)
    assert engine.next_deadline() == 10.5
    assert engine.wakes(math.inf) and engine.wakes(11.0)
    assert not engine.wakes(10.5) and not engine.wakes(10.2)  # asleep until earlier already
    engine.close(11.0)
    assert engine.done and engine.wakes(math.inf)  # the end: the ticker exits


def test_no_stall_before_the_client_says_anything() -> None:
    """A client that has sent nothing yet is starting up, not stalled."""
    engine = engine_for(turn_then_mode())
    assert engine.start(0.0) == []
    assert engine.next_deadline() is None
    assert engine.poll(100.0) == []


def test_no_stall_while_an_agent_request_waits_for_the_client() -> None:
    """A permission dialog may take a human minutes: never a stall."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.a2c(request(0, "session/request_permission", {"sessionId": "s"}))
    rec.c2a(result(0, {"outcome": {"outcome": "cancelled"}}))
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    engine = engine_for(rec)
    feed(engine, prompt(1, "s", "go"))
    assert engine.next_deadline() is None
    assert engine.poll(60.0) == []


def test_a_request_never_answered_in_the_recording_stalls() -> None:
    """The recorded agent never answered: the client hears so instead of waiting forever."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.a2c(update("s", "a"))
    engine = engine_for(rec)
    feed(engine, prompt(3, "s", "go"))
    [error] = sent(engine.poll(1.0))
    assert error["error"]["message"] == (
        "acp-tap replay: stall: the recording has no answer to session/prompt (frame #1): "
        "the agent never answered it"
    )


def test_with_timing_the_stall_counts_from_when_the_frame_would_be_due() -> None:
    """A recorded gap is not silence: the stall timeout starts when the held frame is due."""
    rec = Recording(step=10.0)
    rec.c2a(prompt(1, "s", "go"))  # t=10
    rec.c2a(CANCEL)  # t=20
    rec.a2c(result(1, {"stopReason": "cancelled"}))  # t=30: 20 s after the prompt
    engine = engine_for(rec, speed=1.0, stall_timeout=1.0)
    engine.start(0.0)
    engine.receive(line(prompt(1, "s", "go")), 0.0)
    assert engine.next_deadline() == 21.0  # due at 20 (after the prompt's 10 + 10), then 1 s
    assert sent(engine.poll(21.0))[0]["error"]["code"] == MISMATCH_CODE


def test_stall_timeout_zero_never_stalls() -> None:
    """--stall-timeout 0 turns the rule off."""
    engine = engine_for(cancelled_turn(), stall_timeout=0)
    feed(engine, prompt(1, "s", "go"))
    assert engine.next_deadline() is None


def test_on_mismatch_exit_exits_after_answering_a_stall() -> None:
    """With --on-mismatch exit, the stalled request is answered, then the replay exits."""
    engine = engine_for(cancelled_turn(), on_mismatch="exit")
    feed(engine, prompt(1, "s", "go"))
    out = engine.poll(1.0)
    assert sent(out)[0]["error"]["code"] == MISMATCH_CODE
    assert out[-1] == Exit(1)


# -- failure propagation ------------------------------------------------------------------


def permission_and_read() -> Recording:
    """A turn where the agent asks permission and reads a file at once."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))  # 1
    rec.a2c(request("p", "session/request_permission", {"sessionId": "s"}))  # 2
    rec.a2c(request("r", "fs/read_text_file", {"sessionId": "s", "path": "/w/x"}))  # 3
    rec.c2a(result("p", {"outcome": {"outcome": "selected", "optionId": "allow"}}))  # 4
    rec.c2a(result("r", {"content": "x"}))  # 5
    rec.a2c(update("s", "allowed: x"))  # 6
    rec.a2c(result(1, {"stopReason": "end_turn"}))  # 7
    return rec


def test_after_a_wrong_answer_nothing_that_depends_on_it_is_sent() -> None:
    """The right answer to the read does not release what the wrong permission answer
    stopped: the prompt gets -32099 naming the permission answer."""
    engine = engine_for(permission_and_read())
    feed(engine, prompt(9, "s", "go"))
    out = engine.receive(line(result("p", {"outcome": {"outcome": "cancelled"}})), 0.1)
    [error] = sent(out)
    assert error["id"] == 9
    assert "answer to session/request_permission (frame #2) differs" in error["error"]["message"]
    assert error["error"]["data"]["acpTap"] == {"skipped": 7}
    assert sent(engine.receive(line(result("r", {"content": "x"})), 0.2)) == []
    out = engine.close(0.3)
    assert out == [Exit(1)]


def test_independent_requests_are_served_after_a_failure() -> None:
    """A failed turn does not stop another activity of the same session."""
    rec = permission_and_read()
    rec.c2a(SET_MODE)
    rec.a2c(result(2, {}))
    engine = engine_for(rec)
    feed(engine, prompt(1, "s", "go"))
    engine.receive(line(result("p", {"outcome": {"outcome": "cancelled"}})), 0.1)
    assert sent(engine.receive(line(SET_MODE), 0.2)) == [result(2, {})]


# -- repeats ------------------------------------------------------------------------------


def two_sessions() -> Recording:
    """Two identical session/new requests answered with different sessions, a prompt each."""
    rec = Recording()
    for n, sid in ((1, "A"), (2, "B")):
        rec.c2a(request(n, "session/new", {"cwd": "/w"}))
        rec.a2c(result(n, {"sessionId": sid}))
    for n, sid in ((3, "A"), (4, "B")):
        rec.c2a(prompt(n, sid, "go"))
        rec.a2c(update(sid, f"to {sid}"))
        rec.a2c(result(n, {"stopReason": "end_turn"}))
    return rec


def test_repeats_get_the_recorded_answers_in_recorded_order_cycling() -> None:
    """The n-th repeat gets the n-th recorded answer (unlike VCR.py, which replays the first)."""
    engine = engine_for(two_sessions(), allow_repeats=True)
    new = request(9, "session/new", {"cwd": "/w"})
    feed(engine, new, new)
    got = [sent(engine.receive(line(dict(new, id=n)), 1.0)) for n in (10, 11, 12)]
    assert [g[0]["result"]["sessionId"] for g in got] == ["A", "B", "A"]


def test_a_repeated_prompt_streams_what_it_alone_released() -> None:
    """A repeated prompt gets its turn's notifications again, then the answer."""
    engine = engine_for(two_sessions(), allow_repeats=True)
    feed(engine, *(m for m in (request(1, "session/new", {"cwd": "/w"}),) * 2))
    feed(engine, prompt(3, "A", "go"))
    assert sent(engine.receive(line(prompt(30, "A", "go")), 1.0)) == [
        update("A", "to A"),
        result(30, {"stopReason": "end_turn"}),
    ]


# -- redactions, ids, misses --------------------------------------------------------------


def test_a_redacted_value_matches_anything_in_its_own_place_only() -> None:
    """[REDACTED] in one recorded message does not switch off that path for another."""
    rec = Recording()
    rec.c2a(request(0, "authenticate", {"methodId": "key", "apiKey": "[REDACTED]"}))
    rec.frames[-1] = redacted(rec.frames[-1], "params.apiKey")
    rec.a2c(result(0, {}))
    rec.c2a(request(1, "authenticate", {"methodId": "other", "apiKey": "public"}))
    rec.a2c(result(1, {"second": True}))
    engine = engine_for(rec)
    auth = request(5, "authenticate", {"methodId": "key", "apiKey": "sk-live"})
    assert sent(feed(engine, auth)) == [result(5, {})]
    wrong = request(6, "authenticate", {"methodId": "other", "apiKey": "not public"})
    [error] = sent(engine.receive(line(wrong), 1.0))
    assert "params.apiKey" in error["error"]["message"]


@pytest.mark.parametrize(("recorded", "live"), [(1, "1"), ("1", 1), (1, 1.0), (2, "two")], ids=repr)
def test_a_live_id_keeps_its_json_type(recorded: Any, live: Any) -> None:
    """An id equal in value but of another JSON type is answered with the live type."""
    rec = Recording()
    rec.c2a(request(recorded, "initialize", {}))
    rec.a2c(result(recorded, {"ok": True}))
    out = feed(engine_for(rec), request(live, "initialize", {}))
    [data] = [a.data for a in out if isinstance(a, Send)]
    assert data == dumps_compact({"jsonrpc": "2.0", "id": live, "result": {"ok": True}}) + b"\n"
    assert type(json.loads(data)["id"]) is type(live)


def test_a_method_never_recorded_says_so() -> None:
    """A miss on a method the client never sent in the recording lists the recorded ones."""
    [error] = sent(feed(engine_for(turn_then_mode()), request(4, "session/list", {})))
    assert error["error"]["message"] == (
        "acp-tap replay: this session/list request matches nothing: no session/list was "
        "recorded from the client; recorded methods: session/prompt, session/set_mode"
    )


def test_an_unknown_session_says_so() -> None:
    """A miss naming a session the recording does not have says that, not a near miss."""
    [error] = sent(feed(engine_for(turn_then_mode()), prompt(4, "zzz", "go")))
    assert error["error"]["message"] == (
        "acp-tap replay: this session/prompt request names unknown session zzz (recorded: s)"
    )


# -- the in-order path --------------------------------------------------------------------


def run(rec: Recording, lines: list[bytes]) -> tuple[bytes, list[Any]]:
    """What a replay sends for ``lines`` fed one by one, and its other actions."""
    engine = engine_for(rec)
    actions = engine.start(0.0)
    for n, data in enumerate(lines):
        actions += engine.receive(data, float(n))
    actions += engine.close(float(len(lines)))
    data = b"".join(a.data for a in actions if isinstance(a, Send))
    return data, [a for a in actions if not isinstance(a, Send)]


@settings(max_examples=60, deadline=None)
@given(leave_at=st.integers(0, 12), spaced=st.booleans())
def test_the_in_order_path_sends_what_the_general_path_sends(leave_at: int, spaced: bool) -> None:
    """A client on the recorded lines, leaving the in-order path anywhere (a line spelt
    otherwise), gets exactly what a client off it from the start gets."""
    rec = permission_and_read()
    rec.c2a(SET_MODE)
    rec.a2c(MODE_UPDATE)
    rec.a2c(result(2, {}))
    rec.c2a(CANCEL)
    lines = [bytes(f.raw) for f in rec.frames if f.dir.value == "c2a"]
    general = [data + b" " for data in lines]  # the same JSON, other bytes: never in order
    mixed = [data + b" " if spaced and n >= leave_at else data for n, data in enumerate(lines)]
    if not spaced and leave_at < len(lines):
        mixed[leave_at] += b" "
    assert run(rec, mixed) == run(rec, general)
    assert run(rec, lines) == run(rec, general)


def test_a_secret_redacted_inside_a_string_leaves_the_rest_compared() -> None:
    """ "use key [REDACTED] please" matches any key there, and nothing else around it."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "use key [REDACTED] please"))
    rec.frames[-1] = redacted(rec.frames[-1], "params.prompt[0].text")
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    ok = feed(engine_for(rec), prompt(7, "s", "use key sk-ant-api03-live please"))
    assert sent(ok) == [result(7, {"stopReason": "end_turn"})]
    [error] = sent(feed(engine_for(rec), prompt(7, "s", "use key sk-live, thanks")))
    assert error["error"]["message"] == (
        "acp-tap replay: this session/prompt request differs from frame #1 session/prompt "
        "around what was redacted in it (a [REDACTED] part matches any text): "
        'params.prompt[0].text: expected "use key [REDACTED] please", got "use key sk-live, thanks"'
    )


def test_an_answer_redacted_inside_a_string_is_compared_around_it() -> None:
    """The same holds for the client's answer to an agent request."""
    rec = Recording()
    rec.c2a(prompt(1, "s", "go"))
    rec.a2c(request(0, "_x/login", {"sessionId": "s"}))
    rec.c2a(result(0, {"header": "Bearer [REDACTED]"}))
    rec.frames[-1] = redacted(rec.frames[-1], "result.header")
    rec.a2c(result(1, {"stopReason": "end_turn"}))
    engine = engine_for(rec)
    feed(engine, prompt(1, "s", "go"))
    assert sent(engine.receive(line(result(0, {"header": "Bearer abc.def"})), 1)) == [
        result(1, {"stopReason": "end_turn"})
    ]
    engine = engine_for(rec)
    feed(engine, prompt(1, "s", "go"))
    out = engine.receive(line(result(0, {"header": "Basic abc"})), 1)
    assert reports(out)[0].kind is ReportKind.ANSWER
