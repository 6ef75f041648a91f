"""Build small cassettes from hand-written messages, for the show/check/conversation tests.

Frames go through the real codec (encode, then decode) so the tests read what ``acp-tap
record`` writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from acp_tap.cassette.codec import decode_line, dumps_compact, encode_frame_bytes, encode_record
from acp_tap.cassette.model import Direction, Eol, Footer, Frame, Header, Payload, Record

HEADER = Header(
    acp_tap="0.1.0",
    argv=("agent",),
    cwd="/tmp",
    started="2026-11-25T08:00:00.000000Z",
    python="3.11.7",
    platform="Linux",
    pid=1,
)
ALL_CAPS = {"fs": {"readTextFile": True, "writeTextFile": True}, "terminal": True}

# A frame for a test cassette: (direction, message); a str message is a non-JSON line.
Item = tuple[str, Any]


def c2a(message: Any) -> Item:
    """A client→agent frame."""
    return ("c2a", message)


def a2c(message: Any) -> Item:
    """An agent→client frame."""
    return ("a2c", message)


def req(msg_id: Any, method: str, params: Any) -> dict[str, Any]:
    """A request message."""
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def res(msg_id: Any, result: Any) -> dict[str, Any]:
    """A result response."""
    return {"jsonrpc": "2.0", "id": msg_id, "result": result}


def note(method: str, params: Any) -> dict[str, Any]:
    """A notification message."""
    return {"jsonrpc": "2.0", "method": method, "params": params}


def update(update_kind: str, session: str = "s1", **fields: Any) -> Item:
    """An agent→client ``session/update``."""
    body = {"sessionUpdate": update_kind, **fields}
    return a2c(note("session/update", {"sessionId": session, "update": body}))


def chunk(text: str, session: str = "s1") -> Item:
    """An ``agent_message_chunk`` update."""
    return update("agent_message_chunk", session, content={"type": "text", "text": text})


def prelude(caps: Any = ALL_CAPS) -> list[Item]:
    """initialize and session/new (session ``s1``)."""
    return [
        c2a(req(0, "initialize", {"protocolVersion": 1, "clientCapabilities": caps})),
        a2c(res(0, {"protocolVersion": 1})),
        c2a(req(1, "session/new", {"cwd": "/tmp", "mcpServers": []})),
        a2c(res(1, {"sessionId": "s1"})),
    ]


def prompt(msg_id: int = 2, session: str = "s1") -> Item:
    """A ``session/prompt`` request."""
    return c2a(
        req(
            msg_id,
            "session/prompt",
            {"sessionId": session, "prompt": [{"type": "text", "text": "hi"}]},
        )
    )


def done(msg_id: int = 2, reason: str = "end_turn") -> Item:
    """The response ending a prompt turn."""
    return a2c(res(msg_id, {"stopReason": reason}))


def cancel(session: str = "s1") -> Item:
    """A ``session/cancel`` notification."""
    return c2a(note("session/cancel", {"sessionId": session}))


TOOL_CALL = update("tool_call", toolCallId="t1", title="Read", kind="read", status="pending")
PERMISSION = a2c(
    req(
        "p1",
        "session/request_permission",
        {
            "sessionId": "s1",
            "toolCall": {"toolCallId": "t1"},
            "options": [{"optionId": "ok", "name": "Yes", "kind": "allow_once"}],
        },
    )
)


def answer_permission(outcome: dict[str, Any]) -> Item:
    """The client's answer to ``PERMISSION``."""
    return c2a(res("p1", {"outcome": outcome}))


def frame_line(seq: int, item: Item, eol: Eol = Eol.LF) -> bytes:
    """One encoded cassette line for ``item``."""
    direction, message = item
    if isinstance(message, str):
        raw, payload = message.encode(), Payload.TEXT
    else:
        raw, payload = dumps_compact(message), Payload.JSON
    return encode_frame_bytes(Frame(seq, seq / 100, Direction(direction), raw, payload, eol))


def cassette_lines(
    items: Iterable[Item],
    *,
    footer: bool = True,
    counts: dict[str, int] | None = None,
    closed_first: str = "client",
    status: int = 0,
) -> list[bytes]:
    """The lines of a cassette holding ``items`` as frames."""
    items = list(items)
    lines = [encode_record(HEADER)]
    lines += [frame_line(seq, item) for seq, item in enumerate(items, start=1)]
    if footer:
        if counts is None:
            counts = {d: sum(1 for i in items if i[0] == d) for d in ("c2a", "a2c", "err")}
        end = Footer(
            t=9.0,
            ended="2026-11-25T08:00:09.000000Z",
            status=status,
            exit_code=status,
            signal=None,
            closed_first=closed_first,
            frames=counts,
        )
        lines.append(encode_record(end))
    return lines


def decode(lines: list[bytes]) -> list[tuple[int, Record]]:
    """Decode cassette lines through the real codec."""
    return [(n, decode_line(line, "test", n)) for n, line in enumerate(lines, start=1)]


def records(items: Iterable[Item], **kwargs: Any) -> list[tuple[int, Record]]:
    """The decoded records of a cassette holding ``items``."""
    return decode(cassette_lines(items, **kwargs))


TURN = [prompt(), chunk("Hello"), done()]
