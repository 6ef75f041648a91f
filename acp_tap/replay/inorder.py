"""The in-order path: a client that sends exactly the recorded lines, in recorded order. Pure.

That is what most replays in CI see, and then what each client line releases is known in
advance: after the first k client messages, the frames whose dependencies and whose
lane's earlier frames are all among them, in recorded order, with the recorded ids
(:class:`InOrder`, computed once from the plan). The engine follows this cursor while each
line equals, byte for byte, the next recorded one, and leaves it for good at the first
line that does not (a reordering, another id, a mismatch, relocation), building its
general state as if those k messages had arrived one by one. Never with timing.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import attrs

from acp_tap.matching.ids import id_key
from acp_tap.replay.actions import Stderr
from acp_tap.replay.plan import AgentStep, Plan
from acp_tap.replay.receive import Receiver
from acp_tap.replay.reports import Out
from acp_tap.replay.scheduler import Scheduler
from acp_tap.wire.jsonrpc import Kind


@attrs.frozen
class InOrder:
    """Per cursor k (the first k client messages arrived): what has been sent, what waits.

    ``release[f]`` is the cursor at which agent step ``f`` is sent (0: at the start).
    """

    expected: tuple[bytes, ...]  # the recorded client lines, without terminators
    blocks: tuple[tuple[int, ...], ...]  # per cursor: the agent steps it releases, in order
    wires: tuple[tuple[bytes, ...] | None, ...]  # per cursor: their bytes (None: stderr too)
    release: tuple[int, ...]  # per agent step
    remaining: tuple[int, ...]  # per cursor: agent frames not sent yet
    open_requests: tuple[int, ...]  # per cursor: agent requests sent and not answered
    pending: tuple[int, ...]  # per cursor: client requests arrived and not answered

    @classmethod
    def of(cls, plan: Plan) -> InOrder:
        """Work it out from ``plan`` in one pass over its frames."""
        n = len(plan.client)
        lane_release = [0] * len(plan.lanes)
        release: list[int] = []
        blocks: list[list[int]] = [[] for _ in range(n + 1)]
        opened = [0] * (n + 2)
        answered_at: dict[int, int] = {}  # client request -> cursor of its response
        for step in plan.agent:
            deps = step.deps
            at = (deps[0] if len(deps) == 1 else max(deps)) + 1 if deps else 0
            lane = step.lane
            at = max(at, lane_release[lane])
            lane_release[lane] = at
            release.append(at)
            blocks[at].append(step.number)
            if step.request_id is not None:
                opened[at] += 1
                if (answer := step.answer) is not None:
                    opened[answer + 1] -= 1
            elif step.responds_to is not None:
                answered_at.setdefault(step.responds_to, at)
        pending = [0] * (n + 2)
        for client in plan.client:
            if client.kind is Kind.REQUEST:
                pending[client.index + 1] += 1
                if (answered := answered_at.get(client.index)) is not None:
                    pending[answered] -= 1
        sent = list(accumulate(len(block) for block in blocks))
        agent = plan.agent
        wires = [
            None if any(agent[n].stderr for n in block) else tuple(agent[n].wire for n in block)
            for block in blocks
        ]
        return cls(
            tuple(bytes(c.frame.raw) for c in plan.client),
            tuple(map(tuple, blocks)),
            tuple(wires),
            tuple(release),
            tuple(len(plan.agent) - s for s in sent),
            tuple(accumulate(opened[: n + 1])),
            tuple(accumulate(pending[: n + 1])),
        )

    def follow(
        self, lines: Sequence[bytes | bytearray], cursor: int, plan: Plan, out: Out
    ) -> tuple[int, int]:
        """Send what ``lines`` release while each is the next recorded line; return the new
        cursor and how many lines were taken (the rest leave the path)."""
        expected, blocks, chunks = self.expected, self.wires, out.chunks
        n, taken = len(expected), 0
        for line in lines:
            if cursor >= n or line != expected[cursor]:
                break
            cursor += 1
            wires = blocks[cursor]
            if wires is None:
                self.send(cursor, plan, out)
            elif wires:
                chunks.extend(wires)
            taken += 1
        return cursor, taken

    def send(self, cursor: int, plan: Plan, out: Out) -> None:
        """Send what the ``cursor``-th client message releases."""
        agent = plan.agent
        for number in self.blocks[cursor]:
            step = agent[number]
            if step.stderr:
                out.append(Stderr(step.wire))
            else:
                out.send(step.wire)

    def may_stall(self, cursor: int) -> bool:
        """Whether, at ``cursor``, the client could be left waiting (the stall rule's state)."""
        return self.open_requests[cursor] == 0 and (
            self.remaining[cursor] > 0 or self.pending[cursor] > 0
        )

    def restore(
        self,
        cursor: int,
        *,
        now: float,
        sched: Scheduler,
        receiver: Receiver,
        responses: dict[int, AgentStep],
        asked: set[int],
        closing: bool = False,
    ) -> int:
        """Put the engine's general state where ``cursor`` in-order messages leave it (the
        scheduler's clock already started); return how many frames were sent. ``closing``:
        the client's input has ended, so the match index (only ever asked about messages
        still to come) is left as it is: updating it, message by message, held up the last
        answers."""
        plan = sched.plan
        for client in plan.client[:cursor]:
            sched.arrived[client.index] = True
            sched.arrival[client.index] = now
            if client.key is not None and not closing:
                receiver.index.take(client.key)
            if client.kind is Kind.REQUEST:
                live = client.frame.message()["id"]
                receiver.live_id[client.index] = live
                receiver.live_requests[id_key(live)] = client.index
        released = 0
        for step, at in zip(plan.agent, self.release, strict=True):
            if at > cursor:
                continue
            sched.pos[step.lane] += 1
            released += 1
            if step.request_id is not None:
                asked.add(step.number)
                if step.answer is None or step.answer >= cursor:
                    receiver.open_agent_requests[step.request_id] = step.number
            elif (request := step.responds_to) is not None:
                responses[request] = step
                receiver.live_requests.pop(id_key(receiver.live_id[request]), None)
        sched.remaining = len(plan.agent) - released
        for lane in range(len(plan.lanes)):
            sched.schedule(lane)
        return released
