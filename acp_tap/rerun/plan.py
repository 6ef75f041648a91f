"""A recording compiled for client-side replay: when each client message may be sent. Pure.

The client-side replay plays the recorded *client* into a live agent. Every recorded client
message becomes an :class:`Outgoing` step; every recorded agent request an :class:`Ask`.
The pacing rules, in one place (applied by :func:`compile_client_plan`):

- a client message answering a recorded agent request is *reactive*: it is sent when the
  live agent makes the matching request (see :mod:`acp_tap.rerun.answers`);
- every other client message is *proactive*: sent in recorded order, once
  - (hard) every client request whose response was recorded before it has its live
    response: a prompt goes after the previous turn's response, a ``session/prompt``
    after the ``session/new`` that named its session;
  - (soft) if its session had a request open at that point of the recording (a prompt
    turn), the live agent has sent as many ``session/update`` notifications in that
    session, since the previous proactive message of the session, as were recorded, and
    made the agent requests recorded in between: a ``session/cancel`` goes after the same
    number of updates. Soft conditions lapse once that open request is answered live, so
    an agent that streams less than the recording cannot stall the replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Footer, Frame
from acp_tap.inspect import acp
from acp_tap.matching.ids import IdKey, id_key
from acp_tap.matching.relocation import SESSION_CREATORS
from acp_tap.wire.jsonrpc import RequestId, envelope

TURN_METHODS = frozenset({"session/prompt", "session/load"})
"""Client requests that start a turn (as :mod:`acp_tap.inspect.conversation` counts them)."""


@attrs.frozen
class Wait:
    """What a proactive client message waits for (see the module docstring)."""

    answered: tuple[int, ...] = ()  # steps whose live response must have arrived (hard)
    anchor: int | None = None  # the session's previous proactive step: updates count from it
    updates: int = 0  # session/update notifications recorded since the anchor (soft)
    asked: tuple[int, ...] = ()  # agent requests recorded since the anchor (soft)
    release: int | None = None  # the open request whose live response lifts the soft part


NO_WAIT = Wait()


@attrs.frozen
class Outgoing:
    """A recorded client message, and when it is sent."""

    index: int
    frame: Frame
    method: str | None
    request_id: RequestId | None = None  # a client request's id: sent as recorded
    session: str | None = None  # the recorded session named by params.sessionId
    answers: int | None = None  # reactive: the Ask this message answers
    wait: Wait = NO_WAIT

    def describe(self) -> str:
        """``frame #8 session/prompt`` and the like, for reports."""
        if self.method is not None:
            return f"frame #{self.frame.seq} {self.method}"
        if self.answers is not None:
            return f"frame #{self.frame.seq} (an answer to an agent request)"
        return f"frame #{self.frame.seq}"


@attrs.frozen
class Ask:
    """A recorded agent request, with the recorded client message answering it."""

    number: int
    seq: int
    method: str
    request_id: RequestId
    params: dict[str, Any]
    session: str | None
    where: str  # "session 1 turn 2": where it happened, for reports
    after: int | None  # the last proactive step sent before it (None: before any)
    answer: int | None = None  # the Outgoing index of the recorded answer


@attrs.frozen
class ClientPlan:
    """A recording compiled for client-side replay."""

    steps: tuple[Outgoing, ...]
    asks: tuple[Ask, ...]
    created: Mapping[int, str]  # session-creating step -> the session id recorded in its result
    responded: frozenset[int]  # client requests whose response was recorded
    tool_calls: Mapping[str, tuple[str, ...]]  # recorded session -> tool call ids, first seen order
    ordinals: Mapping[str, int]  # recorded session -> 1, 2, ... as reports number them
    cwds: Mapping[str, str]  # recorded session -> its working directory (params.cwd)
    cwd: str | None  # the first recorded session working directory
    agent_lines: int  # recorded agent stdout lines
    frames: tuple[Frame, ...]
    footer: Footer | None

    @property
    def agent_exit(self) -> bool:
        """Whether the recording ended with the agent exiting on its own."""
        return self.footer is not None and self.footer.closed_first == "agent"

    @property
    def proactive(self) -> tuple[Outgoing, ...]:
        """The steps sent in recorded order (not answers to agent requests)."""
        return tuple(s for s in self.steps if s.answers is None)


def where(ordinal: int | None, turn: int) -> str:
    """``session 1 turn 2`` (``session 1`` before its first turn; ``agent requests`` without)."""
    if ordinal is None:
        return "agent requests"
    return f"session {ordinal} turn {turn}" if turn else f"session {ordinal}"


@attrs.define(eq=False)
class _Lane:
    """What the compiler tracks per recorded session."""

    anchor: int | None = None
    updates: int = 0
    asked: list[int] = attrs.field(factory=list)
    open: list[int] = attrs.field(factory=list)  # its client requests not answered yet
    turns: int = 0


@attrs.define(eq=False)
class _Compiler:
    steps: list[Outgoing] = attrs.field(factory=list)
    asks: list[Ask] = attrs.field(factory=list)
    lanes: dict[str, _Lane] = attrs.field(factory=dict)
    open_client: dict[IdKey, int] = attrs.field(factory=dict)
    open_agent: dict[IdKey, int] = attrs.field(factory=dict)
    answered_since: list[int] = attrs.field(factory=list)
    created: dict[int, str] = attrs.field(factory=dict)
    responded: set[int] = attrs.field(factory=set)
    tools: dict[str, list[str]] = attrs.field(factory=dict)
    ordinals: dict[str, int] = attrs.field(factory=dict)
    cwds: dict[str, str] = attrs.field(factory=dict)
    step_cwds: dict[int, str] = attrs.field(factory=dict)  # session/new... -> its cwd
    cwd: str | None = None
    last_proactive: int | None = None
    agent_lines: int = 0

    def lane(self, session: str) -> _Lane:
        lane = self.lanes.get(session)
        if lane is None:
            lane = self.lanes[session] = _Lane()
        return lane

    def add(self, frame: Frame) -> None:
        if frame.dir is Direction.CLIENT_TO_AGENT:
            self.add_client(frame)
        elif frame.dir is Direction.AGENT_TO_CLIENT:
            self.agent_lines += 1
            if frame.is_json:
                self.add_agent(frame.message(), frame.seq)

    def add_client(self, frame: Frame) -> None:
        index = len(self.steps)
        if not frame.is_json:
            self.steps.append(self._proactive(index, frame, None, None, None))
            return
        msg = frame.message()
        env = envelope(msg)
        if env.is_response and env.id is not None:
            ask = self.open_agent.pop(id_key(env.id), None)
            if ask is not None:
                self.asks[ask] = attrs.evolve(self.asks[ask], answer=index)
                self.steps.append(Outgoing(index, frame, None, answers=ask))
                return
        params = acp.params_of(msg)
        session = acp.session_of(params)
        request_id = env.id if env.is_request else None
        self.steps.append(self._proactive(index, frame, env.method, request_id, session))
        cwd = params.get("cwd")
        if env.method in SESSION_CREATORS and isinstance(cwd, str):
            self.cwd = self.cwd or cwd
            if session is not None:
                self.cwds.setdefault(session, cwd)
            self.step_cwds[index] = cwd
        if request_id is not None:
            self.open_client[id_key(request_id)] = index
            if session is not None:
                self.lane(session).open.append(index)

    def _proactive(
        self,
        index: int,
        frame: Frame,
        method: str | None,
        request_id: RequestId | None,
        session: str | None,
    ) -> Outgoing:
        answered, self.answered_since = tuple(self.answered_since), []
        wait = Wait(answered)
        if session is not None:
            self.ordinals.setdefault(session, len(self.ordinals) + 1)
            lane = self.lane(session)
            if lane.open:
                wait = Wait(answered, lane.anchor, lane.updates, tuple(lane.asked), lane.open[-1])
            lane.anchor, lane.updates, lane.asked = index, 0, []
            if method in TURN_METHODS:
                lane.turns += 1
        self.last_proactive = index
        return Outgoing(index, frame, method, request_id, session, wait=wait)

    def add_agent(self, msg: Any, seq: int) -> None:
        env = envelope(msg)
        if env.is_response and env.id is not None:
            step = self.open_client.pop(id_key(env.id), None)
            if step is not None:
                self._response(step, msg)
            return
        params = acp.params_of(msg)
        session = acp.session_of(params)
        if env.method == "session/update" and session is not None:
            self.lane(session).updates += 1
            self._tool_call(session, params.get("update"))
        elif env.is_request and env.method is not None and env.id is not None:
            number = len(self.asks)
            lane = self.lane(session) if session is not None else None
            place = where(self.ordinals.get(session or ""), lane.turns if lane else 0)
            ask = Ask(number, seq, env.method, env.id, params, session, place, self.last_proactive)
            self.asks.append(ask)
            self.open_agent[id_key(env.id)] = number
            if lane is not None:
                lane.asked.append(number)

    def _response(self, step: int, msg: Any) -> None:
        self.responded.add(step)
        self.answered_since.append(step)
        outgoing = self.steps[step]
        if outgoing.session is not None:
            self.lane(outgoing.session).open.remove(step)
        result = msg.get("result") if isinstance(msg, dict) else None
        created = acp.session_of(result)
        if outgoing.method in SESSION_CREATORS and created is not None:
            self.created[step] = created
            self.ordinals.setdefault(created, len(self.ordinals) + 1)
            if step in self.step_cwds:
                self.cwds.setdefault(created, self.step_cwds[step])

    def _tool_call(self, session: str, update: Any) -> None:
        tool = update.get("toolCallId") if isinstance(update, dict) else None
        if isinstance(tool, str):
            seen = self.tools.setdefault(session, [])
            if tool not in seen:
                seen.append(tool)

    def finish(self, frames: tuple[Frame, ...], footer: Footer | None) -> ClientPlan:
        return ClientPlan(
            tuple(self.steps),
            tuple(self.asks),
            dict(self.created),
            frozenset(self.responded),
            {s: tuple(ids) for s, ids in self.tools.items()},
            dict(self.ordinals),
            dict(self.cwds),
            self.cwd,
            self.agent_lines,
            frames,
            footer,
        )


def compile_client_plan(frames: Sequence[Frame], footer: Footer | None) -> ClientPlan:
    """Compile a recording (frames in recorded order) for client-side replay."""
    compiler = _Compiler()
    for frame in frames:
        compiler.add(frame)
    return compiler.finish(tuple(frames), footer)
