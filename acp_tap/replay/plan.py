"""A recording compiled for replay: what each agent frame waits for. Pure values.

Every recorded agent frame gets a *lane* and *dependencies* (recorded client messages that
must have arrived before it is sent). Frames of one lane go out in their recorded order;
different lanes are independent, so legal reorderings of the client's messages replay
correctly. A lane is one *activity*: a client request and what the agent did for it.

The rules, in one place (applied by :mod:`acp_tap.replay.compiler`):

Lanes of client messages
- a client request has a lane of its own (its activity): ``initialize``, ``session/new``,
  each ``session/prompt`` (its turn), each ``session/set_mode``...;
- the client's answer to an agent request: the lane of that request;
- ``$/cancel_request``: the lane of the request it cancels;
- ``session/cancel`` and other client notifications of a session: the lane of the
  session's open turn (a prompt not yet answered), else the session's own lane;
- anything else (no session, not a request, not JSON): the global lane.

Lanes of agent frames
- a response: the lane of the request it answers (both directions);
- a frame of a session (``params.sessionId``) during a turn of that session: the turn's
  lane; outside a turn, the lane of the session's latest client message; before any, the
  lane of the request that created the session (``result.sessionId``), else of the
  session-creating request still waiting for its answer (kiro announces a new session
  before answering ``session/new``);
- *session-level* notifications (:data:`SESSION_LEVEL_UPDATES`,
  :data:`SESSION_LEVEL_METHODS`): the lane of the session's latest client message, so a
  metadata notification inside a turn still follows that turn's frames;
- ``$/cancel_request``: the lane of the request it cancels; anything else: the global
  lane; recorded agent stderr lines: a lane of their own (replayed only on request).

Dependencies
- a response depends on its request, and on the latest client message of its lane (the
  answers to the agent's own requests, a cancel): not on unrelated frames of its session;
- a session-level notification depends on the latest client request of its session
  recorded before it that is not a prompt (the request that created the session, a
  ``set_mode``, a ``set_config_option``...), never on a prompt: kiro's
  ``_kiro.dev/commands/available`` after ``session/new`` is sent before any prompt,
  whichever won the race while recording;
- any other frame depends on the latest client message of its lane recorded before it;
  with none, on the request that created its session, else the latest client message;
- global-lane and stderr frames depend on the latest client message of any lane;
- a frame recorded before any client message depends on nothing.

Failure propagation
- a client message that can no longer arrive as recorded (a wrong answer to an agent
  request) *fails*: every frame of its lane recorded after it is skipped, since the
  recorded agent produced them knowing that message; a skipped response is answered
  with the JSON-RPC error naming the failed message; other lanes are still served.

Stall
- frames are held for a client message that has not arrived (or a client request has
  no recorded answer), no agent request waits for the client's answer, nothing else can
  be sent, and the client has sent nothing for the stall timeout: each client request
  still unanswered gets the JSON-RPC error naming the held frame and what it waits for;
  if none was waiting, the replay ends (the client gets end of file instead of silence).

Faults (``--fault``, :mod:`acp_tap.replay.faulting`)
- which frames a fault hits is decided from the recording alone (``nth`` in recorded
  order, ``p`` from the seed and each frame's seq), never from the client's timing;
- frames held by a fault (a delay, a slice's gaps) are never a stall: the stall timeout
  counts from when the hold ends; after a fault withholds a frame (drop, corrupt, error,
  hang, close), the client's silence is never a stall;
- recorded client messages a fault made impossible are not expected: after a crash, hang
  or close, none that has not arrived; after drop, corrupt or error, those recorded after
  the frame it hit.

Repeats (``--allow-repeats``)
- the n-th repeat of identical requests is answered as the n-th recorded one of them,
  cycling, with the notifications that request alone released in the recording.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.matching.ids import IdKey
from acp_tap.matching.normal import Normaliser, Redactions
from acp_tap.wire.jsonrpc import Kind, RequestId

PROMPT = "session/prompt"

SESSION_LEVEL_UPDATES = frozenset(
    {
        "available_commands_update",
        "current_mode_update",
        "config_option_update",
        "session_info_update",
    }
)
"""``session/update`` kinds about the session itself, not about a turn."""

SESSION_LEVEL_METHODS = frozenset(
    {"_kiro.dev/commands/available", "_kiro.dev/mcp/server_initialized", "_kiro.dev/metadata"}
)
"""Agent notifications about the session itself, not about a turn."""


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
    lane: int = 0  # the lane it belongs to (a failure skips that lane's later frames)
    session: str | None = None  # params.sessionId

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
    redactions: Redactions = Redactions.of(())
    sessions: tuple[str, ...] = ()  # the session ids of the recording, in order of appearance

    def normal(self, step: ClientStep) -> Any:
        """The normal form of a recorded client message (for diffs), without its redacted
        paths."""
        if step.kind is None:
            return bytes(step.frame.raw).decode("utf-8", "replace")
        paths = self.redactions.paths(step.frame.redacted)
        return self.normaliser.normalise(step.frame.message(), step.frame.raw, paths)

    def answer_normal(self, answer: ClientStep, msg: Any, raw: bytes | bytearray) -> Any:
        """The compared form of an answer to an agent request, live or recorded (``answer``):
        the paths redacted in the recorded answer are not compared."""
        paths = self.redactions.paths(answer.frame.redacted)
        return self.normaliser.normalise(msg, raw, paths)

    def keys(self, method: str | None, msg: Any, raw: bytes | bytearray) -> tuple[Any, list[bytes]]:
        """A live message's normal form, and its match keys (one per set of paths redacted
        in recorded messages of its method)."""
        normaliser = self.normaliser
        normal = normaliser.normalise(msg, raw)
        keys = [
            normaliser.key(normaliser.normalise(msg, raw, paths) if paths else normal, paths)
            for paths in self.redactions.sets(method)
        ]
        return normal, keys
