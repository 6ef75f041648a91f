"""What the replay sends the client, and when: the causal scheduler. Pure; no I/O.

The :class:`Scheduler` walks the plan's lanes (:mod:`acp_tap.replay.plan`): the head of a
lane is queued once every recorded client message it depends on has arrived (or can no
longer arrive), and queued frames are sent in recorded order when due, at once or after
the recorded gaps (``--realtime``/``--speed``). Frames go out as recorded, with the live
client's ids in responses and working directories relocated. Which client message has
arrived is the engine's business (:mod:`acp_tap.replay.engine`), told through
:meth:`~Scheduler.arrive` and :meth:`~Scheduler.fail`.
"""

from __future__ import annotations

import heapq
import json
import math
from typing import Any

import attrs

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.model import Payload
from acp_tap.matching.ids import id_key, with_id
from acp_tap.matching.mismatch import error_line
from acp_tap.matching.relocation import Relocation
from acp_tap.replay.actions import Stderr
from acp_tap.replay.plan import AgentStep, ClientStep, Plan
from acp_tap.replay.reports import Out


@attrs.define(eq=False)
class Scheduler:
    """Sends a plan's agent frames as what they wait for arrives. Build with :meth:`for_plan`."""

    plan: Plan
    speed: float | None  # None: as fast as causality allows
    relocation: Relocation
    arrived: list[bool]  # per recorded client message
    failed: list[str | None]  # why a recorded client message can no longer be matched
    _live_id: list[Any]
    _arrival: list[float]
    _lane_pos: list[int]
    _lane_last: list[tuple[float, float] | None]  # (live time, recorded t) of the last frame
    _waiting: dict[int, list[int]] = attrs.field(factory=dict)  # client step -> lanes
    _ready: list[tuple[float, int, int]] = attrs.field(factory=list)  # (due, seq, lane)
    _open_agent_requests: dict[Any, int] = attrs.field(factory=dict)  # id -> agent step
    _live_requests: dict[Any, int] = attrs.field(factory=dict)  # live id -> client step
    _extra_ids: dict[int, list[Any]] = attrs.field(factory=dict)  # repeats not yet answered
    _responses: dict[int, AgentStep] = attrs.field(factory=dict)  # client step -> response sent
    asked: set[int] = attrs.field(factory=set)  # agent requests sent
    remaining: int = 0  # agent frames not sent yet
    sent: int = 0  # agent frames sent (stdout lines, including error answers)
    _start: float | None = None
    _exit_due: float | None = None
    _last_sent: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def for_plan(cls, plan: Plan, speed: float | None, relocation: Relocation) -> Scheduler:
        """A scheduler for ``plan``, sending with ``relocation``'s directories."""
        n = len(plan.client)
        return cls(
            plan,
            speed,
            relocation,
            [False] * n,
            [None] * n,
            [None] * n,
            [0.0] * n,
            [0] * len(plan.lanes),
            [None] * len(plan.lanes),
            remaining=len(plan.agent),
        )

    @property
    def started(self) -> bool:
        """Whether :meth:`start` was called."""
        return self._start is not None

    def start(self, now: float) -> None:
        """Queue the frames recorded before any client message (send them with :meth:`flush`)."""
        self._start = now
        for lane in range(len(self.plan.lanes)):
            self._schedule(lane)

    def next_deadline(self) -> float | None:
        """When the next queued frame (or the recorded exit) is due."""
        if self._ready:
            return self._ready[0][0]
        return self._exit_due

    def exit_due(self, now: float) -> bool:
        """Whether the agent's recorded exit is due: every frame sent, the last gap waited."""
        if self.remaining or self.plan.exit_status is None:
            return False
        if self._exit_due is None:
            speed = self.speed
            last_live, last_t = self._last_sent
            gap = max(0.0, self.plan.exit_t - last_t)
            self._exit_due = last_live + gap / speed if speed else -math.inf
        return self._exit_due <= now

    # -- what the client said -------------------------------------------------------------

    def arrive(self, client: int, now: float) -> None:
        """Recorded client message ``client`` arrived: queue what waited for it."""
        self.arrived[client] = True
        self._arrival[client] = now
        for lane in self._waiting.pop(client, ()):
            self._schedule(lane)

    def fail(self, client: int, reason: str) -> None:
        """A recorded client message can no longer arrive: what waits on it is skipped."""
        if self.arrived[client] or self.failed[client] is not None:
            return
        self.failed[client] = reason
        for lane in self._waiting.pop(client, ()):
            self._schedule(lane)

    def request(self, client: int, live_id: Any) -> None:
        """Recorded client request ``client`` arrived with ``live_id``: its response gets it."""
        self._live_id[client] = live_id
        self._live_requests[id_key(live_id)] = client

    def live_request(self, live_id: Any) -> int | None:
        """The recorded client request that arrived with ``live_id``, still unanswered."""
        return self._live_requests.get(id_key(live_id))

    def answered(self, live_id: Any) -> int | None:
        """The agent request sent with id ``live_id``, now answered (``None``: none waits)."""
        return self._open_agent_requests.pop(id_key(live_id), None)

    def unused(self, agent_exit: bool) -> tuple[list[ClientStep], int]:
        """Recorded client messages that never arrived, and how many of the others were
        answers to agent requests never sent (a consequence, not listed)."""
        last_seq = self.plan.agent[-1].seq if self.plan.agent else 0
        unused: list[ClientStep] = []
        unasked = 0
        for step in self.plan.client:
            if self.arrived[step.index] or self.failed[step.index] is not None:
                continue
            if agent_exit and step.frame.seq > last_seq:
                continue  # sent after the agent was gone
            if step.answers is not None and step.answers not in self.asked:
                unasked += 1
            else:
                unused.append(step)
        return unused, unasked

    # -- scheduling -----------------------------------------------------------------------

    def _schedule(self, lane: int) -> None:
        """Queue the head of ``lane`` if what it waits for has arrived, else wait for it."""
        frames = self.plan.lanes[lane]
        pos = self._lane_pos[lane]
        if pos >= len(frames):
            return
        step = self.plan.agent[frames[pos]]
        for dep in step.deps:
            if not self.arrived[dep] and self.failed[dep] is None:
                self._waiting.setdefault(dep, []).append(lane)
                return
        heapq.heappush(self._ready, (self._due(step, lane), step.seq, lane))

    def _due(self, step: AgentStep, lane: int) -> float:
        speed = self.speed
        if speed is None:
            return -math.inf
        assert self._start is not None
        bases = [(self._arrival[d], self.plan.client[d].frame.t) for d in step.deps]
        if (last := self._lane_last[lane]) is not None:
            bases.append(last)
        if not bases:
            bases.append((self._start, 0.0))
        return max(live + max(0.0, step.t - t) / speed for live, t in bases)

    def flush(self, now: float, out: Out) -> None:
        """Send every queued frame that is due, in recorded order among equals.

        Without timing, a lane keeps sending while its next frame is ready and no other
        lane's ready frame was recorded before it (no heap traffic for a long turn).
        """
        ready, agent, lanes, pos = self._ready, self.plan.agent, self.plan.lanes, self._lane_pos
        arrived, failed = self.arrived, self.failed
        timed = self.speed is not None
        while ready and ready[0][0] <= now:
            due, _, lane = heapq.heappop(ready)
            frames = lanes[lane]
            while True:
                step = agent[frames[pos[lane]]]
                pos[lane] += 1
                self.remaining -= 1
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

    # -- sending --------------------------------------------------------------------------

    def _emit(self, step: AgentStep, out: Out) -> None:
        for dep in step.deps:
            if (reason := self.failed[dep]) is not None:
                self._skip(step, reason, out)
                return
        self.sent += 1
        if step.stderr:
            out.append(Stderr(step.wire))
        elif step.payload is not Payload.JSON:
            out.send(step.wire)  # byte-exact, whatever it is
        elif step.responds_to is not None:
            self._send_response(step, out)
        else:
            if step.request_id is not None:
                self._open_agent_requests[step.request_id] = step.number
                self.asked.add(step.number)
            if step.cancels is not None and self.arrived[step.cancels]:
                live = self._live_cancel(json.loads(step.raw), step.cancels)
                out.send(self.relocation.to_live(live) + step.eol.bytes)
            elif self.relocation.pairs:
                out.send(self.relocation.to_live(step.wire))
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
        return self.relocation.to_live(wire) if self.relocation else wire

    def _live_cancel(self, msg: dict[str, Any], request: int) -> bytes:
        params = dict(msg["params"], requestId=self._live_id[request])
        return dumps_compact(dict(msg, params=params))

    def _skip(self, step: AgentStep, reason: str, out: Out) -> None:
        """A frame that depended on a failed message: not sent; its request gets an error."""
        if step.answer is not None:
            self.fail(step.answer, reason)
        if step.responds_to is not None:
            request = step.responds_to
            self.sent += 1
            ids = [self._live_id[request], *self._extra_ids.pop(request, ())]
            data = {"skipped": step.seq}
            for live_id in ids:
                out.send(error_line(live_id, reason, data))

    def repeat(self, request: int, live_id: Any, out: Out) -> None:
        """Answer a repeat of recorded request ``request`` (``--allow-repeats``) with its
        recorded response: now if it was sent, else together with it."""
        response = self._responses.get(request)
        if response is None:
            self._extra_ids.setdefault(request, []).append(live_id)
        else:
            self.sent += 1
            out.send(self._response_bytes(response, live_id))

    def send_error(self, live_id: Any, summary: str, data: dict[str, Any], out: Out) -> None:
        """Answer live request ``live_id`` with the mismatch error."""
        self.sent += 1
        out.send(error_line(live_id, summary, data))


def _all_settled(deps: tuple[int, ...], arrived: list[bool], failed: list[str | None]) -> bool:
    """Whether every client step in ``deps`` has arrived or failed (the hot path: one dep)."""
    if len(deps) == 1:
        dep = deps[0]
        return arrived[dep] or failed[dep] is not None
    return all(arrived[d] or failed[d] is not None for d in deps)
