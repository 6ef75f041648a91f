"""The replay engine: a sans-IO state machine that plays a recorded agent to a live client.

Feed it what the client sends (:meth:`ReplayEngine.receive`), the passing of time
(:meth:`~ReplayEngine.poll`) and the client's end of input (:meth:`~ReplayEngine.close`);
it returns :mod:`~acp_tap.replay.actions` to carry out, in order. It never reads, writes
or sleeps. The engine receives: it matches each client message to a recorded one and
reports mismatches; what that releases, and when, is the
:class:`~acp_tap.replay.scheduler.Scheduler`'s. Which agent frame waits for which client
message is decided once, at load time (:mod:`acp_tap.replay.plan`); each step here costs
O(frames released).
"""

from __future__ import annotations

import math
import os
from typing import Any

import attrs

from acp_tap.cassette.codec import loads_strict
from acp_tap.cassette.reader import Cassette
from acp_tap.matching.diff import differences, shorten
from acp_tap.matching.index import MatchIndex
from acp_tap.matching.mismatch import MISMATCH_CODE
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
)
from acp_tap.replay.compiler import compile_plan
from acp_tap.replay.plan import Plan
from acp_tap.replay.reports import (
    Out,
    clip,
    named,
    no_match_report,
    repeat_report,
    unused_report,
)
from acp_tap.replay.scheduler import Scheduler
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
    _relocation: Relocation
    _scheduler: Scheduler
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
        index = MatchIndex()
        for step in plan.client:
            if step.key is not None:
                index.add(step.index, step.method, step.key)
        relocation = Relocation()
        scheduler = Scheduler.for_plan(plan, options.speed, relocation)
        return cls(plan, options, index, relocation, scheduler)

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
        if not self._done and not self._scheduler.started:
            self._scheduler.start(now)
            self._scheduler.flush(now, out)
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
            self._scheduler.flush(now, out)
            self._check_exit(now, out)
        return out.result()

    def poll(self, now: float) -> list[Action]:
        """Time passed: send the frames now due (only ``--realtime``/``--speed`` wait)."""
        out = Out()
        self._begin(now, out)
        if not self._done:
            self._scheduler.flush(now, out)
            self._check_exit(now, out)
        return out.result()

    def next_deadline(self) -> float | None:
        """When :meth:`poll` next has something to do (``None``: only on client input)."""
        return None if self._done else self._scheduler.next_deadline()

    def close(self, now: float) -> list[Action]:
        """The client's input ended: send what is ready, report unused messages, exit."""
        out = Out()
        self._begin(now, out)
        if self._done:
            return out.result()
        self._scheduler.flush(math.inf, out)
        agent_exit = self._scheduler.remaining == 0 and self.plan.exit_status is not None
        self._finish(out, agent_exit=agent_exit)
        return out.result()

    def statistics(self) -> ReplayStatistics:
        """Counters so far."""
        scheduler = self._scheduler
        arrived, failed = scheduler.arrived, scheduler.failed
        unused = sum(1 for i, ok in enumerate(arrived) if not ok and failed[i] is None)
        return ReplayStatistics(
            self._received,
            self._matched,
            self._mismatches,
            scheduler.sent,
            scheduler.remaining,
            unused,
        )

    def _check_exit(self, now: float, out: Out) -> None:
        if not self._done and self._scheduler.exit_due(now):
            self._finish(out, agent_exit=True)

    def _finish(self, out: Out, *, agent_exit: bool) -> None:
        unused, unasked = self._scheduler.unused(agent_exit)
        if unused or unasked:
            out.append(
                Mismatch(unused_report(self.plan, unused, unasked, self.options.allow_unused))
            )
        failed = self._mismatches > 0 or (bool(unused or unasked) and not self.options.allow_unused)
        recorded = self.plan.exit_status if agent_exit else None
        out.append(Exit(1 if failed else (recorded or 0)))
        self._done = True

    def _arrive(self, client: int, now: float) -> None:
        self._matched += 1
        self._scheduler.arrive(client, now)

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
            self._scheduler.request(index, env.id)
        self._arrive(index, incoming.now)

    def _recorded_cancel(self, msg: dict[str, Any]) -> dict[str, Any]:
        """``$/cancel_request`` names a live request id; compare it as the recorded id."""
        params = msg.get("params")
        if not isinstance(params, dict):
            return msg
        rid = params.get("requestId")
        if not isinstance(rid, int | str) or (request := self._scheduler.live_request(rid)) is None:
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
                self._scheduler.repeat(repeated, env.id, out)
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
            self._scheduler.send_error(env.id, report.summary, data, out)
        self._mismatch(report, out)

    def _receive_answer(self, incoming: _Incoming, out: Out) -> None:
        """A response from the client: to an agent request sent, compared with the recorded one."""
        msg, env, data, now = incoming.msg, incoming.env, incoming.data, incoming.now
        assert env.id is not None
        agent = self._scheduler.answered(env.id)
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
        self._scheduler.fail(answer.index, summary)

    def _mismatch(self, report: Report, out: Out) -> None:
        self._mismatches += 1
        out.append(Mismatch(report))
        if self.options.on_mismatch == "exit":
            out.append(Exit(1))
            self._done = True


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
