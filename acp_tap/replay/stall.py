"""When a replay is stalled, and what it tells the client and the user about it. Pure.

The rule (:mod:`acp_tap.replay.plan`): frames are held for a client message that has not
arrived (or a client request has no recorded answer), no agent request waits for the
client's answer, nothing else can be sent, and the client has sent nothing for the stall
timeout (with timing, counted from when the held frame would have been due).
"""

from __future__ import annotations

from typing import Any

import attrs

from acp_tap.matching.mismatch import error_line
from acp_tap.replay.actions import Report, ReportKind
from acp_tap.replay.plan import AgentStep, ClientStep, Plan
from acp_tap.replay.scheduler import Scheduler


def stall_deadline(
    sched: Scheduler, agent_asking: bool, unanswered: bool, last_input: float, timeout: float
) -> float | None:
    """When the replay stalls if the client sends nothing more (None: it cannot stall now)."""
    if agent_asking or sched.ready or (sched.remaining == 0 and not unanswered):
        return None
    start = last_input
    if sched.speed is not None:
        dues = [sched.due(step, step.lane) for step, _ in sched.held()]
        if dues:
            start = max(start, min(dues))
    return start + timeout


def frame_label(plan: Plan, step: AgentStep) -> str:
    """``session/update (frame #12)``, ``the answer to session/set_mode (frame #9)``."""
    if step.responds_to is not None:
        method = plan.client[step.responds_to].method
        return f"the answer to {method} (frame #{step.seq})"
    return f"{step.method or 'a line'} (frame #{step.seq})"


def message_label(plan: Plan, step: ClientStep) -> str:
    """``session/prompt (frame #7)``, ``the client's answer to fs/read_text_file (frame #9)``."""
    if step.answers is not None:
        return f"the client's answer to {plan.agent[step.answers].method} (frame #{step.frame.seq})"
    if step.method is not None:
        return f"{step.method} (frame #{step.frame.seq})"
    return step.describe()


@attrs.frozen
class Stall:
    """What is held and why, when a stall is declared."""

    plan: Plan
    held: tuple[tuple[AgentStep, ClientStep], ...]  # each waiting lane's next frame, and why
    sched: Scheduler

    @classmethod
    def of(cls, plan: Plan, sched: Scheduler) -> Stall:
        """The replay's state when it stalled."""
        return cls(plan, tuple(sched.held()), sched)

    def explain(self, frame: AgentStep, missing: ClientStep) -> str:
        """``X (frame #12) is recorded after Y (frame #7), which has not arrived``."""
        plan = self.plan
        return (
            f"{frame_label(plan, frame)} is recorded after {message_label(plan, missing)}, "
            "which has not arrived"
        )

    def reason_for(self, request: int) -> str:
        """Why the client's request (recorded as ``request``) got no answer."""
        plan = self.plan
        response = next((s for s in plan.agent if s.responds_to == request), None)
        if response is None:
            what = message_label(plan, plan.client[request])
            return f"stall: the recording has no answer to {what}: the agent never answered it"
        pair = self.sched.held_lane(response.lane)
        if pair is None:
            return f"stall: {frame_label(plan, response)} is held"
        frame, missing = pair
        if frame is response:
            return f"stall: {self.explain(frame, missing)}"
        return (
            f"stall: {frame_label(plan, response)} follows {frame_label(plan, frame)}, which is "
            f"recorded after {message_label(plan, missing)}, which has not arrived"
        )

    def data(self, request: int) -> dict[str, Any]:
        """The ``data.acpTap`` of the error answering a stalled request."""
        response = next((s for s in self.plan.agent if s.responds_to == request), None)
        pair = None if response is None else self.sched.held_lane(response.lane)
        if pair is None:
            return {"stall": {"request": self.plan.client[request].frame.seq}}
        frame, missing = pair
        return {"stall": {"held": frame.seq, "waitsFor": missing.frame.seq}}

    def errors(self, waiting: list[tuple[Any, int]]) -> list[bytes]:
        """The JSON-RPC errors answering each waiting request: (live id, recorded step)."""
        return [error_line(live, self.reason_for(step), self.data(step)) for live, step in waiting]

    def report(self, timeout: float, answered: int) -> Report:
        """The mismatch report: what is held, for what, and what happens now."""
        lines = tuple(self.explain(frame, missing) for frame, missing in self.held)
        first = lines[0] if lines else "a client request has no recorded answer"
        if answered:
            then = f"{answered} waiting request(s) answered with an error"
        else:
            then = "no request was waiting, so the replay ends (the client gets end of file)"
        summary = (
            f"stall: the client sent nothing for {timeout:g} s and nothing can be sent until "
            f"it does: {first}; {then}"
        )
        hint = (
            "the client may be waiting for a frame the recording shows the agent sent only "
            "after that message; if the client is just slow, raise --stall-timeout"
        )
        frame = self.held[0][0].seq if self.held else None
        return Report(ReportKind.STALL, summary, details=(*lines[1:], hint), frame=frame)
