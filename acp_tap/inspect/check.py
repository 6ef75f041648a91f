"""Check a cassette's traffic against ACP v1: the schema, and rules that span frames. Pure.

Feed records in order to a :class:`Checker` (``feed`` then ``finish``), or call
:func:`check_records`; each :class:`Finding` names the rule (see :data:`RULES`), the
frame and the cassette line. The order of the records (one header first, at most one
footer last, frames numbered upwards) is the reader's rule
(:class:`acp_tap.cassette.reader.CassetteBuilder`), which :func:`check_records` applies
too; the checker compares the footer's counts and takes each stdio frame through two
passes: the schema pass (:mod:`acp_tap.inspect.schema_pass`: what one frame can get wrong alone) and
the cross-frame rules (:mod:`acp_tap.inspect.cross_frame`: requests and their answers,
sessions, turns, cancellation, capabilities).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Footer, Frame, Record
from acp_tap.cassette.reader import CassetteBuilder
from acp_tap.errors import CassetteFormatError
from acp_tap.inspect.cross_frame import CrossFrameRules
from acp_tap.inspect.rules import RULES, At, Finding, Findings, Rule, Severity
from acp_tap.inspect.schema import AcpSchema, load_schema
from acp_tap.inspect.schema_pass import SchemaPass
from acp_tap.wire.jsonrpc import Envelope, Kind

__all__ = ["RULES", "Checker", "Finding", "Rule", "Severity", "check_records", "malformed"]


@attrs.define(eq=False)
class Checker:
    """The checking state machine for one cassette: ``feed`` each record, then ``finish``.

    The records come in an order the reader has checked (see :func:`check_records`).
    """

    schema: AcpSchema = attrs.field(factory=load_schema)
    _findings: Findings = attrs.field(init=False, factory=Findings)
    _schema_pass: SchemaPass = attrs.field(init=False)
    _rules: CrossFrameRules = attrs.field(init=False)
    _footer: Footer | None = attrs.field(init=False, default=None)
    _counts: dict[str, int] = attrs.field(init=False, factory=lambda: dict.fromkeys(Direction, 0))

    def __attrs_post_init__(self) -> None:
        self._schema_pass = SchemaPass(self.schema, self._findings)
        self._rules = CrossFrameRules(self._findings)

    def feed(self, line: int, record: Record) -> list[Finding]:
        """Check one record (with its cassette line number); return what it revealed."""
        if isinstance(record, Footer):
            self._footer = record
        elif isinstance(record, Frame):
            self._frame(line, record)
        # a fault record says what acp-tap injected: not the agent's or the client's doing
        return self._findings.take()

    def finish(self) -> list[Finding]:
        """Report what only the end of the cassette reveals (unanswered requests, footer)."""
        footer, add = self._footer, self._findings.add
        if footer is None:
            add("cut-short", None, "no footer: the recording was cut short (proxy killed?)")
        else:
            counted = {str(d): n for d, n in self._counts.items()}
            if any(footer.frames.get(d, 0) != n for d, n in counted.items()):
                add("footer", None, f"footer counts {footer.frames}, read {counted}")
            if footer.dropped:
                add("footer", None, f"the recorder dropped {footer.dropped} frames")
        self._rules.finish(footer)
        return self._findings.take()

    def _frame(self, line: int, frame: Frame) -> None:
        self._counts[frame.dir] += 1
        if frame.dir is Direction.AGENT_STDERR:
            return
        checked = self._schema_pass.frame(line, frame)
        if checked is None:
            return
        at, env, message = checked
        if env.method is not None:
            self._call(frame, at, env, message)
        else:
            self._response(frame, at, env, message)

    def _call(self, frame: Frame, at: At, env: Envelope, message: dict[str, Any]) -> None:
        params = message.get("params")
        from_client = frame.dir is Direction.CLIENT_TO_AGENT
        spec = self._schema_pass.call(at, env, from_client, params)
        self._rules.call(frame.dir, at, env, params, spec)

    def _response(self, frame: Frame, at: At, env: Envelope, message: dict[str, Any]) -> None:
        if env.kind is Kind.ERROR:
            self._schema_pass.error(at, message.get("error"))
        answer = self._rules.response(frame.dir, at, env, message)
        if answer is None:
            return
        if answer.ok:
            self._schema_pass.result(answer.at, answer.request.spec, answer.result)
        self._rules.answered(answer)


def check_records(
    records: Iterable[tuple[int, Record]], schema: AcpSchema | None = None
) -> Iterator[Finding]:
    """Check a cassette's records, given as ``(line number, record)``; yield the findings.

    The records' order is checked as the reader checks it: the first record out of order
    is an error finding, and ends the check.
    """
    checker = Checker(schema) if schema is not None else Checker()
    builder = CassetteBuilder("<records>")
    try:
        for line, record in records:
            builder.place(record, line)
            yield from checker.feed(line, record)
        builder.finish()
    except CassetteFormatError as exc:
        yield malformed(exc)
        return
    yield from checker.finish()


def malformed(exc: CassetteFormatError) -> Finding:
    """The finding for a cassette that breaks the format at one line."""
    return Finding(Severity.ERROR, None, exc.line, None, "cassette", exc.reason)
