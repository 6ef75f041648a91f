"""Compile recorded frames into a :class:`~acp_tap.replay.plan.Plan`. Pure; no I/O.

One pass in recorded order applies the lane and dependency rules written down in
:mod:`acp_tap.replay.plan`. Agent messages are routed without being parsed when they start
the usual way (:data:`FAST_ENVELOPE`), so a long or multi-MiB recording compiles quickly;
client messages are parsed (they are matched by content). Match keys are computed at the
end, once the paths redacted in the recording (not compared) are all known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import attrs

from acp_tap.cassette.framelines import FAST_ENVELOPE
from acp_tap.cassette.model import Direction, Eol, Footer, Frame, Payload
from acp_tap.matching.ids import IdKey, id_key
from acp_tap.matching.normal import IgnorePath, Normaliser, raw_key
from acp_tap.matching.relocation import SESSION_CREATORS
from acp_tap.replay.plan import GLOBAL_LANE, STDERR_LANE, AgentStep, ClientStep, Lane, Plan
from acp_tap.wire.jsonrpc import Envelope, Kind, RequestId, envelope

EnvelopeHead = tuple[bytes | None, bytes | None, bytes | None]
"""FAST_ENVELOPE's id, method and sessionId groups (None where absent)."""

_new_step = tuple.__new__  # AgentStep without its keyword defaults: the hot path's 16 fields
_EOL_BYTES = {eol: eol.bytes for eol in Eol}
_JSON = Payload.JSON


def _session(msg: Any) -> str | None:
    params = msg.get("params") if isinstance(msg, dict) else None
    sid = params.get("sessionId") if isinstance(params, dict) else None
    return sid if isinstance(sid, str) else None


def _cwd(msg: dict[str, Any]) -> str | None:
    params = msg.get("params")
    cwd = params.get("cwd") if isinstance(params, dict) else None
    return cwd if isinstance(cwd, str) else None


def _cancelled_id(msg: Any) -> IdKey | None:
    params = msg.get("params") if isinstance(msg, dict) else None
    rid = params.get("requestId") if isinstance(params, dict) else None
    return id_key(rid) if isinstance(rid, int | str) and not isinstance(rid, bool) else None


def agent_envelope(raw: bytes, m: re.Match[bytes] | None) -> tuple[Envelope, str | None, Any]:
    """An agent message's envelope and session id, and the message if it had to be parsed.

    ``m`` is the match of :data:`FAST_ENVELOPE` on ``raw``: a message starting the usual
    way is not parsed, so a multi-MiB response costs nothing.
    """
    if m is not None:
        id_text, method, sid, outcome = m.groups()
        msg_id = json.loads(id_text) if id_text is not None else None
        if outcome is not None:
            kind = Kind.RESPONSE if outcome == b"result" else Kind.ERROR
            if msg_id is not None or kind is Kind.ERROR:
                return Envelope(kind, None, msg_id), None, None
        elif method is not None and method != b"$/cancel_request":
            kind = Kind.NOTIFICATION if id_text is None else Kind.REQUEST
            return Envelope(kind, method.decode(), msg_id), sid.decode(), None
    msg = json.loads(raw)
    return envelope(msg), _session(msg), msg


@attrs.define(eq=False)
class _Client:
    """What the pass learns of a recorded client message; a ClientStep once keys are known."""

    frame: Frame
    kind: Kind | None
    method: str | None = None
    msg: Any = None  # the parsed message, to compute its key (None: not matched by key)
    answers: int | None = None
    cwd: str | None = None


@attrs.define(eq=False)
class Compiler:
    """Feed frames in recorded order (:meth:`add_client`, :meth:`add_agent`), then finish."""

    ignore: tuple[IgnorePath, ...] = ()
    stderr: bool = False
    client: list[_Client] = attrs.field(factory=list)
    agent: list[AgentStep] = attrs.field(factory=list)
    redacted: dict[str, dict[str, IgnorePath]] = attrs.field(factory=dict)  # method -> paths
    lane_ids: dict[Lane, int] = attrs.field(factory=dict)
    lane_keys: list[Lane] = attrs.field(factory=list)
    session_lanes: dict[bytes, int] = attrs.field(factory=dict)  # raw session id -> lane
    lane_sessions: dict[int, str] = attrs.field(factory=dict)
    latest_in_lane: list[int | None] = attrs.field(factory=list)
    lane_of_client: list[int] = attrs.field(factory=list)
    lane_of_agent_request: dict[int, int] = attrs.field(factory=dict)
    open_client_requests: dict[IdKey, int] = attrs.field(factory=dict)
    open_agent_requests: dict[IdKey, int] = attrs.field(factory=dict)
    session_creator: dict[str, int] = attrs.field(factory=dict)
    methods: dict[bytes, str] = attrs.field(factory=dict)
    latest: int | None = None
    global_lane: int = -1
    answers: dict[int, int] = attrs.field(factory=dict)  # agent request step -> client step

    def lane(self, lane: Lane) -> int:
        """The number of a lane."""
        number = self.lane_ids.get(lane)
        if number is None:
            number = self.lane_ids[lane] = len(self.lane_keys)
            self.lane_keys.append(lane)
            self.latest_in_lane.append(None)
            if lane[0] == "session":
                self.lane_sessions[number] = lane[1]
            elif lane == GLOBAL_LANE:
                self.global_lane = number
        return number

    # -- client messages ------------------------------------------------------------------

    def add_client(self, frame: Frame) -> None:
        """A recorded client frame."""
        index = len(self.client)
        if not frame.is_json:
            entry, lane = _Client(frame, None), GLOBAL_LANE
        else:
            entry, lane = self._client_message(index, frame)
        number = self.lane(lane)
        self.client.append(entry)
        self.lane_of_client.append(number)
        self.latest_in_lane[number] = index
        self.latest = index

    def _client_message(self, index: int, frame: Frame) -> tuple[_Client, Lane]:
        msg = frame.message()
        env = envelope(msg)
        lane: Lane
        if env.is_response and env.id is not None:
            agent_request = self.open_agent_requests.pop(id_key(env.id), None)
            if agent_request is not None:
                self.answers[agent_request] = index
                lane = self.lane_keys[self.lane_of_agent_request[agent_request]]
                return _Client(frame, env.kind, answers=agent_request), lane
        if frame.redacted and env.method is not None:
            paths = self.redacted.setdefault(env.method, {})
            for text in frame.redacted:
                if text != "$" and text not in paths:
                    paths[text] = IgnorePath.parse(text)
        sid = _session(msg)
        if sid is not None:
            lane = ("session", sid)
        elif env.method == "$/cancel_request" and (rid := _cancelled_id(msg)) is not None:
            target = self.open_client_requests.get(rid)
            lane = (
                self.lane_keys[self.lane_of_client[target]] if target is not None else GLOBAL_LANE
            )
        elif env.is_request:
            lane = ("request", index)
        else:
            lane = GLOBAL_LANE
        if env.is_request and env.id is not None:
            self.open_client_requests[id_key(env.id)] = index
        cwd = _cwd(msg) if env.method in SESSION_CREATORS else None
        return _Client(frame, env.kind, env.method, msg, cwd=cwd), lane

    # -- agent frames ---------------------------------------------------------------------

    def add_agent(self, frame: Frame) -> None:
        """A recorded agent frame (stdout or stderr)."""
        if frame.dir is Direction.AGENT_STDERR:
            if self.stderr:
                deps = () if self.latest is None else (self.latest,)
                lane = self.lane(STDERR_LANE)
                self.agent.append(self._step(frame, lane, deps, stderr=True))
        elif frame.is_json:
            self.add_agent_message(frame.seq, frame.t, bytes(frame.raw), frame.eol, frame.redacted)
        else:
            lane = self.lane(GLOBAL_LANE)
            self.agent.append(self._step(frame, lane, self._deps(lane)))

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
    ) -> None:
        """The hot path: a session notification (``session/update``...), its routing read
        by :data:`FAST_ENVELOPE` (no id, a method, ``params.sessionId`` first).
        """
        lane = self.session_lanes.get(sid)
        if lane is None:
            lane = self.session_lanes[sid] = self.lane(("session", sid.decode()))
        latest = self.latest_in_lane[lane]
        name = self.methods.get(method)
        if name is None:
            name = self.methods[method] = method.decode()
        agent = self.agent
        agent.append(
            _new_step(AgentStep, (
                len(agent), seq, t, raw + _EOL_BYTES[eol], eol, _JSON, lane,
                (latest,) if latest is not None else self._deps(lane), name,
                None, None, None, None, False, None, redacted,
            ))
        )  # fmt: skip

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
        ):
            self._add_session_notification(
                seq, t, raw, eol, sid=sid, method=method, redacted=redacted
            )
            return
        if head is not None:  # the caller read the routing only: match for the rest
            m = FAST_ENVELOPE.match(raw)
        env, sid_text, msg = agent_envelope(raw, m)
        if env.is_response and env.id is not None:
            request = self.open_client_requests.pop(id_key(env.id), None)
            if request is not None:
                self._add_response(
                    seq,
                    t,
                    raw,
                    eol,
                    redacted=redacted,
                    recorded_id=env.id,
                    request=request,
                    msg=msg,
                )
                return
        cancels: int | None = None
        if sid_text is not None:
            lane = self.lane(("session", sid_text))
        elif env.method == "$/cancel_request" and (rid := _cancelled_id(msg)) is not None:
            cancels = self.open_client_requests.get(rid)
            lane = self.lane_of_client[cancels] if cancels is not None else self.lane(GLOBAL_LANE)
        else:
            lane = self.lane(GLOBAL_LANE)
        number = len(self.agent)
        request_id = id_key(env.id) if env.is_request and env.id is not None else None
        if request_id is not None:
            self.open_agent_requests[request_id] = number
            self.lane_of_agent_request[number] = lane
        self.agent.append(
            AgentStep(
                number, seq, t, raw + eol.bytes, eol, Payload.JSON, lane, self._deps(lane),
                env.method, None, request_id, cancels=cancels, redacted=redacted,
            )
        )  # fmt: skip

    def _add_response(
        self,
        seq: int,
        t: float,
        raw: bytes,
        eol: Eol,
        *,
        redacted: tuple[str, ...],
        recorded_id: RequestId,
        request: int,
        msg: Any,
    ) -> None:
        lane = self.lane_of_client[request]
        latest = self.latest_in_lane[lane]
        deps = (request,) if latest is None or latest == request else (request, latest)
        if self.client[request].method in SESSION_CREATORS:
            result = (json.loads(raw) if msg is None else msg).get("result")
            sid = result.get("sessionId") if isinstance(result, dict) else None
            if isinstance(sid, str):
                self.session_creator.setdefault(sid, request)
        self.agent.append(
            AgentStep(
                len(self.agent), seq, t, raw + eol.bytes, eol, Payload.JSON, lane, deps,
                responds_to=request, recorded_id=recorded_id, redacted=redacted,
            )
        )  # fmt: skip

    def _deps(self, lane: int) -> tuple[int, ...]:
        """The latest client message of the lane, else of the session's creation, else any."""
        latest = self.latest_in_lane[lane]
        if latest is None and (sid := self.lane_sessions.get(lane)) is not None:
            latest = self.session_creator.get(sid)
        if latest is None or lane == self.global_lane:
            latest = self.latest
        return () if latest is None else (latest,)

    # -- the end --------------------------------------------------------------------------

    def finish(self, footer: Footer | None, last_t: float) -> Plan:
        """The plan: client messages keyed, agent requests paired with their answers."""
        per_method = {method: tuple(paths.values()) for method, paths in self.redacted.items()}
        normaliser = Normaliser(self.ignore, per_method)
        client = tuple(self._client_step(i, c, normaliser) for i, c in enumerate(self.client))
        agent = [
            step._replace(answer=self.answers[step.number]) if step.number in self.answers else step
            for step in self.agent
        ]
        lanes: list[list[int]] = [[] for _ in self.lane_keys]
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
        )

    @staticmethod
    def _client_step(index: int, entry: _Client, normaliser: Normaliser) -> ClientStep:
        frame = entry.frame
        if entry.kind is None:
            key: bytes | None = raw_key(frame.raw)
        elif entry.answers is not None:
            key = None
        else:
            key = normaliser.key(normaliser.normalise(entry.msg, frame.raw))
        return ClientStep(index, frame, entry.kind, entry.method, key, entry.answers, entry.cwd)


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
