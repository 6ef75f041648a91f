"""A recording compiled for replay: what each agent frame waits for. Pure values.

Every recorded agent frame gets a *lane* and *dependencies* (recorded client messages that
must have arrived before it is sent). Lanes keep their recorded order; different lanes are
independent, so legal reorderings of the client's messages replay correctly.

The rules, in one place (applied by :mod:`acp_tap.replay.compiler`):

- lane of a message with ``params.sessionId``: that session;
- lane of a client request without one (``initialize``, ``session/new``...): its own lane;
- lane of a response: the lane of the request it answers (both directions);
- lane of ``$/cancel_request``: the lane of the request it cancels;
- anything else (agent frames with no session, non-JSON lines): the global lane;
- recorded agent stderr lines: a lane of their own (replayed only on request).

- a response depends on its request, and on the latest client message of its lane;
- any other agent frame depends on the latest client message of its lane recorded before
  it (the prompt of its turn, the answer to an agent request, a ``session/cancel``); a
  session with no client message yet falls back to the request that created the session
  (``result.sessionId``), then to the latest client message of any lane;
- global-lane and stderr frames depend on the latest client message of any lane;
- a frame recorded before any client message depends on nothing.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.matching.ids import IdKey
from acp_tap.matching.normal import IgnorePath, Normaliser
from acp_tap.wire.jsonrpc import Kind, RequestId

Lane = tuple[str, Any]

GLOBAL_LANE: Lane = ("global", None)
STDERR_LANE: Lane = ("stderr", None)


@attrs.frozen
class ClientStep:
    """A recorded client message, as the replay expects to receive it."""

    index: int
    frame: Frame
    kind: Kind | None  # None: the line was not JSON
    method: str | None
    key: bytes | None  # match key; None for an answer to an agent request (matched by id)
    answers: int | None = None  # the agent step (a request) this message answers
    cwd: str | None = None  # params.cwd of session/new, session/load...

    def describe(self) -> str:
        """``frame #7 session/prompt`` and the like, for messages."""
        if self.kind is None:
            return f"frame #{self.frame.seq} (a line that is not JSON)"
        if self.method is not None:
            return f"frame #{self.frame.seq} {self.method}"
        return f"frame #{self.frame.seq} (a {self.kind.value})"


class AgentStep(NamedTuple):
    """A recorded agent frame and when it may be sent (``number``: its place in the plan).

    ``wire`` holds the bytes to send, terminator included; :attr:`frame` rebuilds the
    cassette frame when one is wanted (reports, tests).
    """

    number: int
    seq: int
    t: float
    wire: bytes
    eol: Eol
    payload: Payload
    lane: int
    deps: tuple[int, ...]  # client steps that must have arrived
    method: str | None = None
    responds_to: int | None = None  # client request step answered: its live id goes here
    request_id: IdKey | None = None  # an agent request's own id
    answer: int | None = None  # an agent request: the client step holding its recorded answer
    cancels: int | None = None  # $/cancel_request from the agent: the client request it names
    stderr: bool = False
    recorded_id: RequestId | None = None  # a response's recorded id (replaced by the live one)
    redacted: tuple[str, ...] = ()

    @property
    def raw(self) -> bytes:
        """The line without its terminator."""
        end = len(self.wire) - len(self.eol.bytes)
        return self.wire[:end]

    @property
    def frame(self) -> Frame:
        """The cassette frame this step replays."""
        direction = Direction.AGENT_STDERR if self.stderr else Direction.AGENT_TO_CLIENT
        return Frame(self.seq, self.t, direction, self.raw, self.payload, self.eol, self.redacted)


@attrs.frozen
class Plan:
    """A recording compiled for replay."""

    client: tuple[ClientStep, ...]
    agent: tuple[AgentStep, ...]
    lanes: tuple[tuple[int, ...], ...]  # agent step numbers per lane, in recorded order
    normaliser: Normaliser
    exit_status: int | None  # the agent exited on its own with this status
    exit_t: float  # when the recording ended

    def normal(self, step: ClientStep) -> Any:
        """The normal form of a recorded client message (for diffs)."""
        if step.kind is None:
            return bytes(step.frame.raw).decode("utf-8", "replace")
        return self.normaliser.normalise(step.frame.message(), step.frame.raw)

    def answer_normal(self, answer: ClientStep, msg: Any, raw: bytes | bytearray) -> Any:
        """The compared form of an answer to an agent request, live or recorded (``answer``):
        the paths redacted in the recorded answer are not compared."""
        normal = self.normaliser.normalise(msg, raw)
        for text in answer.frame.redacted:
            if text != "$":
                normal = IgnorePath.parse(text).remove(normal)
        return normal
