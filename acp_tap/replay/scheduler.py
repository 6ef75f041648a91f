"""Which recorded agent frames may be sent now: lanes, arrivals, failures and timing. Pure.

The rules are those of :mod:`acp_tap.replay.plan`; this applies them as client messages
arrive (or fail) and time passes. Each step costs O(frames released): a lane waits on one
missing client message at a time, and a lane whose next frame may go is queued once.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator

import attrs

from acp_tap.replay.plan import AgentStep, ClientStep, Plan


@attrs.define(eq=False)
class Scheduler:
    """The state of every lane of a :class:`~acp_tap.replay.plan.Plan` during a replay."""

    plan: Plan
    speed: float | None  # None: as fast as causality allows
    arrived: list[bool]  # per client step
    failed: list[str | None]  # per client step: why it can no longer arrive as recorded
    arrival: list[float]  # per client step: when it arrived
    pos: list[int]  # per lane: the next frame to send
    last: list[tuple[float, float] | None]  # per lane: (live time, recorded t) of its last frame
    lane_failed: list[tuple[int, str] | None]  # per lane: (seq, why) of its first failure
    remaining: int  # frames not sent yet
    waiting: dict[int, list[int]] = attrs.field(factory=dict)  # client step -> lanes
    ready: list[tuple[float, int, int]] = attrs.field(factory=list)  # (due, seq, lane)
    start: float | None = None
    last_sent: tuple[float, float] = (0.0, 0.0)  # (live time, recorded t) of the last frame

    @classmethod
    def of(cls, plan: Plan, speed: float | None) -> Scheduler:
        """A scheduler with nothing arrived and nothing sent."""
        n, lanes = len(plan.client), len(plan.lanes)
        return cls(
            plan, speed, [False] * n, [None] * n, [0.0] * n, [0] * lanes, [None] * lanes,
            [None] * lanes, len(plan.agent),
        )  # fmt: skip

    def begin(self, now: float) -> None:
        """Start the clock and queue every lane's first frame that may go."""
        self.start = now
        for lane in range(len(self.plan.lanes)):
            self.schedule(lane)

    def settled(self, client: int) -> bool:
        """Whether a client step has arrived or failed."""
        return self.arrived[client] or self.failed[client] is not None

    def schedule(self, lane: int) -> None:
        """Queue the head of ``lane`` if it may go (or must be skipped), else wait."""
        frames = self.plan.lanes[lane]
        pos = self.pos[lane]
        if pos >= len(frames):
            return
        step = self.plan.agent[frames[pos]]
        if (failure := self.lane_failed[lane]) is None or step.seq < failure[0]:
            for dep in step.deps:
                if not self.arrived[dep] and self.failed[dep] is None:
                    self.waiting.setdefault(dep, []).append(lane)
                    return
        heapq.heappush(self.ready, (self.due(step, lane), step.seq, lane))

    def due(self, step: AgentStep, lane: int) -> float:
        """When a frame whose dependencies have arrived is due (-inf without timing)."""
        speed = self.speed
        if speed is None:
            return -math.inf
        assert self.start is not None
        bases = [
            (self.arrival[d], self.plan.client[d].frame.t) for d in step.deps if self.arrived[d]
        ]
        if (last := self.last[lane]) is not None:
            bases.append(last)
        if not bases:
            bases.append((self.start, 0.0))
        return max(live + max(0.0, step.t - t) / speed for live, t in bases)

    def arrive(self, client: int, now: float) -> None:
        """A recorded client message arrived: queue what waited for it."""
        self.arrived[client] = True
        self.arrival[client] = now
        for lane in self.waiting.pop(client, ()):
            self.schedule(lane)

    def fail(self, client: int, reason: str) -> None:
        """A recorded client message can no longer arrive as recorded: the frames that
        waited for it, and every later frame of its lane, are to be skipped."""
        if self.arrived[client] or self.failed[client] is not None:
            return
        self.failed[client] = reason
        step = self.plan.client[client]
        lane = step.lane
        failure = self.lane_failed[lane]
        if failure is None or step.frame.seq < failure[0]:
            self.lane_failed[lane] = (step.frame.seq, reason)
            self.schedule(lane)  # a stale queue entry is dropped when it comes up
        for waiting in self.waiting.pop(client, ()):
            self.schedule(waiting)

    def failure(self, step: AgentStep) -> str | None:
        """Why a frame that came up must be skipped, or None to send it."""
        failed = self.lane_failed[step.lane]
        if failed is not None and step.seq > failed[0]:
            return failed[1]
        for dep in step.deps:
            if (reason := self.failed[dep]) is not None:
                return reason
        return None

    def release(self, now: float) -> Iterator[AgentStep]:
        """The frames due by ``now``, in recorded order among equals (marked sent).

        Without timing, a lane keeps going while its next frame may go and no other
        lane's queued frame was recorded before it (no heap traffic for a long turn).
        """
        ready, agent, lanes, pos = self.ready, self.plan.agent, self.plan.lanes, self.pos
        arrived, failed = self.arrived, self.failed
        timed = self.speed is not None
        while ready and ready[0][0] <= now:
            due, seq, lane = heapq.heappop(ready)
            frames = lanes[lane]
            if pos[lane] >= len(frames) or agent[frames[pos[lane]]].seq != seq:
                continue  # queued twice (a failure re-queued it): already sent
            while True:
                step = agent[frames[pos[lane]]]
                pos[lane] += 1
                self.remaining -= 1
                if timed:
                    at = due if math.isfinite(due) else (now if math.isfinite(now) else 0.0)
                    self.last[lane] = self.last_sent = (at, step.t)
                yield step
                if timed or pos[lane] >= len(frames):
                    break
                following = agent[frames[pos[lane]]]
                if ready and ready[0][1] < following.seq:
                    break
                if self.lane_failed[lane] is not None or not _all_settled(
                    following.deps, arrived, failed
                ):
                    break
            self.schedule(lane)

    def next_due(self) -> float | None:
        """When the first queued frame is due (None: nothing is queued)."""
        return self.ready[0][0] if self.ready else None

    def held(self) -> list[tuple[AgentStep, ClientStep]]:
        """Each waiting lane's next frame and the client message it waits for, by seq."""
        lanes = {lane for waiting in self.waiting.values() for lane in waiting}
        pairs = [pair for lane in lanes if (pair := self.held_lane(lane)) is not None]
        return sorted(pairs, key=lambda pair: pair[0].seq)

    def held_lane(self, lane: int) -> tuple[AgentStep, ClientStep] | None:
        """``lane``'s next frame, and the client message it waits for (None: not waiting)."""
        frames = self.plan.lanes[lane]
        if self.pos[lane] >= len(frames):
            return None
        step = self.plan.agent[frames[self.pos[lane]]]
        for dep in step.deps:
            if not self.settled(dep):
                return step, self.plan.client[dep]
        return None


def _all_settled(deps: tuple[int, ...], arrived: list[bool], failed: list[str | None]) -> bool:
    """Whether every client step in ``deps`` has arrived or failed (the hot path: one dep)."""
    if len(deps) == 1:
        dep = deps[0]
        return arrived[dep] or failed[dep] is not None
    return all(arrived[d] or failed[d] is not None for d in deps)
