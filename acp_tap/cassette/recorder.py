"""Turn the bytes relayed on each stream into cassette frames. Pure; no I/O.

The relay forwards a chunk first and then feeds a copy here. Lines are classified
(JSON, text, binary), requests are tracked so a response knows which method it
answers, and redaction rules are applied to the cassette copy only.
"""

from __future__ import annotations

from typing import Any

import attrs

from acp_tap.cassette.codec import loads_strict
from acp_tap.cassette.model import Direction, Frame, Payload
from acp_tap.redaction import Redactor, redact_frame
from acp_tap.wire.framing import Line, LineSplitter
from acp_tap.wire.jsonrpc import INVALID, Envelope, RequestId, envelope
from acp_tap.wire.jsonscan import scan

LARGE_LINE = 1 << 20
"""Lines longer than this are validated in place instead of decoded (memory stays one copy)."""

MAX_PENDING = 4096
"""Unanswered requests remembered per recording; the oldest is forgotten beyond this."""

_OTHER = {
    Direction.CLIENT_TO_AGENT: Direction.AGENT_TO_CLIENT,
    Direction.AGENT_TO_CLIENT: Direction.CLIENT_TO_AGENT,
}


@attrs.frozen
class Classified:
    """What a line is: how to store it, its decoded value (if cheap) and its envelope."""

    payload: Payload
    value: Any = None
    envelope: Envelope = INVALID


def classify(content: bytes | bytearray) -> Classified:
    """Decide how a line is stored. JSON lines with a raw CR are kept as text, byte-exact."""
    if b"\r" not in content:
        if len(content) > LARGE_LINE:
            found = scan(content)
            if found is not None:
                return Classified(Payload.JSON, None, found)
        else:
            try:
                value = loads_strict(content.decode("utf-8"))
            except UnicodeDecodeError:
                return Classified(Payload.BINARY)
            except ValueError:
                return Classified(Payload.TEXT)
            return Classified(Payload.JSON, value, envelope(value))
    return classify_text(content)


def _id_key(request_id: RequestId | None) -> tuple[bool, RequestId | None]:
    return (isinstance(request_id, str), request_id)


@attrs.define(eq=False)
class Recorder:
    """Frames the three streams and numbers their lines with one shared sequence."""

    redactor: Redactor | None = None
    seq: int = 0
    counts: dict[Direction, int] = attrs.field(factory=lambda: dict.fromkeys(Direction, 0))
    _splitters: dict[Direction, LineSplitter] = attrs.field(
        factory=lambda: {d: LineSplitter() for d in Direction}
    )
    _pending: dict[tuple[Direction, tuple[bool, RequestId | None]], str] = attrs.field(factory=dict)

    def feed(self, direction: Direction, chunk: bytes, now: float) -> list[Frame]:
        """Frames for the lines ``chunk`` completes on ``direction``."""
        return [self._frame(direction, line, now) for line in self._splitters[direction].feed(chunk)]

    def close(self, direction: Direction, now: float) -> list[Frame]:
        """End of ``direction``: a frame for its unterminated last line, if any."""
        line = self._splitters[direction].close()
        return [] if line is None else [self._frame(direction, line, now)]

    def _frame(self, direction: Direction, line: Line, now: float) -> Frame:
        self.seq += 1
        self.counts[direction] += 1
        content = line.content
        if direction is Direction.AGENT_STDERR:
            kind = classify_text(content)
        else:
            kind = classify(content)
        frame = Frame(self.seq, round(now, 6), direction, content, kind.payload, line.eol, (), kind.value)
        if self.redactor is None:
            return frame
        if kind.payload is Payload.JSON:
            answers = self._track(direction, kind.envelope)
            if not self.redactor.may_apply(direction, kind.envelope.method, answers):
                return frame  # decided on the envelope alone: a huge line is never decoded
            return redact_frame(self.redactor, frame, answers)
        return redact_frame(self.redactor, frame, None)

    def _track(self, direction: Direction, env: Envelope) -> str | None:
        """Remember requests; return the method a response answers, if known."""
        if direction is Direction.AGENT_STDERR:
            return None
        if env.is_request and env.method is not None:
            pending = self._pending
            pending[(direction, _id_key(env.id))] = env.method
            if len(pending) > MAX_PENDING:
                del pending[next(iter(pending))]
            return None
        if env.is_response:
            return self._pending.pop((_OTHER[direction], _id_key(env.id)), None)
        return None


def classify_text(content: bytes | bytearray) -> Classified:
    """stderr lines are logs: text when UTF-8, else binary; never embedded as JSON."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return Classified(Payload.BINARY)
    return Classified(Payload.TEXT)
