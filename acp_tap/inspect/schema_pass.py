"""The schema pass of ``acp-tap check``: what one frame can get wrong on its own. Pure.

Each line is JSON, ends with a newline and is a JSON-RPC 2.0 message; a method is sent the
right way (by the side that calls it, with or without an id) and its params, results and
errors match the ACP v1 JSON Schema. Extensions and legacy methods are noted, not
validated. The rules that span frames are :mod:`acp_tap.inspect.cross_frame`'s.
"""

from __future__ import annotations

from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Eol, Frame
from acp_tap.inspect import acp
from acp_tap.inspect.rules import At, Findings
from acp_tap.inspect.schema import AcpSchema, MethodSpec
from acp_tap.wire.jsonrpc import Envelope, Kind, envelope


@attrs.define(eq=False)
class SchemaPass:
    """Checks frames one by one against ``schema``, into ``findings``."""

    schema: AcpSchema
    findings: Findings

    def frame(self, line: int, frame: Frame) -> tuple[At, Envelope, dict[str, Any]] | None:
        """Check a stdio frame's line and envelope; the message to check further, if any."""
        add = self.findings.add
        if frame.eol is Eol.NONE:
            at = At(frame.seq, line, None)
            add("no-newline", at, "the last line has no newline; the peer may not read it")
        if not frame.is_json:
            self._not_json(At(frame.seq, line, None), frame)
            return None
        message = frame.message()
        env = envelope(message)
        at = At(frame.seq, line, env.method)
        if env.kind is Kind.INVALID or message.get("jsonrpc") != "2.0":
            add("jsonrpc", at, _jsonrpc_problem(message, env))
            if env.kind is Kind.INVALID:
                return None
        return at, env, message

    def call(self, at: At, env: Envelope, from_client: bool, params: Any) -> MethodSpec | None:
        """Check a request or notification; the schema's spec for its method, if it has one."""
        assert env.method is not None
        spec = self._method_spec(at, env.method, from_client, env)
        if spec is not None:
            doc = self.schema.document_for(spec)
            if spec.params is not None:
                problem = doc.problem(spec.params, {} if params is None else params, "params")
                if problem is not None:
                    self.findings.add("schema", at, problem)
        return spec

    def result(self, at: At, spec: MethodSpec | None, result: Any) -> None:
        """Check the result answering a request whose method has ``spec``."""
        if spec is None or spec.result is None:
            return
        doc = self.schema.document_for(spec)
        problem = doc.problem(spec.result, {} if result is None else result, "result")
        if problem is not None:
            self.findings.add("schema", at, problem)

    def error(self, at: At, error: Any) -> None:
        """Check an error response's ``error`` object."""
        problem = self.schema.error_problem(error)
        if problem is not None:
            self.findings.add("schema", at, problem)

    def _not_json(self, at: At, frame: Frame) -> None:
        stream = "stdout" if frame.dir is Direction.AGENT_TO_CLIENT else "stdin"
        if not frame.raw.strip():
            self.findings.add("blank-line", at, f"an empty line on the agent's {stream}")
        else:
            text = bytes(frame.raw[:60]).decode("utf-8", "replace")
            self.findings.add("non-json", at, f"not JSON on the agent's {stream}: {text!r}")

    def _method_spec(
        self, at: At, method: str, from_client: bool, env: Envelope
    ) -> MethodSpec | None:
        """The schema's spec for the method, after the direction and kind rules."""
        add, add_once = self.findings.add, self.findings.add_once
        if env.is_extension:
            add_once("extension", at, f"extension method {method} (not validated)")
            return None
        if method in acp.LEGACY_METHODS:
            why = acp.LEGACY_METHODS[method]
            add_once("legacy", at, f"{method}: {why}; not in ACP v1 (not validated)")
            return None
        spec = self.schema.method(method, sent_by_client=from_client)
        if spec is None:
            if self.schema.knows(method):
                sender = "client" if from_client else "agent"
                add("wrong-direction", at, f"{method} is not a method the {sender} calls")
            else:
                add_once("unknown-method", at, f"{method} is not an ACP v1 method")
            return None
        if spec.unstable:
            add_once("unstable", at, f"{method} is an unstable ACP method")
        if spec.is_request != env.is_request:
            want = "a request (with an id)" if spec.is_request else "a notification (no id)"
            add("kind", at, f"{method} must be sent as {want}")
        return spec


def _jsonrpc_problem(message: Any, env: Envelope) -> str:
    if not isinstance(message, dict):
        return f"a JSON {type(message).__name__}, not a JSON-RPC message object"
    if env.kind is not Kind.INVALID:
        return f'"jsonrpc" must be "2.0", got {message.get("jsonrpc")!r}'
    if isinstance(message.get("method"), str):
        return f"request id {message.get('id')!r} must be a string or an integer"
    if "result" in message or "error" in message:
        return f"response id {message.get('id')!r} must be a string or an integer"
    return 'neither a request ("method") nor a response ("result" or "error")'
