"""How far the live agent has come, in the recording's terms. Pure; no I/O.

:class:`Progress` follows the conversation as the engine (:mod:`acp_tap.rerun.engine`)
sends the recorded client's messages and reads the agent's: which client requests are
answered, how many ``session/update`` notifications each session streamed since each
message, and the ids the agent issued in place of recorded ones (session ids from
responses, tool call ids in order of appearance: learned into the :class:`IdMap`). The
pacing rules of :mod:`acp_tap.rerun.plan` are read against it (:meth:`Progress.ready`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from acp_tap.inspect import acp
from acp_tap.matching.ids import IdKey, id_key
from acp_tap.rerun.answers import IdMap
from acp_tap.rerun.plan import TURN_METHODS, ClientPlan, Outgoing, where
from acp_tap.wire.jsonrpc import RequestId


@attrs.define(eq=False)
class Progress:
    """The live conversation so far, against ``plan``; ids learned go into ``ids``."""

    plan: ClientPlan
    ids: IdMap
    _pending: dict[IdKey, int] = attrs.field(factory=dict)  # client requests sent, unanswered
    _answered: set[int] = attrs.field(factory=set)
    sent: set[int] = attrs.field(factory=set)
    _updates: dict[str, int] = attrs.field(factory=dict)  # live session -> session/update count
    _anchors: dict[int, int] = attrs.field(factory=dict)  # step -> its session's count when sent
    _tools: dict[str, list[str]] = attrs.field(factory=dict)  # live session -> tool call ids
    _turns: dict[str, int] = attrs.field(factory=dict)  # recorded session -> turns started

    def ready(self, step: Outgoing, asked: Callable[[int], bool], output_ended: bool) -> bool:
        """Whether ``step`` may be sent (its :class:`~acp_tap.rerun.plan.Wait` is met);
        ``asked(n)``: the live agent made recorded request ``n``."""
        wait = step.wait
        if not all(s in self._answered for s in wait.answered):
            return False
        if wait.release is None or wait.release in self._answered or output_ended:
            return True
        live = self.ids.live_id(step.session or "")
        anchor = self._anchors.get(wait.anchor, 0) if wait.anchor is not None else 0
        since = self._updates.get(live, 0) - anchor
        return since >= wait.updates and all(asked(a) for a in wait.asked)

    def step_sent(self, step: Outgoing) -> None:
        """``step`` went to the agent."""
        self.sent.add(step.index)
        if step.request_id is not None:
            self._pending[id_key(step.request_id)] = step.index
        if step.session is not None:
            live = self.ids.live_id(step.session)
            self._anchors[step.index] = self._updates.get(live, 0)
            if step.method in TURN_METHODS:
                self._turns[step.session] = self._turns.get(step.session, 0) + 1

    def response(self, request_id: RequestId, msg: Any) -> None:
        """The agent answered ``request_id``: a session it created is learned."""
        step = self._pending.pop(id_key(request_id), None)
        if step is None:
            return
        self._answered.add(step)
        recorded = self.plan.created.get(step)
        live = acp.session_of(msg.get("result"))
        if recorded is not None and live is not None:
            self.ids.add(recorded, live)

    def update(self, params: dict[str, Any]) -> None:
        """A ``session/update``: counted; a new tool call id is learned."""
        live = acp.session_of(params)
        if live is None:
            return
        self._updates[live] = self._updates.get(live, 0) + 1
        update = params.get("update")
        tool = update.get("toolCallId") if isinstance(update, dict) else None
        if not isinstance(tool, str):
            return
        seen = self._tools.setdefault(live, [])
        if tool in seen:
            return
        recorded = self.plan.tool_calls.get(self.ids.recorded_id(live), ())
        if len(seen) < len(recorded):
            self.ids.add(recorded[len(seen)], tool)
        seen.append(tool)

    def place(self, session: str | None) -> str:
        """Where a recorded session is now, for reports: ``session 1 turn 2``."""
        return where(self.plan.ordinals.get(session or ""), self._turns.get(session or "", 0))

    def awaiting(self) -> bool:
        """Whether a request sent has an answer recorded that has not arrived live."""
        responded = self.plan.responded
        return any(step in responded for step in self._pending.values())

    def waiting(self) -> list[int]:
        """Client requests sent whose recorded answer has not arrived live, in order."""
        responded = self.plan.responded
        return sorted(s for s in self._pending.values() if s in responded)
