"""Folding a cassette into turns: prompt, joined text, tool calls, permissions, stop reason."""

from __future__ import annotations

from acp_tap.inspect.conversation import Permission, ToolCall, Turn, fold
from tests.inspect_support import (
    PERMISSION,
    TOOL_CALL,
    a2c,
    answer_permission,
    c2a,
    cancel,
    chunk,
    done,
    prelude,
    prompt,
    records,
    req,
    res,
    update,
)


def test_a_turn_collects_everything_the_agent_did() -> None:
    """Text chunks join, tool statuses accumulate, the permission outcome is kept."""
    items = [
        *prelude(),
        prompt(),
        update("agent_thought_chunk", content={"type": "text", "text": "Hmm"}),
        chunk("Hel"),
        TOOL_CALL,
        PERMISSION,
        answer_permission({"outcome": "selected", "optionId": "ok"}),
        update("tool_call_update", toolCallId="t1", status="in_progress"),
        a2c(req("r1", "fs/read_text_file", {"sessionId": "s1", "path": "/a"})),
        c2a({"jsonrpc": "2.0", "id": "r1", "error": {"code": -32002, "message": "no file"}}),
        update(
            "tool_call_update",
            toolCallId="t1",
            status="failed",
            content=[{"type": "content", "content": {"type": "text", "text": "no such file"}}],
        ),
        chunk("lo"),
        done(),
    ]
    (turn,) = fold(records(items))
    assert turn == Turn(
        session="s1",
        index=0,
        origin="prompt",
        seq=5,
        prompt="hi",
        agent_text="Hello",
        thought_text="Hmm",
        tool_calls=(
            ToolCall("t1", "Read", "read", ("pending", "in_progress", "failed"), "no such file"),
        ),
        permissions=(Permission(9, "t1", (("ok", "Yes", "allow_once"),), "selected:ok"),),
        stop_reason="end_turn",
        errors=("fs/read_text_file: -32002 no file",),
        cancelled=False,
        complete=True,
    )


def test_turns_are_numbered_per_session_and_loads_replay_history() -> None:
    """A session/load replay is a turn of origin "load" holding the replayed user text."""
    load = c2a(req(3, "session/load", {"sessionId": "s1", "cwd": "/", "mcpServers": []}))
    replay = [update("user_message_chunk", content={"type": "text", "text": "old question"})]
    items = [*prelude(), prompt(), chunk("a"), done(), load, *replay, chunk("old answer")]
    items += [a2c(res(3, None)), prompt(4), chunk("b"), cancel(), done(4, "cancelled")]
    turns = list(fold(records(items)))
    assert [(t.index, t.origin, t.prompt, t.agent_text) for t in turns] == [
        (0, "prompt", "hi", "a"),
        (1, "load", "old question", "old answer"),
        (2, "prompt", "hi", "b"),
    ]
    assert [(t.stop_reason, t.cancelled) for t in turns] == [
        ("end_turn", False),
        (None, False),
        ("cancelled", True),
    ]


def test_an_unfinished_turn_is_yielded_last_and_marked_incomplete() -> None:
    """A turn whose response never came (recording cut short) is still reported."""
    (turn,) = fold(records([*prelude(), prompt(), chunk("partial")], footer=False))
    assert (turn.agent_text, turn.complete, turn.stop_reason) == ("partial", False, None)
