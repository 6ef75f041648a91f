"""The cross-frame rules of ``acp-tap check``: what frames get wrong together. Pure.

Requests are answered exactly once and their ids are not reused while pending; messages
name open sessions; turn updates come during a turn and name announced tool calls; a
cancelled turn ends ``cancelled`` and its permission requests are answered ``cancelled``;
the agent calls ``fs/*`` and ``terminal/*`` only if the client advertised them. State is
per pending request, open session and announced tool call, so memory does not grow with
the cassette's length. The checks of single frames are :mod:`acp_tap.inspect.schema_pass`'s.

Ordering facts the rules rely on: each direction is one ordered byte stream, so the order
of frames *within* a direction is exact; across directions it is the order the proxy saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Footer
from acp_tap.inspect import acp
from acp_tap.inspect.early import EarlyAnnouncements
from acp_tap.inspect.rules import At, Findings
from acp_tap.inspect.schema import MethodSpec
from acp_tap.wire.jsonrpc import Envelope, Kind, RequestId

TOOL_CALL_MEMORY = 65536
"""Tool call ids remembered per session (oldest forgotten first), to bound memory."""
_ANSWERED_MEMORY = 1024  # recently answered ids, to tell "answered twice" from "never asked"


_CLIENT_SESSION_METHODS = frozenset(
    {"session/prompt", "session/cancel", "session/set_mode", "session/set_config_option"}
)
"""Client→agent methods that need a session open on this connection."""


@attrs.define(eq=False)
class Pending:
    """A request waiting for its response."""

    method: str
    seq: int
    line: int
    session: str | None
    spec: MethodSpec | None  # the schema's, to check the result against
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
class Answer:
    """A response, with the request it answers."""

    at: At
    id: RequestId
    request: Pending
    ok: bool  # a result, not an error
    result: Any
    message: dict[str, Any]
    asked_by: Direction  # the direction the request went


@attrs.define(eq=False)
class CrossFrameRules:
    """The state the rules need across frames, checked into ``findings``."""

    findings: Findings
    _pending: dict[Direction, dict[RequestId, Pending]] = attrs.field(init=False)
    _answered: dict[Direction, dict[RequestId, int]] = attrs.field(init=False)
    _sessions: dict[str, _Session] = attrs.field(init=False, factory=dict)
    _early: EarlyAnnouncements = attrs.field(init=False)
    _capabilities: Any = attrs.field(init=False, default=None)
    _initialized: bool = attrs.field(init=False, default=False)

    def __attrs_post_init__(self) -> None:
        self._pending = {d: {} for d in Direction}
        self._answered = {d: {} for d in Direction}
        self._early = EarlyAnnouncements(self.findings, self._unknown)

    def call(
        self, direction: Direction, at: At, env: Envelope, params: Any, spec: MethodSpec | None
    ) -> None:
        """A request or notification (``spec``: its method's, from the schema pass)."""
        method = env.method
        assert method is not None
        session = acp.session_of(params)
        request = None
        if env.is_request:
            assert env.id is not None
            request = self._request(direction, at, env.id, spec, session)
        if direction is Direction.CLIENT_TO_AGENT:
            self._client_call(at, method, params, session, request)
        else:
            self._agent_call(at, method, params, session, notification=request is None)

    def response(
        self, direction: Direction, at: At, env: Envelope, message: dict[str, Any]
    ) -> Answer | None:
        """A response: the request it answers, if one is pending (then call :meth:`answered`)."""
        asked_by = (
            Direction.AGENT_TO_CLIENT
            if direction is Direction.CLIENT_TO_AGENT
            else Direction.CLIENT_TO_AGENT
        )
        if env.id is None:
            self.findings.add(
                "null-id", at, f"error response with id null: {acp.error_brief(message)}"
            )
            return None
        pending = self._pending[asked_by].pop(env.id, None)
        if pending is None:
            answered = self._answered[asked_by].get(env.id)
            again = f"; already answered at frame {answered}" if answered is not None else ""
            self.findings.add(
                "unexpected-response", at, f"response to id {env.id!r}, which is not pending{again}"
            )
            return None
        answered_ids = self._answered[asked_by]
        answered_ids[env.id] = at.seq
        if len(answered_ids) > _ANSWERED_MEMORY:
            del answered_ids[next(iter(answered_ids))]
        ok = env.kind is Kind.RESPONSE
        result = message.get("result") if ok else None
        at = At(at.seq, at.line, pending.method)
        return Answer(at, env.id, pending, ok, result, message, asked_by)

    def answered(self, answer: Answer) -> None:
        """What a response changes, beyond answering its request."""
        handler = _ON_RESPONSE.get(answer.request.method)
        if handler is not None:
            handler(self, answer)
        opened = acp.session_of(answer.result) if answer.ok else None
        if opened is not None and answer.asked_by is Direction.CLIENT_TO_AGENT:
            self._sessions.setdefault(opened, _Session())
        if answer.request.method == "session/new":
            self._early.settle(opened, answer.at, creating=self._creating())

    def finish(self, footer: Footer | None) -> None:
        """Requests never answered, once the cassette has ended."""
        self._early.settle(None, None, creating=False)
        rule, why = "unanswered-cut", ""
        if footer is not None and footer.closed_first == "agent":
            rule, why = "unanswered-exit", f" (the agent exited first, status {footer.status})"
        elif footer is not None and footer.closed_first == "signal":
            rule, why = "unanswered-exit", " (the recording was stopped by a signal)"
        elif footer is not None:
            rule = "unanswered"
        waiting = [
            (p.seq, "agent" if d is Direction.CLIENT_TO_AGENT else "client", msg_id, p)
            for d, pending in self._pending.items()
            for msg_id, p in pending.items()
        ]
        for _, who, msg_id, p in sorted(waiting, key=lambda w: w[0]):
            at = At(p.seq, p.line, p.method)
            self.findings.add(
                rule, at, f"request id {msg_id!r} was never answered by the {who}{why}"
            )
        for pending in self._pending.values():
            pending.clear()

    # -- requests and notifications -------------------------------------------------------

    def _request(
        self,
        direction: Direction,
        at: At,
        msg_id: RequestId,
        spec: MethodSpec | None,
        session: str | None,
    ) -> tuple[RequestId, Pending] | None:
        """Remember a request until its response; None if its id is already pending."""
        pending = self._pending[direction]
        if msg_id in pending:
            earlier = pending[msg_id]
            self.findings.add(
                "duplicate-id",
                at,
                f"id {msg_id!r} is still pending for {earlier.method} "
                f"(frame {earlier.seq}, line {earlier.line})",
            )
            return None
        self._answered[direction].pop(msg_id, None)
        request = Pending(at.method or "?", at.seq, at.line, session, spec)
        pending[msg_id] = request
        return msg_id, request

    def _client_call(
        self,
        at: At,
        method: str,
        params: Any,
        session: str | None,
        request: tuple[RequestId, Pending] | None,
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

    def _agent_call(
        self, at: At, method: str, params: Any, session: str | None, *, notification: bool
    ) -> None:
        need = acp.CAPABILITIES.get(method)
        if need is not None and not acp.capability_advertised(self._capabilities, need):
            seen = "" if self._initialized else " (no initialize request was seen)"
            wanted = "clientCapabilities." + ".".join(need)
            self.findings.add("capability", at, f"the client did not advertise {wanted}{seen}")
        if session is None:
            return
        state = self._session(at, session, early=notification)
        if state is None:
            return
        if method == "session/update":
            self._update(at, session, state, params.get("update"))
        elif method == "session/request_permission":
            tool_call = params.get("toolCall")
            tool_call_id = tool_call.get("toolCallId") if isinstance(tool_call, dict) else None
            if isinstance(tool_call_id, str):
                state.announce(tool_call_id)

    def _update(self, at: At, session: str, state: _Session, update: Any) -> None:
        if not isinstance(update, dict):
            return
        kind = update.get("sessionUpdate")
        if kind not in acp.TURN_UPDATES:
            return
        if not state.prompts and not state.loading:
            if state.ended is not None:
                seq, line = state.ended
                self.findings.add(
                    "update-after-turn",
                    at,
                    f"{kind} for session {session} after its turn ended "
                    f"(session/prompt response at frame {seq}, line {line})",
                )
            else:
                self.findings.add(
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
            self.findings.add(
                "unknown-tool-call",
                at,
                f"tool_call_update for toolCallId {tool_call_id!r}, never announced by a "
                f"tool_call in session {session}",
            )

    # -- what responses change -----------------------------------------------------------

    def _prompt_answered(self, answer: Answer) -> None:
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
        self.findings.add(
            "cancel-stop-reason",
            answer.at,
            f'the turn was cancelled (session/cancel) but ended with {got}, not "cancelled"',
        )

    def _load_answered(self, answer: Answer) -> None:
        session = answer.request.session or ""
        state = self._sessions.get(session)
        if state is None:
            return
        state.loading = max(0, state.loading - 1)
        if not answer.ok and answer.request.opens and not state.loading:
            del self._sessions[session]

    def _closed(self, answer: Answer) -> None:
        if answer.ok:
            self._sessions.pop(answer.request.session or "", None)

    def _permission_answered(self, answer: Answer) -> None:
        if not answer.request.must_cancel:
            return
        outcome = answer.result.get("outcome") if isinstance(answer.result, dict) else None
        chosen = outcome.get("outcome") if isinstance(outcome, dict) else None
        if not answer.ok:
            chosen = f"an error ({acp.error_brief(answer.message)})"
        if chosen != "cancelled":
            self.findings.add(
                "cancel-permission",
                answer.at,
                f"session/cancel came while this permission request (frame {answer.request.seq}) "
                f'was pending, so the client must answer outcome "cancelled", not {chosen!r}',
            )

    def _session(self, at: At, session: str, *, early: bool = False) -> _Session | None:
        """The open session ``session``, or None (and a finding; for an ``early``
        notification maybe held: see :mod:`acp_tap.inspect.early`)."""
        state = self._sessions.get(session)
        if state is None and not (early and self._creating() and self._early.hold(session, at)):
            self._unknown(session, at)
        return state

    def _creating(self) -> bool:
        """Whether a session/new request is pending."""
        pending = self._pending[Direction.CLIENT_TO_AGENT].values()
        return any(p.method == "session/new" for p in pending)

    def _unknown(self, session: str, at: At) -> None:
        self.findings.add(
            "unknown-session",
            at,
            f"session {session!r} is not open (never created, loaded or resumed on this "
            "connection, or closed)",
        )


_Handler = Callable[[CrossFrameRules, Answer], None]
_ON_RESPONSE: dict[str, _Handler] = {
    "session/prompt": CrossFrameRules._prompt_answered,
    "session/load": CrossFrameRules._load_answered,
    "session/resume": CrossFrameRules._load_answered,
    "session/close": CrossFrameRules._closed,
    "session/delete": CrossFrameRules._closed,
    "session/request_permission": CrossFrameRules._permission_answered,
}
"""What a response to each method changes, beyond answering its request."""
