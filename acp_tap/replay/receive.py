"""What a live client line is, against the recording: the replay engine's intake. Pure.

:meth:`Receiver.receive` decodes a line, relocates working directories, and matches it:
a request or notification to the first unused recorded message equal to it, an answer to
the agent request it names (compared with the recorded answer). It returns what happened
(:data:`Received`); the engine acts on it. The live ids it learns (what each recorded
request was sent as) and the agent requests waiting for an answer live here.
"""

from __future__ import annotations

from typing import Any

import attrs

from acp_tap.cassette.codec import loads_strict
from acp_tap.matching.diff import Difference, differences, shorten
from acp_tap.matching.ids import IdKey, id_key
from acp_tap.matching.index import MatchIndex
from acp_tap.matching.mismatch import error_line
from acp_tap.matching.normal import raw_key, redacted_differences
from acp_tap.matching.relocation import SESSION_CREATORS, Relocation
from acp_tap.replay.actions import ReplayOptions, Report, ReportKind
from acp_tap.replay.plan import ClientStep, Plan
from acp_tap.replay.reports import (
    clip,
    named,
    no_match_report,
    repeat_report,
    unknown_method_report,
    unknown_session_report,
)
from acp_tap.wire.jsonrpc import Envelope, envelope


@attrs.frozen
class Arrived:
    """The line is recorded client message ``client``."""

    client: int


@attrs.frozen
class Failed:
    """The line answers an agent request otherwise than recorded answer ``client`` did."""

    client: int
    report: Report


@attrs.frozen
class Repeat:
    """A request already used, to answer again (``--allow-repeats``) as ``request`` was."""

    request: int
    live_id: Any


@attrs.frozen
class Unmatched:
    """The line matches nothing; ``error`` answers it when it is a request."""

    report: Report
    error: bytes | None = None


Received = Arrived | Failed | Repeat | Unmatched


@attrs.define(eq=False)
class Receiver:
    """Matches what the client sends against one plan, in arrival order."""

    plan: Plan
    options: ReplayOptions
    index: MatchIndex
    live_id: list[Any]  # per client step: the id it arrived with
    relocation: Relocation = attrs.field(factory=Relocation)
    live_requests: dict[IdKey, int] = attrs.field(factory=dict)  # not answered yet
    open_agent_requests: dict[IdKey, int] = attrs.field(factory=dict)  # id -> agent step

    @classmethod
    def of(cls, plan: Plan, options: ReplayOptions) -> Receiver:
        """A receiver with every recorded client message unused."""
        index = MatchIndex()
        for step in plan.client:
            if step.key is not None:
                index.add(step.index, step.method, step.key)
        return cls(plan, options, index, [None] * len(plan.client))

    def receive(self, line: bytes) -> Received:
        """Match one line from the client (without its terminator)."""
        data = self.relocation.to_recorded(line) if self.relocation else line
        try:
            msg = loads_strict(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            index = self.index.take(raw_key(line))
            if index is not None:
                return Arrived(index)
            summary = "a line that is not JSON matches no recorded line"
            return Unmatched(Report(ReportKind.NO_MATCH, summary, got=clip(line)))
        env = envelope(msg)
        if env.is_response and env.id is not None:
            return self._answer(msg, env, line, data)
        return self._message(msg, env, line, data)

    def _message(self, msg: Any, env: Envelope, line: bytes, data: bytes) -> Received:
        """A request or notification: take the first recorded message equal to it."""
        if env.method == "$/cancel_request":
            msg = self._recorded_cancel(msg)
        normal, keys = self.plan.keys(env.method, msg, data)
        index = None
        if (found := self.index.first(keys)) is not None:
            step = self.plan.client[found[0]]
            if diffs := tuple(self._around_secrets(step, msg)):
                what = f"this {env.method} {env.kind.value}"
                summary = (
                    f"{what} differs from {step.describe()} around what was redacted in it "
                    f"(a [REDACTED] part matches any text): {named(diffs)}"
                )
                report = Report(
                    ReportKind.NO_MATCH, summary, clip(line), step.describe(), diffs,
                    frame=step.frame.seq,
                )  # fmt: skip
                live = _live_id(msg, env)
                closest = {"closest": {"seq": step.frame.seq, "method": step.method, "used": False}}
                error = error_line(live, summary, closest) if live is not None else None
                return Unmatched(report, error)
            index = self.index.take(found[1])
        if index is None and env.method in SESSION_CREATORS:
            index = self._relocated(env.method, msg, line)
        if index is None:
            return self._no_match(msg, env, line, normal, keys)
        live = _live_id(msg, env)
        if live is not None:
            self.live_id[index] = live
            self.live_requests[id_key(live)] = index
        return Arrived(index)

    def _around_secrets(self, step: ClientStep, msg: Any) -> list[Difference]:
        """Where ``msg`` differs from recorded ``step`` around the secrets redacted in it."""
        if not step.frame.redacted:
            return []
        paths = self.plan.redactions.paths(step.frame.redacted)
        return redacted_differences(step.frame.message(), msg, paths)

    def _relocated(self, method: str, msg: Any, line: bytes) -> int | None:
        """Match a session-creating request whose ``cwd`` differs from the recorded ones.

        Each distinct recorded ``cwd`` of an unused ``method`` message is tried as the
        counterpart of the live one; the first that makes the whole message match is kept
        (added to the relocation), and the recorded message is taken.
        """
        params = msg.get("params") if isinstance(msg, dict) else None
        live = params.get("cwd") if isinstance(params, dict) else None
        if not isinstance(live, str):
            return None
        tried: set[str] = set()
        for candidate in self.index.unused(method):
            recorded = self.plan.client[candidate].cwd
            if recorded is None or recorded == live or recorded in tried:
                continue
            tried.add(recorded)
            data = self.relocation.trial(recorded, live, line)
            try:
                message = loads_strict(data)
            except (ValueError, UnicodeDecodeError):
                continue
            found = self.index.take_first(self.plan.keys(method, message, data)[1])
            if found is not None:
                self.relocation.add(recorded, live)
                return found
        return None

    def _recorded_cancel(self, msg: dict[str, Any]) -> dict[str, Any]:
        """``$/cancel_request`` names a live request id; compare it as the recorded id."""
        params = msg.get("params")
        if not isinstance(params, dict):
            return msg
        rid = params.get("requestId")
        if (
            not isinstance(rid, int | str)
            or (request := self.live_requests.get(id_key(rid))) is None
        ):
            return msg
        recorded_id = self.plan.client[request].frame.message().get("id")
        return dict(msg, params=dict(params, requestId=recorded_id))

    def _no_match(
        self, msg: Any, env: Envelope, line: bytes, normal: Any, keys: list[bytes]
    ) -> Received:
        what = f"this {env.method} {env.kind.value}" if env.method else "this message"
        repeated = self.index.recorded(keys)
        if repeated is not None and self.options.allow_repeats:
            if (live := _live_id(msg, env)) is not None:
                return Repeat(self.index.repeat(repeated), live)
            return Arrived(self.index.last_of(repeated))
        got = clip(line)
        if repeated is not None:
            report, data = repeat_report(what, got, self.plan.client[self.index.last_of(repeated)])
        elif env.method not in self.index.methods():
            report, data = unknown_method_report(what, got, env.method, self.index.methods())
        elif (sid := _session(msg)) is not None and sid not in self.plan.sessions:
            report, data = unknown_session_report(what, got, sid, self.plan.sessions)
        else:
            closest = self.index.closest(
                env.method, normal, lambda i: self.plan.normal(self.plan.client[i])
            )
            step = None if closest is None else self.plan.client[closest.index]
            report, data = no_match_report(what, got, step, closest)
        live = _live_id(msg, env)
        error = error_line(live, report.summary, data) if live is not None else None
        return Unmatched(report, error)

    def _answer(self, msg: Any, env: Envelope, line: bytes, data: bytes) -> Received:
        """A response from the client: to an agent request sent, compared with the recorded one."""
        assert env.id is not None
        agent = self.open_agent_requests.pop(id_key(env.id), None)
        got = clip(line)
        if agent is None:
            _, keys = self.plan.keys(env.method, msg, data)
            index = self.index.take_first(keys)
            if index is not None:  # recorded as such: a response to no agent request
                return Arrived(index)
            summary = (
                f"the client answered id {shorten(env.id)}, but no agent "
                "request with that id is waiting for an answer"
            )
            return Unmatched(Report(ReportKind.UNEXPECTED_ANSWER, summary, got=got))
        request = self.plan.agent[agent]
        where = f"{request.method} (frame #{request.seq})"
        if request.answer is None:
            summary = f"the recording has no answer to {where}"
            report = Report(ReportKind.UNEXPECTED_ANSWER, summary, got=got, frame=request.seq)
            return Unmatched(report)
        answer = self.plan.client[request.answer]
        expected = self.plan.answer_normal(answer, answer.frame.message(), answer.frame.raw)
        actual = self.plan.answer_normal(answer, msg, data)
        normaliser = self.plan.normaliser
        if normaliser.key(expected) == normaliser.key(actual):
            if not (around := self._around_secrets(answer, msg)):
                return Arrived(answer.index)
            diffs = tuple(around)
        else:
            diffs = tuple(differences(expected, actual))
        summary = f"the client's answer to {where} differs from the recording: {named(diffs)}"
        return Failed(
            answer.index,
            Report(
                ReportKind.ANSWER, summary, got, answer.describe(), diffs, frame=answer.frame.seq
            ),
        )


def _session(msg: Any) -> str | None:
    params = msg.get("params") if isinstance(msg, dict) else None
    sid = params.get("sessionId") if isinstance(params, dict) else None
    return sid if isinstance(sid, str) else None


def _live_id(msg: Any, env: Envelope) -> Any:
    """The id of a request as the client sent it: ``1.0`` is not a valid ACP id, but the
    answer to it carries it back as it came, like every other id."""
    if env.is_request:
        return env.id
    if isinstance(msg, dict) and isinstance(msg.get("method"), str):
        live = msg.get("id")
        if isinstance(live, float):
            return live
    return None
