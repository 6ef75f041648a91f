"""Build recordings in memory, frame by frame, as ``acp-tap record`` would write them."""

from __future__ import annotations

import os
from typing import Any

import attrs

from acp_tap.cassette.codec import dumps_compact, encode_frame_bytes, encode_record, loads_strict
from acp_tap.cassette.model import Direction, Eol, Footer, Frame, Header, Payload
from acp_tap.cassette.reader import Cassette

CWD = "/home/rec/project"


def header(cwd: str = CWD) -> Header:
    """A plausible header."""
    return Header(
        acp_tap="0.1.0",
        argv=("agent",),
        cwd=cwd,
        started="2026-11-25T08:25:30.123456Z",
        python="3.11.7",
        platform="Linux",
        pid=1,
    )


def _payload(raw: bytes) -> tuple[Payload, Any]:
    try:
        return Payload.JSON, loads_strict(raw)
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return Payload.BINARY, None
    return Payload.TEXT, None


@attrs.define
class Recording:
    """Frames appended in recorded order, with increasing times."""

    frames: list[Frame] = attrs.field(factory=list)
    t: float = 0.0
    step: float = 0.01

    def add(self, direction: Direction, message: Any, eol: Eol = Eol.LF) -> Frame:
        """Append one frame; ``message`` is a JSON value or the raw line's bytes."""
        raw = message if isinstance(message, bytes) else dumps_compact(message)
        payload, parsed = _payload(raw)
        self.t += self.step
        frame = Frame(
            len(self.frames) + 1, round(self.t, 6), direction, raw, payload, eol, (), parsed
        )
        self.frames.append(frame)
        return frame

    def c2a(self, message: Any) -> Frame:
        """Client to agent."""
        return self.add(Direction.CLIENT_TO_AGENT, message)

    def a2c(self, message: Any) -> Frame:
        """Agent to client (stdout)."""
        return self.add(Direction.AGENT_TO_CLIENT, message)

    def err(self, line: bytes) -> Frame:
        """Agent stderr."""
        return self.add(Direction.AGENT_STDERR, line)

    def footer(self, closed_first: str = "client", status: int = 0) -> Footer:
        """A footer for the recording so far."""
        counts = {d.value: sum(1 for f in self.frames if f.dir is d) for d in Direction}
        return Footer(
            t=self.t + self.step,
            ended="2026-11-25T08:26:30.123456Z",
            status=status,
            exit_code=status,
            signal=None,
            closed_first=closed_first,
            frames=counts,
        )

    def cassette(self, closed_first: str = "client", status: int = 0) -> Cassette:
        """The recording as a loaded cassette."""
        return Cassette("<memory>", header(), tuple(self.frames), self.footer(closed_first, status))

    def write(
        self, path: str | os.PathLike[str], closed_first: str = "client", status: int = 0
    ) -> None:
        """Write the recording as a cassette file."""
        with open(path, "wb") as f:
            f.write(encode_record(header()))
            for frame in self.frames:
                f.write(encode_frame_bytes(frame))
            f.write(encode_record(self.footer(closed_first, status)))


def request(id_: Any, method: str, params: Any = None) -> dict[str, Any]:
    """A JSON-RPC request."""
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: Any = None) -> dict[str, Any]:
    """A JSON-RPC notification."""
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def result(id_: Any, value: Any) -> dict[str, Any]:
    """A JSON-RPC success response."""
    return {"jsonrpc": "2.0", "id": id_, "result": value}


def error(id_: Any, code: int, message: str) -> dict[str, Any]:
    """A JSON-RPC error response."""
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def update(session: str, text: str) -> dict[str, Any]:
    """A session/update notification carrying an agent message chunk."""
    return notification(
        "session/update",
        {
            "sessionId": session,
            "update": {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": text},
            },
        },
    )


def prompt(id_: Any, session: str, text: str) -> dict[str, Any]:
    """A session/prompt request."""
    return request(
        id_, "session/prompt", {"sessionId": session, "prompt": [{"type": "text", "text": text}]}
    )
