"""The replay engine: a sans-IO state machine that plays a recorded agent to a live client.

Feed it what the client sends (:meth:`ReplayEngine.receive`), the passing of time
(:meth:`~ReplayEngine.poll`) and the client's end of input (:meth:`~ReplayEngine.close`);
it returns :mod:`~acp_tap.replay.actions` to carry out, in order. It never reads, writes
or sleeps. Which agent frame waits for which client message is decided once, at load time
(:mod:`acp_tap.replay.plan`); each step here costs O(frames released).
"""

from __future__ import annotations

import heapq
import json
import math
import os
from typing import Any

import attrs

from acp_tap.cassette.codec import dumps_compact, loads_strict
from acp_tap.cassette.model import Payload
from acp_tap.cassette.reader import Cassette
from acp_tap.matching.diff import differences, shorten
from acp_tap.matching.ids import id_key, with_id
from acp_tap.matching.index import MatchIndex
from acp_tap.matching.mismatch import MISMATCH_CODE, error_line
from acp_tap.matching.normal import raw_key
from acp_tap.matching.relocation import SESSION_CREATORS, Relocation
from acp_tap.replay.actions import (
    Action,
    Exit,
    Mismatch,
    ReplayOptions,
    ReplayStatistics,
    Report,
    ReportKind,
    Stderr,
)
from acp_tap.replay.compiler import compile_plan
from acp_tap.replay.plan import AgentStep, ClientStep, Plan
from acp_tap.replay.reports import (
    Out,
    clip,
    named,
    no_match_report,
    repeat_report,
    unused_report,
)
from acp_tap.replay.source import compile_path
from acp_tap.wire.jsonrpc import Envelope, envelope

__all__ = ["MISMATCH_CODE", "ReplayEngine"]


@attrs.frozen
class _Incoming:
    """A decoded client line: as sent, and as compared (working directory relocated)."""

    msg: Any
    env: Envelope
    line: bytes  # as received
    data: bytes  # relocated to the recorded working directories
    now: float


@attrs.define(eq=False)
class ReplayEngine:
    """Plays one recording to one client. Build with :meth:`from_cassette` or :meth:`from_plan`."""

    plan: Plan
    options: ReplayOptions
    _index: MatchIndex
    _arrived: list[bool]
    _failed: list[str | None]  # why a recorded client message can no longer be matched
    _live_id: list[Any]
    _arrival: list[float]
    _lane_pos: list[int]
    _lane_last: list[tuple[float, float] | None]  # (live time, recorded t) of the last frame
    _relocation: Relocation = attrs.field(factory=Relocation)
    _waiting: dict[int, list[int]] = attrs.field(factory=dict)  # client step -> lanes
    _ready: list[tuple[float, int, int]] = attrs.field(factory=list)  # (due, seq, lane)
    _open_agent_requests: dict[Any, int] = attrs.field(factory=dict)  # id -> agent step
    _live_requests: dict[Any, int] = attrs.field(factory=dict)  # live id -> client step
    _extra_ids: dict[int, list[Any]] = attrs.field(factory=dict)  # repeats not yet answered
    _responses: dict[int, AgentStep] = attrs.field(factory=dict)  # client step -> response sent
    _asked: set[int] = attrs.field(factory=set)  # agent requests sent
    _remaining: int = 0
    _start: float | None = None
    _exit_due: float | None = None
    _last_sent: tuple[float, float] = (0.0, 0.0)
    _done: bool = False
    _received: int = 0
    _matched: int = 0
    _mismatches: int = 0
    _sent: int = 0

    @classmethod
    def from_cassette(
        cls, cassette: Cassette, options: ReplayOptions | None = None
    ) -> ReplayEngine:
        """An engine replaying ``cassette`` (raises :class:`~acp_tap.errors.UsageError`
        for a bad ``--ignore`` path)."""
        options = options or ReplayOptions()
        plan = compile_plan(cassette.frames, cassette.footer, options.ignore, stderr=options.stderr)
        return cls.from_plan(plan, options)

    @classmethod
    def from_path(
        cls, path: str | os.PathLike[str], options: ReplayOptions | None = None
    ) -> ReplayEngine:
        """An engine replaying the cassette at ``path`` (read and compiled in one pass)."""
        options = options or ReplayOptions()
        plan, _ = compile_path(path, options.ignore, stderr=options.stderr)
        return cls.from_plan(plan, options)

    @classmethod
    def from_plan(cls, plan: Plan, options: ReplayOptions | None = None) -> ReplayEngine:
        """An engine replaying a compiled plan."""
        index = MatchIndex()
        for step in plan.client:
            if step.key is not None:
                index.add(step.index, step.method, step.key)
        n = len(plan.client)
        return cls(
            plan,
            options or ReplayOptions(),
            index,
            [False] * n,
            [None] * n,
            [None] * n,
            [0.0] * n,
            [0] * len(plan.lanes),
            [None] * len(plan.lanes),
            remaining=len(plan.agent),
        )

    # -- the public state machine -------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether :class:`Exit` was returned; every call after that returns nothing."""
        return self._done

    def start(self, now: float) -> list[Action]:
        """Begin: send the frames recorded before any client message (idempotent)."""
        out = Out()
        self._begin(now, out)
        return out.result()

    def _begin(self, now: float, out: Out) -> None:
        if not self._done and self._start is None:
            self._start = now
            for lane in range(len(self.plan.lanes)):
                self._schedule(lane)
            self._flush(now, out)
            self._check_exit(now, out)

    def receive(self, line: bytes | bytearray, now: float) -> list[Action]:
        """A line from the client (without its terminator): match it, release what it allows."""
        out = Out()
        self._begin(now, out)
        if self._done:
            return out.result()
        self._received += 1
        line = bytes(line)
        data = self._relocation.to_recorded(line) if self._relocation else line
        try:
            msg = loads_strict(data)
        except (ValueError, UnicodeDecodeError):
            self._receive_line(line, now, out)
        else:
            incoming = _Incoming(msg, envelope(msg), line, data, now)
            if incoming.env.is_response and incoming.env.id is not None:
                self._receive_answer(incoming, out)
            else:
                self._receive_message(incoming, out)
        if not self._done:
            self._flush(now, out)
            self._check_exit(now, out)
        return out.result()

    def poll(self, now: float) -> list[Action]:
        """Time passed: send the frames now due (only ``--realtime``/``--speed`` wait)."""
        out = Out()
        self._begin(now, out)
        if not self._done:
            self._flush(now, out)
            self._check_exit(now, out)
        return out.result()

    def next_deadline(self) -> float | None:
        """When :meth:`poll` next has something to do (``None``: only on client input)."""
        if self._done:
            return None
        if self._ready:
            return self._ready[0][0]
        return self._exit_due

    def close(self, now: float) -> list[Action]:
        """The client's input ended: send what is ready, report unused messages, exit."""
        out = Out()
        self._begin(now, out)
        if self._done:
            return out.result()
        self._flush(math.inf, out)
        agent_exit = self._remaining == 0 and self.plan.exit_status is not None
        self._finish(out, agent_exit=agent_exit)
        return out.result()

    def statistics(self) -> ReplayStatistics:
        """Counters so far."""
        unused = sum(1 for i, ok in enumerate(self._arrived) if not ok and self._failed[i] is None)
        return ReplayStatistics(
            self._received, self._matched, self._mismatches, self._sent, self._remaining, unused
        )

    # -- scheduling ---------------------------------------------------------------------

    def _schedule(self, lane: int) -> None:
        """Queue the head of ``lane`` if what it waits for has arrived, else wait for it."""
        frames = self.plan.lanes[lane]
        pos = self._lane_pos[lane]
        if pos >= len(frames):
            return
        step = self.plan.agent[frames[pos]]
        for dep in step.deps:
            if not self._arrived[dep] and self._failed[dep] is None:
                self._waiting.setdefault(dep, []).append(lane)
                return
        heapq.heappush(self._ready, (self._due(step, lane), step.seq, lane))

    def _due(self, step: AgentStep, lane: int) -> float:
        speed = self.options.speed
        if speed is None:
            return -math.inf
        assert self._start is not None
        bases = [(self._arrival[d], self.plan.client[d].frame.t) for d in step.deps]
        if (last := self._lane_last[lane]) is not None:
            bases.append(last)
        if not bases:
            bases.append((self._start, 0.0))
        return max(live + max(0.0, step.t - t) / speed for live, t in bases)

    def _flush(self, now: float, out: Out) -> None:
        """Send every queued frame that is due, in recorded order among equals.

        Without timing, a lane keeps sending while its next frame is ready and no other
        lane's ready frame was recorded before it (no heap traffic for a long turn).
        """
        ready, agent, lanes, pos = self._ready, self.plan.agent, self.plan.lanes, self._lane_pos
        arrived, failed = self._arrived, self._failed
        timed = self.options.speed is not None
        while ready and ready[0][0] <= now:
            due, _, lane = heapq.heappop(ready)
            frames = lanes[lane]
            while True:
                step = agent[frames[pos[lane]]]
                pos[lane] += 1
                self._remaining -= 1
                if timed:
                    at = due if math.isfinite(due) else (now if math.isfinite(now) else 0.0)
                    self._lane_last[lane] = self._last_sent = (at, step.t)
                self._emit(step, out)
                if timed or pos[lane] >= len(frames):
                    break
                following = agent[frames[pos[lane]]]
                if ready and ready[0][1] < following.seq:
                    break
                if not _all_settled(following.deps, arrived, failed):
                    break
            self._schedule(lane)

    def _arrive(self, client: int, now: float) -> None:
        self._arrived[client] = True
        self._arrival[client] = now
        self._matched += 1
        for lane in self._waiting.pop(client, ()):
            self._schedule(lane)

    def _fail(self, client: int, reason: str) -> None:
        """A recorded client message can no longer arrive: what waits on it is skipped."""
        if self._arrived[client] or self._failed[client] is not None:
            return
        self._failed[client] = reason
        for lane in self._waiting.pop(client, ()):
            self._schedule(lane)

    def _check_exit(self, now: float, out: Out) -> None:
        if self._remaining or self.plan.exit_status is None or self._done:
            return
        if self._exit_due is None:
            speed = self.options.speed
            last_live, last_t = self._last_sent
            gap = max(0.0, self.plan.exit_t - last_t)
            self._exit_due = last_live + gap / speed if speed else -math.inf
        if self._exit_due <= now:
            self._finish(out, agent_exit=True)

    def _finish(self, out: Out, *, agent_exit: bool) -> None:
        last_seq = self.plan.agent[-1].seq if self.plan.agent else 0
        unused: list[ClientStep] = []
        unasked = 0  # answers to agent requests never sent: a consequence, not listed
        for step in self.plan.client:
            if self._arrived[step.index] or self._failed[step.index] is not None:
                continue
            if agent_exit and step.frame.seq > last_seq:
                continue  # sent after the agent was gone
            if step.answers is not None and step.answers not in self._asked:
                unasked += 1
            else:
                unused.append(step)
        if unused or unasked:
            out.append(
                Mismatch(unused_report(self.plan, unused, unasked, self.options.allow_unused))
            )
        failed = self._mismatches > 0 or (bool(unused or unasked) and not self.options.allow_unused)
        recorded = self.plan.exit_status if agent_exit else None
        out.append(Exit(1 if failed else (recorded or 0)))
        self._done = True

    # -- sending ------------------------------------------------------------------------

    def _emit(self, step: AgentStep, out: Out) -> None:
        for dep in step.deps:
            if (reason := self._failed[dep]) is not None:
                self._skip(step, reason, out)
                return
        self._sent += 1
        if step.stderr:
            out.append(Stderr(step.wire))
        elif step.payload is not Payload.JSON:
            out.send(step.wire)  # byte-exact, whatever it is
        elif step.responds_to is not None:
            self._send_response(step, out)
        else:
            if step.request_id is not None:
                self._open_agent_requests[step.request_id] = step.number
                self._asked.add(step.number)
            if step.cancels is not None and self._arrived[step.cancels]:
                live = self._live_cancel(json.loads(step.raw), step.cancels)
                out.send(self._relocation.to_live(live) + step.eol.bytes)
            elif self._relocation.pairs:
                out.send(self._relocation.to_live(step.wire))
            else:
                out.send(step.wire)

    def _send_response(self, step: AgentStep, out: Out) -> None:
        request = step.responds_to
        assert request is not None
        self._responses[request] = step
        live = self._live_id[request]
        self._live_requests.pop(id_key(live), None)
        for live_id in [live, *self._extra_ids.pop(request, ())]:
            out.send(self._response_bytes(step, live_id))

    def _response_bytes(self, step: AgentStep, live_id: Any) -> bytes:
        recorded = step.recorded_id
        if type(recorded) is type(live_id) and recorded == live_id:
            wire = step.wire
        else:
            wire = with_id(step.raw, live_id) + step.eol.bytes
        return self._relocation.to_live(wire) if self._relocation else wire

    def _live_cancel(self, msg: dict[str, Any], request: int) -> bytes:
        params = dict(msg["params"], requestId=self._live_id[request])
        return dumps_compact(dict(msg, params=params))

    def _skip(self, step: AgentStep, reason: str, out: Out) -> None:
        """A frame that depended on a failed message: not sent; its request gets an error."""
        if step.answer is not None:
            self._fail(step.answer, reason)
        if step.responds_to is not None:
            request = step.responds_to
            self._sent += 1
            ids = [self._live_id[request], *self._extra_ids.pop(request, ())]
            data = {"skipped": step.seq}
            for live_id in ids:
                out.send(error_line(live_id, reason, data))

    # -- receiving ----------------------------------------------------------------------

    def _receive_line(self, line: bytes, now: float, out: Out) -> None:
        index = self._index.take(raw_key(line))
        if index is not None:
            self._arrive(index, now)
            return
        summary = "a line that is not JSON matches no recorded line"
        self._mismatch(Report(ReportKind.NO_MATCH, summary, got=clip(line)), out)

    def _receive_message(self, incoming: _Incoming, out: Out) -> None:
        """A request or notification: take the first recorded message equal to it."""
        msg, env, data = incoming.msg, incoming.env, incoming.data
        normaliser = self.plan.normaliser
        if env.method == "$/cancel_request":
            msg = self._recorded_cancel(msg)
        normal = normaliser.normalise(msg, data)
        key = normaliser.key(normal)
        index = self._index.take(key)
        if index is None and env.method in SESSION_CREATORS:
            index = _relocated(self._relocation, self._index, self.plan, env.method, incoming)
        if index is None:
            self._no_match(incoming, normal, key, out)
            return
        if env.is_request and env.id is not None:
            self._live_id[index] = env.id
            self._live_requests[id_key(env.id)] = index
        self._arrive(index, incoming.now)

    def _recorded_cancel(self, msg: dict[str, Any]) -> dict[str, Any]:
        """``$/cancel_request`` names a live request id; compare it as the recorded id."""
        params = msg.get("params")
        if not isinstance(params, dict):
            return msg
        rid = params.get("requestId")
        if (
            not isinstance(rid, int | str)
            or (request := self._live_requests.get(id_key(rid))) is None
        ):
            return msg
        recorded_id = self.plan.client[request].frame.message().get("id")
        return dict(msg, params=dict(params, requestId=recorded_id))

    def _no_match(self, incoming: _Incoming, normal: Any, key: bytes, out: Out) -> None:
        env = incoming.env
        what = f"this {env.method} {env.kind.value}" if env.method else "this message"
        repeated = self._index.last_taken(key)
        if repeated is not None and self.options.allow_repeats:
            self._matched += 1
            if env.is_request:
                self._repeat(repeated, env.id, out)
            return
        got = clip(incoming.line)
        if repeated is not None:
            report, data = repeat_report(what, got, self.plan.client[repeated])
        else:
            closest = self._index.closest(
                env.method, normal, lambda i: self.plan.normal(self.plan.client[i])
            )
            step = None if closest is None else self.plan.client[closest.index]
            report, data = no_match_report(what, got, step, closest)
        if env.is_request:
            self._sent += 1
            out.send(error_line(env.id, report.summary, data))
        self._mismatch(report, out)

    def _repeat(self, request: int, live_id: Any, out: Out) -> None:
        response = self._responses.get(request)
        if response is None:
            self._extra_ids.setdefault(request, []).append(live_id)
        else:
            self._sent += 1
            out.send(self._response_bytes(response, live_id))

    def _receive_answer(self, incoming: _Incoming, out: Out) -> None:
        """A response from the client: to an agent request sent, compared with the recorded one."""
        msg, env, data, now = incoming.msg, incoming.env, incoming.data, incoming.now
        assert env.id is not None
        agent = self._open_agent_requests.pop(id_key(env.id), None)
        got = clip(incoming.line)
        if agent is None:
            normaliser = self.plan.normaliser
            index = self._index.take(normaliser.key(normaliser.normalise(msg, data)))
            if index is not None:  # recorded as such: a response to no agent request
                self._arrive(index, now)
                return
            summary = (
                f"the client answered id {shorten(env.id)}, but no agent "
                "request with that id is waiting for an answer"
            )
            self._mismatch(Report(ReportKind.UNEXPECTED_ANSWER, summary, got=got), out)
            return
        request = self.plan.agent[agent]
        where = f"{request.method} (frame #{request.seq})"
        if request.answer is None:
            summary = f"the recording has no answer to {where}"
            self._mismatch(Report(ReportKind.UNEXPECTED_ANSWER, summary, got=got), out)
            return
        answer = self.plan.client[request.answer]
        expected = self.plan.answer_normal(answer, answer.frame.message(), answer.frame.raw)
        actual = self.plan.answer_normal(answer, msg, data)
        normaliser = self.plan.normaliser
        if normaliser.key(expected) == normaliser.key(actual):
            self._arrive(answer.index, now)
            return
        diffs = tuple(differences(expected, actual))
        summary = f"the client's answer to {where} differs from the recording: {named(diffs)}"
        self._mismatch(Report(ReportKind.ANSWER, summary, got, answer.describe(), diffs), out)
        self._fail(answer.index, summary)

    def _mismatch(self, report: Report, out: Out) -> None:
        self._mismatches += 1
        out.append(Mismatch(report))
        if self.options.on_mismatch == "exit":
            out.append(Exit(1))
            self._done = True


def _all_settled(deps: tuple[int, ...], arrived: list[bool], failed: list[str | None]) -> bool:
    """Whether every client step in ``deps`` has arrived or failed (the hot path: one dep)."""
    if len(deps) == 1:
        dep = deps[0]
        return arrived[dep] or failed[dep] is not None
    return all(arrived[d] or failed[d] is not None for d in deps)


def _relocated(
    relocation: Relocation, index: MatchIndex, plan: Plan, method: str, incoming: _Incoming
) -> int | None:
    """Match a session-creating request whose ``cwd`` differs from the recorded ones.

    Each distinct recorded ``cwd`` of an unused ``method`` message is tried as the
    counterpart of the live one; the first that makes the whole message match is kept
    (added to ``relocation``), and the recorded message is taken from ``index``.
    """
    params = incoming.msg.get("params") if isinstance(incoming.msg, dict) else None
    live = params.get("cwd") if isinstance(params, dict) else None
    if not isinstance(live, str):
        return None
    normaliser = plan.normaliser
    tried: set[str] = set()
    for candidate in index.unused(method):
        recorded = plan.client[candidate].cwd
        if recorded is None or recorded == live or recorded in tried:
            continue
        tried.add(recorded)
        data = relocation.trial(recorded, live, incoming.line)
        try:
            message = loads_strict(data)
        except (ValueError, UnicodeDecodeError):
            continue
        found = index.take(normaliser.key(normaliser.normalise(message, data)))
        if found is not None:
            relocation.add(recorded, live)
            return found
    return None
