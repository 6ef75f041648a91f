"""Compile recorded frames into a :class:`~acp_tap.replay.plan.Plan`. Pure; no I/O.

One pass in recorded order applies the lane and dependency rules written down in
:mod:`acp_tap.replay.plan`. Agent messages are routed without being parsed when they start
the usual way (:data:`FAST_ENVELOPE`), so a long or multi-MiB recording compiles quickly;
client messages are parsed (they are matched by content). Match keys are computed at the
end, once the paths redacted in the recording (not compared) are all known.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from acp_tap.cassette.framelines import FAST_ENVELOPE
from acp_tap.cassette.model import Direction, Eol, Footer, Frame, Payload
from acp_tap.matching.ids import IdKey, id_key
from acp_tap.matching.normal import IgnorePath, Normaliser, Redactions, raw_key
from acp_tap.matching.relocation import SESSION_CREATORS
from acp_tap.replay.plan import AgentStep, ClientStep, Plan
from acp_tap.replay.routing import (
    LEVEL_METHODS,
    agent_envelope,
    cancelled_id,
    cwd_of,
    is_level,
    maybe_level,
    session_of,
)
from acp_tap.replay.sessions import Session, Sessions
from acp_tap.wire.jsonrpc import Kind, RequestId, envelope

EnvelopeHead = tuple[bytes | None, bytes | None, bytes | None]
"""FAST_ENVELOPE's id, method and sessionId groups (None where absent)."""

_new_step = tuple.__new__  # AgentStep without its keyword defaults: the hot path's 16 fields
_EOL_BYTES = {eol: eol.bytes for eol in Eol}
_JSON = Payload.JSON


@attrs.define(eq=False)
class _Client:
    """What the pass learns of a recorded client message; a ClientStep once keys are known."""

    frame: Frame
    kind: Kind | None
    method: str | None = None
    msg: Any = None  # the parsed message, to compute its key (None: not matched by key)
    answers: int | None = None
    cwd: str | None = None
    session: str | None = None


GLOBAL = 0
"""The global lane's number."""
STDERR = 1
"""The number of the lane of recorded agent stderr lines."""


@attrs.define(eq=False)
class Compiler:
    """Feed frames in recorded order (:meth:`add_client`, :meth:`add_agent`), then finish."""

    ignore: tuple[IgnorePath, ...] = ()
    stderr: bool = False
    client: list[_Client] = attrs.field(factory=list)
    agent: list[AgentStep] = attrs.field(factory=list)
    latest_in_lane: list[int | None] = attrs.field(factory=lambda: [None, None])
    lane_of_client: list[int] = attrs.field(factory=list)
    sessions: Sessions = attrs.field(
        default=attrs.Factory(
            lambda self: Sessions(self.lane_of_client, self.latest_in_lane), takes_self=True
        )
    )
    lane_of_agent_request: dict[int, int] = attrs.field(factory=dict)
    session_of_agent_request: dict[int, Session] = attrs.field(factory=dict)
    open_client_requests: dict[IdKey, int] = attrs.field(factory=dict)
    open_agent_requests: dict[IdKey, int] = attrs.field(factory=dict)
    methods: dict[bytes, str] = attrs.field(factory=dict)
    latest: int | None = None
    answers: dict[int, int] = attrs.field(factory=dict)  # agent request step -> client step

    # -- client messages ------------------------------------------------------------------

    def add_client(self, frame: Frame) -> None:
        """A recorded client frame."""
        index = len(self.client)
        if not frame.is_json:
            entry, lane = _Client(frame, None), GLOBAL
        else:
            entry, lane = self._client_message(index, frame)
        self.client.append(entry)
        self.lane_of_client.append(lane)
        self.latest_in_lane[lane] = index
        self.latest = index

    def _client_message(self, index: int, frame: Frame) -> tuple[_Client, int]:
        msg = frame.message()
        env = envelope(msg)
        if env.is_response and env.id is not None:
            agent_request = self.open_agent_requests.pop(id_key(env.id), None)
            if agent_request is not None:
                self.answers[agent_request] = index
                state = self.session_of_agent_request.get(agent_request)
                if state is not None:
                    self.sessions.said(state, index)
                name = state.name if state is not None else None
                entry = _Client(frame, env.kind, answers=agent_request, session=name)
                return entry, self.lane_of_agent_request[agent_request]
        sid = session_of(msg)
        sessions = self.sessions
        state = sessions.get(sid) if sid is not None else None
        if env.method == "$/cancel_request" and (rid := cancelled_id(msg)) is not None:
            target = self.open_client_requests.get(rid)
            lane = self.lane_of_client[target] if target is not None else GLOBAL
        elif env.is_request:
            lane = sessions.new_lane()
        elif state is not None:
            lane = sessions.notification_lane(state)
        else:
            lane = GLOBAL
        if env.is_request:
            if env.id is not None:
                self.open_client_requests[id_key(env.id)] = index
            sessions.request(index, env.method, state)
        if state is not None:
            sessions.said(state, index)
        cwd = cwd_of(msg) if env.method in SESSION_CREATORS else None
        return _Client(frame, env.kind, env.method, msg, cwd=cwd, session=sid), lane

    def _deps(self, lane: int, state: Session | None = None) -> tuple[int, ...]:
        """The latest client message of the lane, else of the session's creation, else any."""
        latest = self.latest_in_lane[lane]
        if latest is None and state is not None:
            latest = self.sessions.anchor(state)
        if latest is None or lane == GLOBAL:
            latest = self.latest
        return () if latest is None else (latest,)

    # -- agent frames ---------------------------------------------------------------------

    def add_agent(self, frame: Frame) -> None:
        """A recorded agent frame (stdout or stderr)."""
        if frame.dir is Direction.AGENT_STDERR:
            if self.stderr:
                deps = () if self.latest is None else (self.latest,)
                self.agent.append(self._step(frame, STDERR, deps, stderr=True))
        elif frame.is_json:
            self.add_agent_message(frame.seq, frame.t, bytes(frame.raw), frame.eol, frame.redacted)
        else:
            self.agent.append(self._step(frame, GLOBAL, self._deps(GLOBAL)))

    def _step(
        self, frame: Frame, lane: int, deps: tuple[int, ...], *, stderr: bool = False
    ) -> AgentStep:
        wire = bytes(frame.raw) + frame.eol.bytes
        return AgentStep(
            len(self.agent), frame.seq, frame.t, wire, frame.eol, frame.payload, lane, deps,
            stderr=stderr, redacted=frame.redacted,
        )  # fmt: skip

    def _add_session_notification(
        self,
        seq: int,
        t: float,
        raw: bytes,
        eol: Eol,
        *,
        sid: bytes,
        method: bytes,
        redacted: tuple[str, ...],
    ) -> bool:
        """The hot path: a turn's notification (``session/update``...), its routing read by
        :data:`FAST_ENVELOPE` (no id, a method, ``params.sessionId`` first). False for a
        session-level notification, which takes the general path.
        """
        if method in LEVEL_METHODS or (method == b"session/update" and maybe_level(raw)):
            return False
        state = self.sessions.raw(sid)
        lane = state.lane
        if lane is None:
            lane = self.sessions.turn_lane(state)
        latest = self.latest_in_lane[lane]
        name = self.methods.get(method)
        if name is None:
            name = self.methods[method] = method.decode()
        agent = self.agent
        agent.append(
            _new_step(AgentStep, (
                len(agent), seq, t, raw + _EOL_BYTES[eol], eol, _JSON, lane,
                (latest,) if latest is not None else self._deps(lane, state), name,
                None, None, None, None, False, None, redacted,
            ))
        )  # fmt: skip
        return True

    def add_agent_message(
        self,
        seq: int,
        t: float,
        raw: bytes,
        eol: Eol,
        redacted: tuple[str, ...] = (),
        *,
        head: EnvelopeHead | None = None,
    ) -> None:
        """A recorded agent JSON message, by its bytes (the loader's fast path calls this).

        ``head`` is :data:`FAST_ENVELOPE`'s id, method and sessionId groups on ``raw``
        (None where absent), when the caller has read them already.
        """
        m = FAST_ENVELOPE.match(raw) if head is None else None
        id_text, method, sid = head or (m.group(1, 2, 3) if m is not None else (None, None, None))
        if (
            id_text is None
            and sid is not None
            and method is not None
            and method != b"$/cancel_request"
            and self._add_session_notification(
                seq, t, raw, eol, sid=sid, method=method, redacted=redacted
            )
        ):
            return
        if head is not None:  # the caller read the routing only: match for the rest
            m = FAST_ENVELOPE.match(raw)
        env, sid_text, msg = agent_envelope(raw, m)
        if env.is_response and env.id is not None:
            request = self.open_client_requests.pop(id_key(env.id), None)
            if request is not None:
                self._add_response(
                    (seq, t, raw, eol),
                    redacted=redacted,
                    recorded_id=env.id,
                    request=request,
                    msg=msg,
                )
                return
        cancels: int | None = None
        sessions = self.sessions
        state = sessions.get(sid_text) if sid_text is not None else None
        if env.method == "$/cancel_request" and (rid := cancelled_id(msg)) is not None:
            cancels = self.open_client_requests.get(rid)
            lane = self.lane_of_client[cancels] if cancels is not None else GLOBAL
            deps = self._deps(lane)
        elif env.kind is Kind.NOTIFICATION and is_level(env.method, raw, msg):
            lane = sessions.level_lane(state) if state is not None else GLOBAL
            deps = sessions.setup_deps(state)
        elif state is not None:
            lane = sessions.turn_lane(state)
            deps = self._deps(lane, state)
        else:
            lane = GLOBAL
            deps = self._deps(lane)
        number = len(self.agent)
        request_id = id_key(env.id) if env.is_request and env.id is not None else None
        if request_id is not None:
            self.open_agent_requests[request_id] = number
            self.lane_of_agent_request[number] = lane
            if state is not None:
                self.session_of_agent_request[number] = state
        self.agent.append(
            AgentStep(
                number, seq, t, raw + eol.bytes, eol, Payload.JSON, lane, deps,
                env.method, None, request_id, cancels=cancels, redacted=redacted,
            )
        )  # fmt: skip

    def _add_response(
        self,
        line: tuple[int, float, bytes, Eol],
        *,
        redacted: tuple[str, ...],
        recorded_id: RequestId,
        request: int,
        msg: Any,
    ) -> None:
        seq, t, raw, eol = line
        lane = self.lane_of_client[request]
        latest = self.latest_in_lane[lane]
        deps = (request,) if latest is None or latest == request else (request, latest)
        entry = self.client[request]
        created = None
        if entry.method in SESSION_CREATORS:
            result = (json.loads(raw) if msg is None else msg).get("result")
            sid = result.get("sessionId") if isinstance(result, dict) else None
            created = sid if isinstance(sid, str) else None
        self.sessions.answered(request, entry.method, entry.session, created)
        self.agent.append(
            AgentStep(
                len(self.agent), seq, t, raw + eol.bytes, eol, Payload.JSON, lane, deps,
                responds_to=request, recorded_id=recorded_id, redacted=redacted,
            )
        )  # fmt: skip

    # -- the end --------------------------------------------------------------------------

    def finish(self, footer: Footer | None, last_t: float) -> Plan:
        """The plan: client messages keyed, agent requests paired with their answers."""
        normaliser = Normaliser(self.ignore)
        redactions = Redactions.of(
            (c.method, c.frame.redacted) for c in self.client if c.kind is not None
        )
        client = tuple(
            self._client_step(i, c, normaliser, redactions) for i, c in enumerate(self.client)
        )
        agent = [
            step._replace(answer=self.answers[step.number]) if step.number in self.answers else step
            for step in self.agent
        ]
        lanes: list[list[int]] = [[] for _ in self.latest_in_lane]
        for step in agent:
            lanes[step.lane].append(step.number)
        closed_by_agent = footer is not None and footer.closed_first == "agent"
        return Plan(
            client,
            tuple(agent),
            tuple(map(tuple, lanes)),
            normaliser,
            footer.status if footer is not None and closed_by_agent else None,
            footer.t if footer is not None else last_t,
            redactions,
            tuple(self.sessions.by_name),
        )

    def _client_step(
        self, index: int, entry: _Client, normaliser: Normaliser, redactions: Redactions
    ) -> ClientStep:
        frame = entry.frame
        if entry.kind is None:
            key: bytes | None = raw_key(frame.raw)
        elif entry.answers is not None:
            key = None
        else:
            paths = redactions.paths(frame.redacted)
            key = normaliser.key(normaliser.normalise(entry.msg, frame.raw, paths), paths)
        return ClientStep(
            index, frame, entry.kind, entry.method, key, entry.answers, entry.cwd,
            self.lane_of_client[index], entry.session,
        )  # fmt: skip


def compile_plan(
    frames: Sequence[Frame],
    footer: Footer | None,
    ignore: Sequence[str] = (),
    *,
    stderr: bool = False,
) -> Plan:
    """Compile recorded frames (in recorded order) into a :class:`Plan`.

    ``ignore`` are ``--ignore`` paths; paths redacted in recorded client messages are
    ignored for their method too. Raises :class:`~acp_tap.errors.UsageError` on a bad path.
    """
    compiler = Compiler(tuple(IgnorePath.parse(p) for p in ignore), stderr)
    for frame in frames:
        if frame.dir is Direction.CLIENT_TO_AGENT:
            compiler.add_client(frame)
        else:
            compiler.add_agent(frame)
    return compiler.finish(footer, frames[-1].t if frames else 0.0)
