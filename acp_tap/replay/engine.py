"""The replay engine: a sans-IO state machine that plays a recorded agent to a live client.

Feed it what the client sends (:meth:`ReplayEngine.receive_lines`), the passing of time
(:meth:`~ReplayEngine.poll`) and the client's end of input (:meth:`~ReplayEngine.close`);
it returns :mod:`~acp_tap.replay.actions` to carry out, in order. It never reads, writes
or sleeps. Which agent frame waits for which client message is decided once, at load time
(:mod:`acp_tap.replay.plan`); the :class:`~acp_tap.replay.scheduler.Scheduler` applies it,
:mod:`acp_tap.replay.receive` matches what the client sends, :mod:`acp_tap.replay.sender`
sends what is released (through the faults, if any), and a client that sends exactly the
recorded lines in order takes the :mod:`acp_tap.replay.inorder` path (never with faults).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import attrs

from acp_tap.cassette.reader import Cassette
from acp_tap.matching.mismatch import MISMATCH_CODE
from acp_tap.replay.actions import (
    Action,
    Exit,
    Mismatch,
    ReplayOptions,
    ReplayStatistics,
    Report,
)
from acp_tap.replay.compiler import compile_plan
from acp_tap.replay.faulting import Injector
from acp_tap.replay.inorder import InOrder
from acp_tap.replay.plan import Plan
from acp_tap.replay.receive import Arrived, Failed, Receiver, Repeat
from acp_tap.replay.reports import Out, unused_messages, unused_report
from acp_tap.replay.scheduler import Scheduler
from acp_tap.replay.sender import Sender
from acp_tap.replay.source import compile_path
from acp_tap.replay.stall import Stall, stall_deadline

__all__ = ["MISMATCH_CODE", "ReplayEngine"]


@attrs.define(eq=False)
class ReplayEngine:
    """Plays one recording to one client. Build with :meth:`from_cassette` or :meth:`from_plan`."""

    plan: Plan
    options: ReplayOptions
    _sched: Scheduler
    _receiver: Receiver
    _send: Sender
    _in_order: InOrder | None = None  # the in-order path's table, while the client is on it
    _cursor: int = 0  # on the in-order path: how many client messages arrived
    _start: float | None = None
    _exit_due: float | None = None
    _last_input: float | None = None  # when the client last sent a byte
    _stalled: bool = False  # a stall was declared and the client has sent nothing since
    _done: bool = False
    _received: int = 0
    _matched: int = 0
    _mismatches: int = 0

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
        options = options or ReplayOptions()
        sched, receiver = Scheduler.of(plan, options.speed), Receiver.of(plan, options)
        injector = Injector.of(plan, options.faults, options.fault_seed)
        engine = cls(plan, options, sched, receiver, Sender(plan, sched, receiver, injector))
        if options.speed is None and injector is None:
            engine._in_order = InOrder.of(plan)
        return engine

    # -- the public state machine -------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether :class:`Exit` was returned; every call after that returns nothing."""
        return self._done

    def start(self, now: float) -> list[Action]:
        """Begin: send the frames recorded before any client message (idempotent)."""
        out = self._send.out()
        self._begin(now, out)
        return out.result()

    def _begin(self, now: float, out: Out) -> None:
        if self._done or self._start is not None:
            return
        self._start = now
        if self._in_order is not None:
            self._in_order.send(0, self.plan, out)
            self._after_in_order(now, out)
            return
        self._sched.begin(now)
        self._flush(now, out)
        if not self._done:
            self._check_exit(now, out)

    def receive(self, line: bytes | bytearray, now: float) -> list[Action]:
        """A line from the client (without its terminator): match it, release what it allows."""
        return self.receive_lines((line,), now)

    def receive_lines(self, lines: Sequence[bytes | bytearray], now: float) -> list[Action]:
        """Lines from the client, in order (none: bytes of a line not yet complete)."""
        out = self._send.out()
        self._begin(now, out)
        if self._done:
            return out.result()
        self._last_input, self._stalled = now, False
        taken = 0
        if (in_order := self._in_order) is not None:
            self._cursor, taken = in_order.follow(lines, self._cursor, self.plan, out)
            if taken < len(lines):
                self._leave_in_order(now)
            else:
                self._after_in_order(now, out)
        for line in lines[taken:] if taken else lines:
            if self.done:
                break
            self._receive(bytes(line), now, out)
            if not self._done:
                self._flush(now, out)
        if self._in_order is None and not self.done:
            self._check_exit(now, out)
        return out.result()

    def poll(self, now: float) -> list[Action]:
        """Time passed: send the frames now due; declare a stall when its time has come."""
        out = self._send.out()
        self._begin(now, out)
        if self._done:
            return out.result()
        deadline = self._stall_deadline()
        if deadline is not None and now >= deadline:
            if self._in_order is not None:
                self._leave_in_order(now)
            self._stall(out)
        if self._in_order is None and not self._done:
            self._flush(now, out)
            if not self._done:
                self._check_exit(now, out)
        return out.result()

    def next_deadline(self) -> float | None:
        """When :meth:`poll` next has something to do (``None``: only on client input)."""
        if self._done:
            return None
        stall = self._stall_deadline()
        if self._in_order is not None:
            return stall
        dues = [d for d in (stall, self._sched.next_due(), self._exit_due) if d is not None]
        return min(dues) if dues else None

    def wakes(self, asleep_until: float) -> bool:
        """Whether a shell's ticker, asleep until ``asleep_until``, must wake now: the replay
        is done, or :meth:`next_deadline` is earlier. A later deadline, or none, only costs
        the ticker one early :meth:`poll`, so it is not woken for it (one task switch less
        per client message)."""
        deadline = self.next_deadline()
        return self._done or (deadline is not None and deadline < asleep_until)

    def close(self, now: float) -> list[Action]:
        """The client's input ended: send what is ready, report unused messages, exit."""
        out = self._send.out()
        self._begin(now, out)
        if self._done:
            return out.result()
        if self._in_order is not None:
            self._leave_in_order(now, closing=True)
        self._flush(math.inf, out, now)
        if not self._done:
            agent_exit = self._sched.remaining == 0 and self.plan.exit_status is not None
            self._finish(out, agent_exit=agent_exit)
        return out.result()

    def statistics(self) -> ReplayStatistics:
        """Counters so far."""
        if self._in_order is not None:
            k, remaining = self._cursor, self._in_order.remaining[self._cursor]
            unused = len(self.plan.client) - k
            return ReplayStatistics(k, k, 0, len(self.plan.agent) - remaining, remaining, unused)
        sched = self._sched
        unused = sum(1 for i in range(len(self.plan.client)) if not sched.settled(i))
        received, matched, sent = self._received, self._matched, self._send.sent
        return ReplayStatistics(received, matched, self._mismatches, sent, sched.remaining, unused)

    # -- the in-order path --------------------------------------------------------------

    def _after_in_order(self, now: float, out: Out) -> None:
        """An agent that exited on its own: leave the path once everything was sent."""
        assert self._in_order is not None
        if self._in_order.remaining[self._cursor] == 0 and self.plan.exit_status is not None:
            self._leave_in_order(now)
            self._check_exit(now, out)

    def _leave_in_order(self, now: float, *, closing: bool = False) -> None:
        """Build the general state as if the first ``cursor`` messages had arrived in order
        (``closing``: no more will arrive)."""
        in_order, k = self._in_order, self._cursor
        assert in_order is not None and self._start is not None
        self._in_order = None
        self._sched.start = self._start
        released = in_order.restore(
            k,
            now=now,
            sched=self._sched,
            receiver=self._receiver,
            responses=self._send.responses,
            asked=self._send.asked,
            closing=closing,
        )
        self._received, self._matched, self._send.sent = k, k, released

    # -- receiving ----------------------------------------------------------------------

    def _receive(self, line: bytes, now: float, out: Out) -> None:
        """One line from the client, off the in-order path: act on what it is."""
        self._received += 1
        got = self._receiver.receive(line)
        if isinstance(got, Arrived):
            self._matched += 1
            self._sched.arrive(got.client, now)
        elif isinstance(got, Failed):
            self._mismatch(got.report, out)
            self._sched.fail(got.client, got.report.summary)
        elif isinstance(got, Repeat):
            self._matched += 1
            self._send.repeat(got.request, got.live_id, out)
        else:
            if got.error is not None:
                self._send.error(got.error, out)
            self._mismatch(got.report, out)

    def _flush(self, due: float, out: Out, now: float | None = None) -> None:
        """Send (or skip) every frame due by ``due``; a crash fault ends the replay."""
        self._send.flush(due, out, due if now is None else now)
        self._done = self._done or self._send.crashed

    # -- stalls and the end -------------------------------------------------------------

    def _stall_deadline(self) -> float | None:
        timeout, since = self.options.stall_timeout, self._last_input
        if not timeout or since is None or self._stalled:
            return None
        if (injector := self._send.injector) is not None:  # held or withheld: never a stall
            if injector.quiet:
                return None
            since = max(since, injector.held_until)
        if self._in_order is not None:
            if not self._in_order.may_stall(self._cursor):
                return None
            return since + timeout
        receiver = self._receiver
        unanswered = bool(receiver.live_requests or self._send.extra_ids)
        return stall_deadline(
            self._sched, bool(receiver.open_agent_requests), unanswered, since, timeout
        )

    def _stall(self, out: Out) -> None:
        """Nothing can happen until the client sends something, and it sends nothing."""
        self._stalled = True
        self._mismatches += 1
        receiver = self._receiver
        waiting = [(receiver.live_id[step], step) for step in receiver.live_requests.values()]
        waiting += [(live, step) for step, ids in self._send.extra_ids.items() for live in ids]
        stall = Stall.of(self.plan, self._sched)
        for line in stall.errors(waiting):
            self._send.error(line, out)
        self._send.abandoned.update(step for _, step in waiting)
        receiver.live_requests.clear()
        self._send.extra_ids.clear()
        out.append(Mismatch(stall.report(self.options.stall_timeout, len(waiting))))
        if not waiting or self.options.on_mismatch == "exit":
            self._finish(out, agent_exit=False)

    def _check_exit(self, now: float, out: Out) -> None:
        if self._sched.remaining or self.plan.exit_status is None or self._done:
            return
        if self._exit_due is None:
            speed = self.options.speed
            last_live, last_t = self._sched.last_sent
            gap = max(0.0, self.plan.exit_t - last_t)
            self._exit_due = last_live + gap / speed if speed else -math.inf
        if self._exit_due <= now:
            self._finish(out, agent_exit=True)

    def _finish(self, out: Out, *, agent_exit: bool) -> None:
        injector = self._send.injector
        unused, unasked = unused_messages(
            self.plan,
            self._sched.settled,
            self._send.asked,
            agent_exit=agent_exit,
            expected_until=injector.expected_until if injector else None,
        )
        if unused or unasked:
            out.append(
                Mismatch(unused_report(self.plan, unused, unasked, self.options.allow_unused))
            )
        failed = self._mismatches > 0 or (bool(unused or unasked) and not self.options.allow_unused)
        recorded = self.plan.exit_status if agent_exit else None
        out.append(Exit(1 if failed else (recorded or 0), hung=bool(injector and injector.hung)))
        self._done = True

    def _mismatch(self, report: Report, out: Out) -> None:
        self._mismatches += 1
        out.append(Mismatch(report))
        if self.options.on_mismatch == "exit":
            out.append(Exit(1))
            self._done = True
