"""Compiling a recording: lanes, dependencies and the fast envelope reading (pure)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from acp_tap.cassette.framelines import FAST_ENVELOPE
from acp_tap.replay.compiler import compile_plan
from acp_tap.replay.routing import agent_envelope
from acp_tap.wire.jsonrpc import envelope
from tests.replay_support import Recording, notification, prompt, request, result, update

ids = st.integers(-5, 10**12) | st.text(max_size=5)
methods = st.sampled_from(["session/update", "$/cancel_request", "x/y", "é/ü", 'q"uote'])
params = st.fixed_dictionaries(
    {}, optional={"sessionId": st.text(max_size=4) | st.integers(), "requestId": ids}
)
messages = st.one_of(
    st.builds(
        lambda i, m, p: {"jsonrpc": "2.0", "id": i, "method": m, "params": p}, ids, methods, params
    ),
    st.builds(lambda m, p: {"jsonrpc": "2.0", "method": m, "params": p}, methods, params),
    st.builds(lambda i, r: {"jsonrpc": "2.0", "id": i, "result": r}, ids | st.none(), params),
    st.builds(
        lambda i: {"jsonrpc": "2.0", "id": i, "error": {"code": 1, "message": "m"}}, ids | st.none()
    ),
    st.dictionaries(
        st.sampled_from(["id", "method", "params", "jsonrpc", "result"]), ids, max_size=4
    ),
)


@given(messages, st.booleans(), st.booleans())
def test_fast_envelope_agrees_with_parsing(
    msg: dict[str, Any], compact: bool, ascii_only: bool
) -> None:
    """Reading the usual message start gives the parsed envelope and session, in any spelling."""
    separators = (",", ":") if compact else (", ", ": ")
    raw = json.dumps(msg, separators=separators, ensure_ascii=ascii_only).encode()
    env, sid, _ = agent_envelope(raw, FAST_ENVELOPE.match(raw))
    params = msg.get("params")
    session = params.get("sessionId") if isinstance(params, dict) else None
    assert (env, sid) == (envelope(msg), session if isinstance(session, str) else None)


def steps(rec: Recording) -> dict[str, tuple[int, ...]]:
    """Each agent frame's text (or method) -> the seqs of the client frames it waits for."""
    plan = compile_plan(rec.frames, rec.footer())
    out = {}
    for step in plan.agent:
        msg = step.frame.message()
        params = msg.get("params") or {}
        label = params.get("update", {}).get("content", {}).get("text") or json.dumps(
            msg.get("result")
        )
        out[label] = tuple(plan.client[d].frame.seq for d in step.deps)
    return out


def test_dependencies_follow_lanes() -> None:
    """Updates wait for their session's latest client message; responses also for their request."""
    rec = Recording()
    rec.c2a(prompt(1, "A", "a"))  # 1
    rec.c2a(prompt(2, "B", "b"))  # 2
    rec.a2c(update("A", "a-update"))
    rec.c2a(notification("session/cancel", {"sessionId": "A"}))  # 4
    rec.a2c(update("B", "b-update"))
    rec.a2c(update("A", "a-after-cancel"))
    rec.a2c(result(1, {"stopReason": "cancelled"}))
    assert steps(rec) == {
        "a-update": (1,),
        "b-update": (2,),
        "a-after-cancel": (4,),
        '{"stopReason": "cancelled"}': (1, 4),
    }


def test_new_session_frames_wait_for_session_new() -> None:
    """A session's first frames, before any message names it, wait for its session/new."""
    rec = Recording()
    rec.c2a(request(1, "session/new", {"cwd": "/w"}))  # 1
    rec.c2a(request(2, "initialize", {}))  # 2
    rec.a2c(result(1, {"sessionId": "S"}))
    rec.a2c(update("S", "welcome"))
    rec.a2c(update(None, "global"))  # type: ignore[arg-type]
    plan = compile_plan(rec.frames, rec.footer())
    assert [tuple(plan.client[d].frame.seq for d in s.deps) for s in plan.agent] == [
        (1,),
        (1,),
        (2,),
    ]


def test_each_request_without_session_gets_its_own_lane() -> None:
    """Two initialize-like requests are independent: separate lanes."""
    rec = Recording()
    rec.c2a(request(1, "authenticate", {}))
    rec.c2a(request(2, "session/list", {}))
    rec.a2c(result(2, {}))
    rec.a2c(result(1, {}))
    plan = compile_plan(rec.frames, rec.footer())
    assert plan.agent[0].lane != plan.agent[1].lane
    assert [s.responds_to for s in plan.agent] == [1, 0]


def test_answers_belong_to_the_agent_request_lane() -> None:
    """The client's answer is matched by id, and what follows it waits for it."""
    rec = Recording()
    rec.c2a(prompt(1, "A", "go"))
    rec.a2c(request("perm-1", "session/request_permission", {"sessionId": "A"}))
    rec.c2a(result("perm-1", {"outcome": {"outcome": "cancelled"}}))
    rec.a2c(update("A", "after"))
    plan = compile_plan(rec.frames, rec.footer())
    answer = plan.client[1]
    assert (answer.key, answer.answers) == (None, 0)
    assert plan.agent[0].answer == 1
    assert plan.agent[1].deps == (1,)
    assert plan.agent[0].lane == plan.agent[1].lane


def waits_for(rec: Recording) -> list[tuple[int, tuple[int, ...]]]:
    """Each agent frame's seq and the seqs of the client frames it waits for."""
    plan = compile_plan(rec.frames, rec.footer())
    return [(s.seq, tuple(plan.client[d].frame.seq for d in s.deps)) for s in plan.agent]


def lanes(rec: Recording) -> list[list[int]]:
    """The seqs of the agent frames of each non-empty lane."""
    plan = compile_plan(rec.frames, rec.footer())
    return [[plan.agent[n].seq for n in lane] for lane in plan.lanes if lane]


def level(session: str, kind: str = "available_commands_update") -> dict[str, Any]:
    """A session-level session/update."""
    return notification("session/update", {"sessionId": session, "update": {"sessionUpdate": kind}})


def test_each_request_of_a_session_is_an_activity_of_its_own() -> None:
    """A set_mode answer recorded after a turn does not wait for the turn: its own lane."""
    rec = Recording()
    rec.c2a(prompt(1, "S", "go"))  # 1
    rec.a2c(update("S", "a"))  # 2
    rec.a2c(result(1, {"stopReason": "end_turn"}))  # 3
    rec.c2a(request(2, "session/set_mode", {"sessionId": "S", "modeId": "plan"}))  # 4
    rec.a2c(level("S", "current_mode_update"))  # 5
    rec.a2c(result(2, {}))  # 6
    assert waits_for(rec) == [(2, (1,)), (3, (1,)), (5, (4,)), (6, (4,))]
    assert lanes(rec) == [[2, 3], [5, 6]]


def test_session_level_notifications_never_wait_for_a_prompt() -> None:
    """kiro's command list after session/new waits for session/new, though a prompt came
    first while recording; it stays in the turn's lane, in its recorded place."""
    rec = Recording()
    rec.c2a(request(1, "session/new", {"cwd": "/w"}))  # 1
    rec.a2c(result(1, {"sessionId": "S"}))  # 2
    rec.c2a(prompt(2, "S", "go"))  # 3
    rec.a2c(notification("_kiro.dev/commands/available", {"sessionId": "S", "commands": []}))
    rec.a2c(update("S", "a"))  # 5
    rec.a2c(notification("_kiro.dev/metadata", {"sessionId": "S", "contextUsage": 1}))  # 6
    rec.a2c(level("S"))  # 7
    rec.a2c(result(2, {"stopReason": "end_turn"}))  # 8
    assert waits_for(rec) == [(2, (1,)), (4, (1,)), (5, (3,)), (6, (1,)), (7, (1,)), (8, (3,))]
    assert lanes(rec) == [[2], [4, 5, 6, 7, 8]]


def test_a_new_session_announced_before_its_answer_waits_for_session_new() -> None:
    """kiro 2.x names the new session in notifications before answering session/new."""
    rec = Recording()
    rec.c2a(request(1, "initialize", {}))  # 1
    rec.a2c(result(1, {}))  # 2
    rec.c2a(request(2, "session/new", {"cwd": "/w"}))  # 3
    rec.a2c(notification("_kiro.dev/mcp/server_initialized", {"sessionId": "S"}))  # 4
    rec.a2c(update("S", "welcome"))  # 5
    rec.a2c(result(2, {"sessionId": "S"}))  # 6
    assert waits_for(rec) == [(2, (1,)), (4, (3,)), (5, (3,)), (6, (3,))]


def test_a_response_waits_for_its_lane_only() -> None:
    """A prompt's answer waits for the cancel of its turn, not for another request."""
    rec = Recording()
    rec.c2a(prompt(1, "S", "go"))  # 1
    rec.a2c(update("S", "a"))  # 2
    rec.c2a(request(2, "session/set_mode", {"sessionId": "S", "modeId": "x"}))  # 3
    rec.c2a(notification("session/cancel", {"sessionId": "S"}))  # 4
    rec.a2c(result(2, {}))  # 5
    rec.a2c(update("S", "b"))  # 6
    rec.a2c(result(1, {"stopReason": "cancelled"}))  # 7
    assert waits_for(rec) == [(2, (1,)), (5, (3,)), (6, (4,)), (7, (1, 4))]


def test_client_notifications_outside_a_turn_have_the_session_lane() -> None:
    """What the agent says after a client notification outside any turn waits for it."""
    rec = Recording()
    rec.c2a(notification("_x/ping", {"sessionId": "S"}))  # 1
    rec.a2c(update("S", "pong"))  # 2
    rec.c2a(notification("_x/ping", {"sessionId": "S"}))  # 3
    rec.a2c(update("S", "pong"))  # 4
    assert waits_for(rec) == [(2, (1,)), (4, (3,))]
    assert lanes(rec) == [[2, 4]]


def test_client_steps_know_their_lane_and_session() -> None:
    """Answers share the lane of the agent request they answer (a failure skips that lane)."""
    rec = Recording()
    rec.c2a(prompt(1, "S", "go"))
    rec.a2c(request("p", "session/request_permission", {"sessionId": "S"}))
    rec.c2a(result("p", {"outcome": {"outcome": "cancelled"}}))
    plan = compile_plan(rec.frames, rec.footer())
    assert plan.client[0].lane == plan.client[1].lane == plan.agent[0].lane
    assert [c.session for c in plan.client] == ["S", "S"]
    assert plan.sessions == ("S",)
