"""Check a cassette's traffic against ACP v1: the schema, and rules that span frames. Pure.

Feed records in order to a :class:`Checker` (``feed`` then ``finish``), or call
:func:`check_records`; each :class:`Finding` names the rule (see :data:`RULES`), the
frame and the cassette line. State is per pending request, open session and announced
tool call, so memory does not grow with the cassette's length.

Ordering facts the rules rely on: each direction is one ordered byte stream, so the order
of frames *within* a direction is exact; across directions it is the order the proxy saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Eol, Footer, Frame, Header, Record
from acp_tap.inspect import acp
from acp_tap.inspect.rules import RULES, Finding, Rule, Severity
from acp_tap.inspect.schema import AcpSchema, MethodSpec, load_schema
from acp_tap.wire.jsonrpc import Envelope, Kind, RequestId, envelope

__all__ = ["RULES", "Checker", "Finding", "Rule", "Severity", "check_records"]

TOOL_CALL_MEMORY = 65536
"""Tool call ids remembered per session (oldest forgotten first), to bound memory."""
_ANSWERED_MEMORY = 1024  # recently answered ids, to tell "answered twice" from "never asked"


_CLIENT_SESSION_METHODS = frozenset(
    {"session/prompt", "session/cancel", "session/set_mode", "session/set_config_option"}
)
"""Client→agent methods that need a session open on this connection."""


@attrs.define(eq=False)
class _Pending:
    method: str
    seq: int
    line: int
    session: str | None
    spec: MethodSpec | None
    checked: bool  # validate the response against the schema
    cancelled: bool = False  # a prompt whose session was cancelled while it ran
    must_cancel: bool = False  # a permission request pending at session/cancel
    opens: bool = False  # a load/resume that opened a session not open before


@attrs.define(eq=False)
class _Session:
    prompts: set[RequestId] = attrs.field(factory=set)
    loading: int = 0
    ended: tuple[int, int] | None = None  # (seq, line) of the last prompt response
    tool_calls: dict[str, None] = attrs.field(factory=dict)

    def announce(self, tool_call_id: str) -> None:
        self.tool_calls[tool_call_id] = None
        if len(self.tool_calls) > TOOL_CALL_MEMORY:
            del self.tool_calls[next(iter(self.tool_calls))]


@attrs.frozen
class _At:
    """The frame being checked."""

    seq: int
    line: int
    method: str | None


@attrs.frozen
class _Answer:
    """A response, with the request it answers."""

    at: _At
    id: RequestId
    request: _Pending
    ok: bool  # a result, not an error
    result: Any
    message: dict[str, Any]


@attrs.define(eq=False)
class Checker:
    """The checking state machine for one cassette: ``feed`` each record, then ``finish``."""

    schema: AcpSchema = attrs.field(factory=load_schema)
    _findings: list[Finding] = attrs.field(init=False, factory=list)
    _header: bool = attrs.field(init=False, default=False)
    _headless: bool = attrs.field(init=False, default=False)  # reported a frame before it
    _footer: Footer | None = attrs.field(init=False, default=None)
    _counts: dict[str, int] = attrs.field(init=False, factory=lambda: dict.fromkeys(Direction, 0))
    _pending: dict[Direction, dict[RequestId, _Pending]] = attrs.field(init=False)
    _answered: dict[Direction, dict[RequestId, int]] = attrs.field(init=False)
    _sessions: dict[str, _Session] = attrs.field(init=False, factory=dict)
    _capabilities: Any = attrs.field(init=False, default=None)
    _initialized: bool = attrs.field(init=False, default=False)
    _once: set[tuple[str, str]] = attrs.field(init=False, factory=set)

    def __attrs_post_init__(self) -> None:
        self._pending = {d: {} for d in Direction}
        self._answered = {d: {} for d in Direction}

    # -- records ------------------------------------------------------------------------

    def feed(self, line: int, record: Record) -> list[Finding]:
        """Check one record (with its cassette line number); return what it revealed."""
        if self._footer is not None:
            self._cassette(line, f"a {_kind(record)} after the footer")
        if isinstance(record, Header):
            if self._header:
                self._cassette(line, "a second header; cassettes cannot be concatenated")
            self._header = True
        else:
            if not self._header and not self._headless:
                self._cassette(line, "the first record must be the header")
                self._headless = True
            if isinstance(record, Footer):
                self._footer = record
            else:
                self._frame(line, record)
        found, self._findings = self._findings, []
        return found

    def finish(self) -> list[Finding]:
        """Report what only the end of the cassette reveals (unanswered requests, footer)."""
        footer = self._footer
        if footer is None:
            self._add("cut-short", None, "no footer: the recording was cut short (proxy killed?)")
        else:
            counted = {str(d): n for d, n in self._counts.items()}
            if any(footer.frames.get(d, 0) != n for d, n in counted.items()):
                self._add("footer", None, f"footer counts {footer.frames}, read {counted}")
            if footer.dropped:
                self._add("footer", None, f"the recorder dropped {footer.dropped} frames")
        rule = "unanswered" if footer is not None else "unanswered-cut"
        waiting = [
            (p.seq, "agent" if d is Direction.CLIENT_TO_AGENT else "client", msg_id, p)
            for d, pending in self._pending.items()
            for msg_id, p in pending.items()
        ]
        why = ""
        if footer is not None and footer.closed_first == "agent":
            why = f" (the agent exited first, status {footer.status})"
        for _, who, msg_id, p in sorted(waiting, key=lambda w: w[0]):
            at = _At(p.seq, p.line, p.method)
            self._add(rule, at, f"request id {msg_id!r} was never answered by the {who}{why}")
        for pending in self._pending.values():
            pending.clear()
        found, self._findings = self._findings, []
        return found

    # -- frames -------------------------------------------------------------------------

    def _frame(self, line: int, frame: Frame) -> None:
        self._counts[frame.dir] += 1
        if frame.dir is Direction.AGENT_STDERR:
            return
        if frame.eol is Eol.NONE:
            at = _At(frame.seq, line, None)
            self._add("no-newline", at, "the last line has no newline; the peer may not read it")
        if not frame.is_json:
            self._not_json(_At(frame.seq, line, None), frame)
            return
        message = frame.message()
        env = envelope(message)
        at = _At(frame.seq, line, env.method)
        if env.kind is Kind.INVALID or message.get("jsonrpc") != "2.0":
            self._add("jsonrpc", at, _jsonrpc_problem(message, env))
            if env.kind is Kind.INVALID:
                return
        if env.method is not None:
            self._call(frame, at, env, message)
        else:
            self._response(frame, at, env, message)

    def _not_json(self, at: _At, frame: Frame) -> None:
        stream = "stdout" if frame.dir is Direction.AGENT_TO_CLIENT else "stdin"
        if not frame.raw.strip():
            self._add("blank-line", at, f"an empty line on the agent's {stream}")
        else:
            text = bytes(frame.raw[:60]).decode("utf-8", "replace")
            self._add("non-json", at, f"not JSON on the agent's {stream}: {text!r}")

    def _call(self, frame: Frame, at: _At, env: Envelope, message: dict[str, Any]) -> None:
        method = env.method
        assert method is not None
        from_client = frame.dir is Direction.CLIENT_TO_AGENT
        params = message.get("params")
        spec = self._method_spec(at, method, from_client, env)
        if spec is not None:
            doc = self.schema.document_for(spec)
            if spec.params is not None:
                problem = doc.problem(spec.params, {} if params is None else params, "params")
                if problem is not None:
                    self._add("schema", at, problem)
        session = acp.session_of(params)
        request = None
        if env.is_request:
            assert env.id is not None
            request = self._request(frame, at, env.id, spec, session)
        if from_client:
            self._client_call(at, method, params, session, request)
        else:
            self._agent_call(at, method, params, session)

    def _method_spec(
        self, at: _At, method: str, from_client: bool, env: Envelope
    ) -> MethodSpec | None:
        """The schema's spec for the method, after the direction and kind rules."""
        if env.is_extension:
            self._add_once("extension", at, f"extension method {method} (not validated)")
            return None
        if method in acp.LEGACY_METHODS:
            why = acp.LEGACY_METHODS[method]
            self._add_once("legacy", at, f"{method}: {why}; not in ACP v1 (not validated)")
            return None
        spec = self.schema.method(method, sent_by_client=from_client)
        if spec is None:
            if self.schema.knows(method):
                sender = "client" if from_client else "agent"
                self._add("wrong-direction", at, f"{method} is not a method the {sender} calls")
            else:
                self._add_once("unknown-method", at, f"{method} is not an ACP v1 method")
            return None
        if spec.unstable:
            self._add_once("unstable", at, f"{method} is an unstable ACP method")
        if spec.is_request != env.is_request:
            want = "a request (with an id)" if spec.is_request else "a notification (no id)"
            self._add("kind", at, f"{method} must be sent as {want}")
        return spec

    def _request(
        self, frame: Frame, at: _At, msg_id: RequestId, spec: MethodSpec | None, session: str | None
    ) -> tuple[RequestId, _Pending] | None:
        """Remember a request until its response; None if its id is already pending."""
        pending = self._pending[frame.dir]
        if msg_id in pending:
            earlier = pending[msg_id]
            self._add(
                "duplicate-id",
                at,
                f"id {msg_id!r} is still pending for {earlier.method} "
                f"(frame {earlier.seq}, line {earlier.line})",
            )
            return None
        self._answered[frame.dir].pop(msg_id, None)
        checked = spec is not None and spec.result is not None
        request = _Pending(at.method or "?", at.seq, at.line, session, spec, checked)
        pending[msg_id] = request
        return msg_id, request

    def _client_call(
        self,
        at: _At,
        method: str,
        params: Any,
        session: str | None,
        request: tuple[RequestId, _Pending] | None,
    ) -> None:
        if method == "initialize":
            self._initialized = True
            self._capabilities = (
                params.get("clientCapabilities") if isinstance(params, dict) else None
            )
        elif method in ("session/load", "session/resume") and session is not None:
            opens = session not in self._sessions
            loading = self._sessions.setdefault(session, _Session())
            if request is not None:
                loading.loading += 1
                request[1].opens = opens
        elif method in _CLIENT_SESSION_METHODS and session is not None:
            state = self._session(at, session)
            if state is None:
                return
            if method == "session/prompt" and request is not None:
                state.prompts.add(request[0])
            elif method == "session/cancel":
                self._cancel(session, state)

    def _cancel(self, session: str, state: _Session) -> None:
        prompts = self._pending[Direction.CLIENT_TO_AGENT]
        for msg_id in state.prompts:
            if (prompt := prompts.get(msg_id)) is not None:
                prompt.cancelled = True
        for p in self._pending[Direction.AGENT_TO_CLIENT].values():
            if p.method == "session/request_permission" and p.session == session:
                p.must_cancel = True

    def _agent_call(self, at: _At, method: str, params: Any, session: str | None) -> None:
        need = acp.CAPABILITIES.get(method)
        if need is not None and not acp.capability_advertised(self._capabilities, need):
            seen = "" if self._initialized else " (no initialize request was seen)"
            wanted = "clientCapabilities." + ".".join(need)
            self._add("capability", at, f"the client did not advertise {wanted}{seen}")
        if session is None:
            return
        state = self._session(at, session)
        if state is None:
            return
        if method == "session/update":
            self._update(at, session, state, params.get("update"))
        elif method == "session/request_permission":
            tool_call = params.get("toolCall")
            tool_call_id = tool_call.get("toolCallId") if isinstance(tool_call, dict) else None
            if isinstance(tool_call_id, str):
                state.announce(tool_call_id)

    def _update(self, at: _At, session: str, state: _Session, update: Any) -> None:
        if not isinstance(update, dict):
            return
        kind = update.get("sessionUpdate")
        if kind not in acp.TURN_UPDATES:
            return
        if not state.prompts and not state.loading:
            if state.ended is not None:
                seq, line = state.ended
                self._add(
                    "update-after-turn",
                    at,
                    f"{kind} for session {session} after its turn ended "
                    f"(session/prompt response at frame {seq}, line {line})",
                )
            else:
                self._add(
                    "update-outside-turn",
                    at,
                    f"{kind} for session {session} before any session/prompt",
                )
        tool_call_id = update.get("toolCallId")
        if not isinstance(tool_call_id, str):
            return
        if kind == "tool_call":
            state.announce(tool_call_id)
        elif kind == "tool_call_update" and tool_call_id not in state.tool_calls:
            self._add(
                "unknown-tool-call",
                at,
                f"tool_call_update for toolCallId {tool_call_id!r}, never announced by a "
                f"tool_call in session {session}",
            )

    # -- responses ----------------------------------------------------------------------

    def _response(self, frame: Frame, at: _At, env: Envelope, message: dict[str, Any]) -> None:
        asked_by = (
            Direction.AGENT_TO_CLIENT
            if frame.dir is Direction.CLIENT_TO_AGENT
            else Direction.CLIENT_TO_AGENT
        )
        if env.kind is Kind.ERROR:
            problem = self.schema.error_problem(message.get("error"))
            if problem is not None:
                self._add("schema", at, problem)
        if env.id is None:
            self._add("null-id", at, f"error response with id null: {acp.error_brief(message)}")
            return
        pending = self._pending[asked_by].pop(env.id, None)
        if pending is None:
            answered = self._answered[asked_by].get(env.id)
            again = f"; already answered at frame {answered}" if answered is not None else ""
            self._add(
                "unexpected-response", at, f"response to id {env.id!r}, which is not pending{again}"
            )
            return
        answered_ids = self._answered[asked_by]
        answered_ids[env.id] = frame.seq
        if len(answered_ids) > _ANSWERED_MEMORY:
            del answered_ids[next(iter(answered_ids))]
        at = _At(at.seq, at.line, pending.method)
        result = message.get("result") if env.kind is Kind.RESPONSE else None
        if env.kind is Kind.RESPONSE and pending.checked and pending.spec is not None:
            assert pending.spec.result is not None
            doc = self.schema.document_for(pending.spec)
            problem = doc.problem(pending.spec.result, {} if result is None else result, "result")
            if problem is not None:
                self._add("schema", at, problem)
        handler = _ON_RESPONSE.get(pending.method)
        if handler is not None:
            handler(self, _Answer(at, env.id, pending, env.kind is Kind.RESPONSE, result, message))
        opened = acp.session_of(result) if env.kind is Kind.RESPONSE else None
        if opened is not None and asked_by is Direction.CLIENT_TO_AGENT:
            self._sessions.setdefault(opened, _Session())

    def _prompt_answered(self, answer: _Answer) -> None:
        request = answer.request
        state = self._sessions.get(request.session or "")
        if state is not None:
            state.prompts.discard(answer.id)
            state.ended = (answer.at.seq, answer.at.line)
        if not request.cancelled:
            return
        if not answer.ok:
            got = f"an error ({acp.error_brief(answer.message)})"
        else:
            reason = answer.result.get("stopReason") if isinstance(answer.result, dict) else None
            if reason == "cancelled":
                return
            got = f"stopReason {reason!r}"
        self._add(
            "cancel-stop-reason",
            answer.at,
            f'the turn was cancelled (session/cancel) but ended with {got}, not "cancelled"',
        )

    def _load_answered(self, answer: _Answer) -> None:
        session = answer.request.session or ""
        state = self._sessions.get(session)
        if state is None:
            return
        state.loading = max(0, state.loading - 1)
        if not answer.ok and answer.request.opens and not state.loading:
            del self._sessions[session]

    def _closed(self, answer: _Answer) -> None:
        if answer.ok:
            self._sessions.pop(answer.request.session or "", None)

    def _permission_answered(self, answer: _Answer) -> None:
        if not answer.request.must_cancel:
            return
        outcome = answer.result.get("outcome") if isinstance(answer.result, dict) else None
        chosen = outcome.get("outcome") if isinstance(outcome, dict) else None
        if not answer.ok:
            chosen = f"an error ({acp.error_brief(answer.message)})"
        if chosen != "cancelled":
            self._add(
                "cancel-permission",
                answer.at,
                f"session/cancel came while this permission request (frame {answer.request.seq}) "
                f'was pending, so the client must answer outcome "cancelled", not {chosen!r}',
            )

    # -- helpers ------------------------------------------------------------------------

    def _session(self, at: _At, session: str) -> _Session | None:
        state = self._sessions.get(session)
        if state is None:
            self._add(
                "unknown-session",
                at,
                f"session {session!r} is not open (never created, loaded or resumed on this "
                "connection, or closed)",
            )
        return state

    def _cassette(self, line: int, message: str) -> None:
        self._findings.append(Finding(Severity.ERROR, None, line, None, "cassette", message))

    def _add(self, rule: str, at: _At | None, message: str) -> None:
        severity = RULES[rule].severity
        if at is None:
            self._findings.append(Finding(severity, None, None, None, rule, message))
        else:
            self._findings.append(Finding(severity, at.seq, at.line, at.method, rule, message))

    def _add_once(self, rule: str, at: _At, message: str) -> None:
        key = (rule, at.method or "")
        if key not in self._once:
            self._once.add(key)
            self._add(rule, at, message + " (reported once)")


_Handler = Callable[[Checker, _Answer], None]
_ON_RESPONSE: dict[str, _Handler] = {
    "session/prompt": Checker._prompt_answered,
    "session/load": Checker._load_answered,
    "session/resume": Checker._load_answered,
    "session/close": Checker._closed,
    "session/delete": Checker._closed,
    "session/request_permission": Checker._permission_answered,
}
"""What a response to each method changes, beyond answering its request."""


def check_records(
    records: Iterable[tuple[int, Record]], schema: AcpSchema | None = None
) -> Iterator[Finding]:
    """Check a cassette's records, given as ``(line number, record)``; yield the findings."""
    checker = Checker(schema) if schema is not None else Checker()
    for line, record in records:
        yield from checker.feed(line, record)
    yield from checker.finish()


def _kind(record: Record) -> str:
    return (
        "header"
        if isinstance(record, Header)
        else "footer"
        if isinstance(record, Footer)
        else "frame"
    )


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
