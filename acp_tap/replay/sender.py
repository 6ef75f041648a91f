"""Sends the recorded agent frames the scheduler releases to the live client. Pure.

With the live ids and directories (:mod:`acp_tap.replay.outgoing`), through the faults
(:mod:`acp_tap.replay.faulting`), answering again for repeated requests, and skipping the
frames that depend on a failed client message (their requests get an error). It keeps
what was sent: the responses, the agent requests asked, the requests a stall abandoned.
"""

from __future__ import annotations

from typing import Any

import attrs

from acp_tap.cassette.model import Payload
from acp_tap.matching.ids import id_key
from acp_tap.matching.mismatch import error_line
from acp_tap.replay.actions import Mismatch, Stderr
from acp_tap.replay.faulting import NO_ID, Injector
from acp_tap.replay.outgoing import alone, live_cancel, response_bytes
from acp_tap.replay.plan import AgentStep, Plan
from acp_tap.replay.receive import Receiver
from acp_tap.replay.reports import Out, skipped_report
from acp_tap.replay.scheduler import Scheduler


@attrs.define(eq=False)
class Sender:
    """What the replay has sent so far, and how it sends more."""

    plan: Plan
    sched: Scheduler
    receiver: Receiver
    injector: Injector | None = None  # the faults (--fault), if any
    responses: dict[int, AgentStep] = attrs.field(factory=dict)  # client step -> response sent
    extra_ids: dict[int, list[Any]] = attrs.field(factory=dict)  # repeats not yet answered
    asked: set[int] = attrs.field(factory=set)  # agent requests sent
    abandoned: set[int] = attrs.field(factory=set)  # requests a stall answered with an error
    sent: int = 0  # lines sent (agent frames and error answers)
    _skipped: list[int] = attrs.field(factory=list)  # seqs skipped, not reported yet
    _skip_reason: str = ""

    @property
    def crashed(self) -> bool:
        """Whether a ``crash`` fault ended the replay."""
        return self.injector is not None and self.injector.crashed is not None

    def out(self) -> Out:
        """A collector for the actions of one engine call (muted after a hang or close)."""
        return Out(muted=self.injector is not None and self.injector.muted)

    def flush(self, due: float, out: Out, now: float) -> None:
        """Send (or skip) every frame due by ``due`` (none after a crash)."""
        failure = self.sched.failure
        for step in self.sched.release(due):
            reason = failure(step)
            if reason is None:
                self.emit(step, out, now)
                if self.crashed:
                    break
            else:
                self.skip(step, reason, out)
        if self._skipped:
            out.append(Mismatch(skipped_report(self._skipped, self._skip_reason)))
            self._skipped = []

    def emit(self, step: AgentStep, out: Out, now: float) -> None:
        """Send one released frame."""
        self.sent += 1
        if step.stderr:
            out.append(Stderr(step.wire))
        elif step.payload is not Payload.JSON:
            self.deliver(step, step.wire, out, now)  # byte-exact, whatever it is
        elif step.responds_to is not None:
            self.respond(step, out, now)
        else:
            receiver = self.receiver
            wire = step.wire
            if step.cancels is not None and self.sched.arrived[step.cancels]:
                wire = live_cancel(step, receiver.live_id[step.cancels])
            wire = receiver.relocation.to_live(wire) if receiver.relocation else wire
            if self.deliver(step, wire, out, now) and step.request_id is not None:
                receiver.open_agent_requests[step.request_id] = step.number
                self.asked.add(step.number)

    def deliver(
        self, step: AgentStep, wire: bytes, out: Out, now: float, live_id: object = NO_ID
    ) -> bool:
        """Send a frame's bytes as the faults say; whether they reached the client whole."""
        if self.injector is None:
            out.send(wire)
            return True
        return self.injector.deliver(step, wire, out, now, live_id)

    def respond(self, step: AgentStep, out: Out, now: float) -> None:
        """Send a response with the live id (and answer the repeats waiting for it)."""
        request = step.responds_to
        assert request is not None
        self.responses[request] = step
        if request in self.abandoned:
            return  # a stall answered it already
        live = self.receiver.live_id[request]
        self.receiver.live_requests.pop(id_key(live), None)
        self.deliver(step, response_bytes(step, live, self.receiver.relocation), out, now, live)
        for live_id in self.extra_ids.pop(request, ()):
            self.send_repeat(step, live_id, out)

    def repeat(self, request: int, live_id: object, out: Out) -> None:
        """A repeat of client request ``request``: answered now, or when its answer is sent."""
        response = self.responses.get(request)
        if response is None:
            self.extra_ids.setdefault(request, []).append(live_id)
        else:
            self.send_repeat(response, live_id, out)

    def send_repeat(self, response: AgentStep, live_id: object, out: Out) -> None:
        """A repeated request: what its recorded counterpart alone released, and the answer."""
        relocation = self.receiver.relocation
        for step in alone(self.plan, response):
            out.send(relocation.to_live(step.wire) if relocation else step.wire)
        self.sent += 1
        out.send(response_bytes(response, live_id, relocation))

    def error(self, line: bytes, out: Out) -> None:
        """Send an error answer of the replay's own."""
        self.sent += 1
        out.send(line)

    def skip(self, step: AgentStep, reason: str, out: Out) -> None:
        """A frame that depended on a failed message: not sent; its request gets an error."""
        self._skipped.append(step.seq)
        self._skip_reason = reason
        if step.answer is not None:
            self.sched.fail(step.answer, reason)
        request, receiver = step.responds_to, self.receiver
        if request is not None and self.sched.arrived[request] and request not in self.abandoned:
            receiver.live_requests.pop(id_key(receiver.live_id[request]), None)
            for live_id in [receiver.live_id[request], *self.extra_ids.pop(request, ())]:
                self.error(error_line(live_id, reason, {"skipped": step.seq}), out)
