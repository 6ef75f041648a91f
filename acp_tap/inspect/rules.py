"""What ``acp-tap check`` looks for: the rule table, severities and findings. Pure.

Each rule is one row of :data:`RULES`; the checker (:mod:`acp_tap.inspect.check`) names a
rule and a message in :class:`Findings`, and the rule decides the severity. Only errors
fail ``acp-tap check``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs


class Severity(enum.StrEnum):
    """How bad a finding is; only errors make ``acp-tap check`` fail."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@attrs.frozen
class Rule:
    """One thing ``check`` looks for."""

    name: str
    severity: Severity
    summary: str


def _rules(*rows: tuple[str, Severity, str]) -> Mapping[str, Rule]:
    return {name: Rule(name, severity, summary) for name, severity, summary in rows}


E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTE
RULES = _rules(
    ("cassette", E, "the cassette starts with a header and ends with at most one footer"),
    ("cut-short", W, "a cassette without footer: the recording was cut short"),
    ("footer", W, "the footer's frame counts match the frames read, nothing was dropped"),
    ("non-json", E, "every line on the agent's stdin and stdout is JSON"),
    ("blank-line", W, "no empty lines between messages"),
    ("no-newline", W, "every message ends with a newline (else the peer may never read it)"),
    ("jsonrpc", E, "every message is a JSON-RPC 2.0 request, notification or response"),
    ("schema", E, "params, results and errors match the ACP v1 JSON Schema"),
    ("kind", E, "request methods are sent with an id, notification methods without"),
    ("wrong-direction", E, "each method is sent by the side the schema says calls it"),
    ("unknown-method", W, "methods are defined by ACP v1 (or are `_` extensions)"),
    ("extension", N, "`_` extension methods are not validated"),
    ("legacy", N, "known legacy methods outside ACP v1 are not validated"),
    ("unstable", N, "methods only in the unstable schema are validated against it"),
    ("duplicate-id", E, "a request id is not reused while a request with it is pending"),
    ("unexpected-response", E, "only pending requests are answered, each exactly once"),
    ("unanswered", E, "every request is answered"),
    ("unanswered-exit", W, "requests left pending because the agent exited or was stopped"),
    ("unanswered-cut", W, "requests still pending when the recording was cut short"),
    ("null-id", W, "error responses with id null (the peer could not read a request)"),
    ("unknown-session", E, "messages name only sessions created, loaded or resumed"),
    ("early-session", N, "notifications for a session sent before the session/new result names it"),
    ("unknown-tool-call", E, "tool_call_update names a toolCallId announced before"),
    ("update-after-turn", E, "no turn updates after the turn's session/prompt response"),
    ("update-outside-turn", W, "turn updates come during a prompt turn or a session/load"),
    ("cancel-stop-reason", E, 'a cancelled turn ends with stopReason "cancelled"'),
    ("cancel-permission", E, "permission requests pending at session/cancel get `cancelled`"),
    ("capability", E, "agent fs/* and terminal/* requests only if the client advertised them"),
)
"""Every rule, by name: severity and what it asks for."""


@attrs.frozen
class Finding:
    """One problem (or note) at one frame of one cassette."""

    severity: Severity
    seq: int | None  # the frame's sequence number; None for the cassette as a whole
    line: int | None  # the cassette line
    method: str | None
    rule: str
    message: str

    def format(self, path: str) -> str:
        """``path:line: frame N (method): error[rule]: message``."""
        where = f"{path}:{self.line}" if self.line is not None else path
        frame = f" frame {self.seq}" if self.seq is not None else ""
        method = f" ({self.method})" if self.method else ""
        sep = ":" if frame or method else ""
        return f"{where}:{frame}{method}{sep} {self.severity}[{self.rule}]: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """A JSON object for machines."""
        return attrs.asdict(self)


@attrs.frozen
class At:
    """The frame being checked: its sequence number, cassette line and method."""

    seq: int
    line: int
    method: str | None


@attrs.define(eq=False)
class Findings:
    """The findings of a check, collected as the passes make them."""

    _found: list[Finding] = attrs.field(factory=list)
    _once: set[tuple[str, str]] = attrs.field(factory=set)

    def add(self, rule: str, at: At | None, message: str) -> None:
        """A finding of ``rule`` at a frame (``None``: the cassette as a whole)."""
        severity = RULES[rule].severity
        if at is None:
            self._found.append(Finding(severity, None, None, None, rule, message))
        else:
            self._found.append(Finding(severity, at.seq, at.line, at.method, rule, message))

    def add_once(self, rule: str, at: At, message: str) -> None:
        """A finding of ``rule`` reported once per method."""
        key = (rule, at.method or "")
        if key not in self._once:
            self._once.add(key)
            self.add(rule, at, message + " (reported once)")

    def take(self) -> list[Finding]:
        """The findings since the last call."""
        found, self._found = self._found, []
        return found
