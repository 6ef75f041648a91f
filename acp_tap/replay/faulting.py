"""Faults applied as the replay engine emits recorded agent frames (``--fault``). Pure.

Which frames each fault hits is decided once, from the recording (:meth:`Injector.of`):
``nth`` counts in recorded order and ``p`` is drawn from the seed and each frame's seq,
so a replay repeats exactly whatever the client's timing. :meth:`Injector.deliver` then
turns a hit frame into actions (:func:`acp_tap.faults.effect.effect`) and keeps what the
rest of the replay must know: until when the stream is held (held frames are never a
stall), whether the client can still get what it waits for (after a fault withheld a
frame, its silence is not a stall), and from which recorded client message on nothing is
expected of it any more (not counted as unused).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from acp_tap.cassette.model import Payload
from acp_tap.faults.effect import (
    End,
    Hold,
    Noise,
    Write,
    effect,
    effective,
    error_response,
    hold_seconds,
    withholds,
)
from acp_tap.faults.select import Selector, Target
from acp_tap.faults.spec import ENDING, Fault, FaultKind
from acp_tap.replay.actions import CloseOutput, Exit, Injected, Pause, Send, Stderr
from acp_tap.replay.plan import AgentStep, Plan
from acp_tap.replay.reports import Out

NO_ID: Any = object()
"""``live_id`` of a frame that is not a response (an ``error`` fault leaves it as it is)."""


def target(plan: Plan, step: AgentStep) -> Target:
    """What the fault selectors see of a recorded agent frame."""
    if step.payload is not Payload.JSON:
        return Target(step.seq)
    answered = plan.client[step.responds_to].method if step.responds_to is not None else None
    return Target.of(step.seq, step.frame.message(), answered)


def consequence(fault: Fault, seconds: float) -> str:
    """What the client sees, for the note saying a fault fired."""
    kind = fault.kind
    if kind is FaultKind.DELAY:
        return f"the stream held {seconds * 1000:.0f} ms"
    if kind is FaultKind.SLICE:
        return f"the line sent in pieces of {fault.size} bytes, {fault.gap_ms} ms apart"
    if kind is FaultKind.CRASH:
        return f"the agent exits with status {fault.status} instead of sending it"
    if kind in (FaultKind.STDERR, FaultKind.FLOOD):
        what = "lines of noise on stderr" if kind is FaultKind.STDERR else "extra copies sent"
        return f"{fault.count} {what}"
    if kind is FaultKind.ERROR:
        return f"answered with JSON-RPC error {fault.code} instead"
    return {
        FaultKind.HANG: "nothing more is sent; stdout stays open",
        FaultKind.CLOSE: "stdout closed instead; stdin is still read",
        FaultKind.DROP: "not sent",
        FaultKind.DUPLICATE: "sent twice",
        FaultKind.GARBAGE: f"a line that is not JSON sent before it: {fault.text!r}",
        FaultKind.CORRUPT: "cut in half: invalid JSON, then a newline",
    }[kind]


@attrs.define(eq=False)
class Injector:
    """The faults of one replay: which frames they hit, and what they did so far."""

    hits: dict[int, tuple[Target, tuple[Fault, ...]]]  # agent step number -> faults
    seed: int
    held_until: float = -math.inf  # when the stream's last hold ends
    quiet: bool = False  # a frame was withheld: the client's silence is no stall
    muted: bool = False  # hang or close: nothing more is sent
    hung: bool = False
    crashed: int | None = None  # the exit status of a crash
    expected_until: int | None = None  # client messages recorded after it are not expected

    @classmethod
    def of(cls, plan: Plan, faults: tuple[Fault, ...], seed: int) -> Injector | None:
        """The faults' hits on ``plan`` (None without faults)."""
        if not faults:
            return None
        selector = Selector.of(faults, seed)
        hits = {}
        for step in plan.agent:
            if step.stderr:
                continue
            where = target(plan, step)
            if fired := selector.pick(where):
                hits[step.number] = (where, fired)
        return cls(hits, seed)

    def deliver(self, step: AgentStep, wire: bytes, out: Out, now: float, live_id: Any) -> bool:
        """Send ``wire`` for ``step`` as its faults say; whether it reached the client whole."""
        if self.muted:
            return False
        hit = self.hits.get(step.number)
        if hit is None:
            out.send(wire)
            return True
        where, fired = hit
        error = None if live_id is NO_ID else (lambda fault: error_response(live_id, fault))
        steps = effect(fired, wire, seq=step.seq, seed=self.seed, error=error)
        for fault in effective(fired):
            if fault.kind is FaultKind.ERROR and error is None:
                continue
            seconds = hold_seconds(fault, step.seq, self.seed)
            text = f"{fault.label} at {where.describe()}: {consequence(fault, seconds)}"
            out.append(Injected(text))
        for action in steps:
            self._carry_out(action, out, now)
        if withholds(fired):
            self.quiet = True
            ends = any(fault.kind in ENDING for fault in fired)
            until = 0 if ends else step.seq
            if self.expected_until is None or until < self.expected_until:
                self.expected_until = until
            return False
        return True

    def _carry_out(self, action: Write | Noise | Hold | End, out: Out, now: float) -> None:
        if isinstance(action, Write):
            out.append(Send(action.data))  # pieces stay separate writes
        elif isinstance(action, Noise):
            out.append(Stderr(action.data))
        elif isinstance(action, Hold):
            out.append(Pause(action.seconds))
            self.held_until = max(self.held_until, now) + action.seconds
        elif action.kind is FaultKind.CRASH:
            self.crashed = action.status
            out.append(Exit(action.status))
        else:
            if action.kind is FaultKind.CLOSE:
                out.append(CloseOutput())
            self.hung = action.kind is FaultKind.HANG
            self.muted = out.muted = True
