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
